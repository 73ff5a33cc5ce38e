import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { AppError } from './errors';
import { KIT_TRACER, markErrorRecorded } from './server-span';

/**
 * Spans and trace context through the OpenTelemetry API only. Without the SDK (tracing.ts
 * not started) every call here goes to the API's no-op implementation.
 */
const tracer = trace.getTracer(KIT_TRACER);

export { SpanKind };
export type { Span };


/** trace_id, span_id and trace_flags of the active span, for log lines; undefined outside one. */
export function activeTraceFields(): { trace_id: string; span_id: string; trace_flags: string } | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}`.slice(-2) };
}

/** The span of the request or background pass in flight (a no-op span outside one). */
export function activeSpan(): Span | undefined {
  return trace.getActiveSpan();
}

/**
 * Marks a span failed with the contract's error code (`error.code`; INTERNAL_SERVER_ERROR for
 * anything that is not an AppError), and records the exception.
 */
export function recordError(span: Span | undefined, error: unknown, code?: string): void {
  if (!span || !span.isRecording()) return;
  const errorCode = code ?? (error instanceof AppError ? error.code : 'INTERNAL_SERVER_ERROR');
  span.setAttribute('error.code', errorCode);
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
  markErrorRecorded(span);
  if (error instanceof Error) span.recordException(error);
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** A new trace (background work), linked rather than parented to what it continues. */
  root?: boolean;
}

/** Runs `fn` inside a new active span; errors are recorded on it and rethrown. */
export function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.root ? ROOT_CONTEXT : context.active();
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        recordError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Adds `traceparent` (W3C) for the active span to outgoing headers. */
export function injectTraceContext(headers: Record<string, string>): void {
  propagation.inject(context.active(), headers);
}

/** The active span's traceparent, to store with work that is finished later; undefined when not tracing. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/**
 * Links to the spans stored traceparents name: missing or malformed ones are skipped, and so is
 * one of the active span's own trace (a request that publishes its own outbox rows links nothing).
 */
export function linkTo(...traceparents: (string | null | undefined)[]): Link[] {
  const own = trace.getActiveSpan()?.spanContext().traceId;
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const traceparent of traceparents) {
    if (!traceparent || seen.has(traceparent)) continue;
    seen.add(traceparent);
    const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent }));
    if (spanContext && trace.isSpanContextValid(spanContext) && spanContext.traceId !== own) links.push({ context: spanContext });
  }
  return links;
}

/**
 * Work done later on behalf of earlier requests (recovery, sweepers, outbox publishers): links
 * the active span, a background pass or work item, to the requests whose traceparents were
 * stored with the work. A no-op when not tracing.
 */
export function linkActiveSpanTo(traceparents: (string | null | undefined)[]): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  const links = linkTo(...traceparents);
  if (links.length > 0) span.addLinks(links);
}
