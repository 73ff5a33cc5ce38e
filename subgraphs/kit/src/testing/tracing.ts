import { context, propagation, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { enableServerSpans } from '../server-span';
import { PlatformTracerProvider, registerProvider } from '../tracing';
import type { ReceivedSpan } from './otlp-receiver';

export interface TestTracing {
  /** The spans ended so far, shaped as the OTLP receiver shows them (kind: 1 internal, 2 server, 3 client). */
  spans(): ReceivedSpan[];
  /** Unregisters the provider: the API goes back to its no-op implementation. */
  stop(): Promise<void>;
}

/** The SDK's span as an OTLP export would carry it. */
function received(span: ReadableSpan, service: string): ReceivedSpan {
  const parent = (span as ReadableSpan & { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId;
  const nanos = ([seconds, nanoseconds]: [number, number]) => String(BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds));
  return {
    service,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: parent ?? (span as { parentSpanId?: string }).parentSpanId ?? undefined,
    name: span.name,
    kind: span.kind + 1,
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: { ...span.attributes },
    links: span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId })),
    status: { code: span.status.code, message: span.status.message },
  };
}

/**
 * Tracing inside a test process: the platform's provider with the W3C propagator and the HTTP
 * edge's server spans, every span kept in memory as it ends. Unlike a service's start-up (tracing.ts) it patches no module (jest
 * loads modules its own way): spans come from the kit's own calls (withSpan, the timer loop,
 * the service client), which is what a spec about a service's own spans and links needs. The
 * whole path through OTLP/HTTP is what e2e/tracing.e2e.ts checks, with real processes.
 */
export function startTestTracing(serviceName = 'test'): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new PlatformTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  registerProvider(provider);
  return {
    spans: () => exporter.getFinishedSpans().map((span) => received(span, serviceName)),
    async stop() {
      await provider.shutdown();
      enableServerSpans(undefined);
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
