import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { context, INVALID_SPAN_CONTEXT, trace, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { RequestScopeContextManager } from './request-context';
import { enableServerSpans, KIT_TRACER } from './server-span';

/**
 * OpenTelemetry for every process, configured only by the standard OTEL_* variables:
 * OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) turns it on, OTEL_TRACES_EXPORTER=otlp|console|none,
 * OTEL_TRACES_SAMPLER / _ARG (the SDK's default is parentbased_always_on), OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_* for batching. OTLP goes over HTTP with JSON bodies.
 *
 * With neither an endpoint nor OTEL_TRACES_EXPORTER set, nothing is started and nothing is
 * patched: the kit's spans and log fields then go to the API's no-op tracer.
 */
/** The OTEL_* variables this platform sets or documents (docs/observability.md); the SDK reads them. */
export const OTEL_VARIABLES = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_TRACES_EXPORTER',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_SDK_DISABLED',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_MAX_QUEUE_SIZE',
] as const;

export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter) return exporter !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** The tracer Apollo Gateway makes its spans with (@apollo/gateway, utilities/opentelemetry). */
const APOLLO_GATEWAY_TRACER = 'apollo/gateway-js';
/** The one Apollo Gateway span the platform keeps: a client span per subgraph fetch. */
const APOLLO_GATEWAY_FETCH_SPAN = 'gateway.fetch';

/**
 * Keeps Apollo Gateway's `gateway.fetch` spans and drops its phase spans (gateway.request,
 * .validate, .plan, .execute, .postprocessing): five more spans per request that say what the
 * server span already says (the operation, its error codes) at a measurable cost, since the
 * trusted documents' plans are made before clients send them. A dropped phase runs with the
 * active span unchanged, so each fetch hangs directly under the gateway's server span.
 */
class SubgraphFetchSpansOnly implements Tracer {
  constructor(private readonly inner: Tracer) {}

  startSpan(name: string, options?: SpanOptions, parent?: Context): Span {
    if (name === APOLLO_GATEWAY_FETCH_SPAN) return this.inner.startSpan(name, options, parent);
    return trace.wrapSpanContext(trace.getSpanContext(parent ?? context.active()) ?? INVALID_SPAN_CONTEXT);
  }

  startActiveSpan = ((name: string, ...rest: unknown[]) => {
    if (name === APOLLO_GATEWAY_FETCH_SPAN) return (this.inner.startActiveSpan as (...args: unknown[]) => unknown)(name, ...rest);
    const fn = rest[rest.length - 1] as (span: Span) => unknown;
    const parent = rest.length >= 3 ? (rest[1] as Context | undefined) : undefined;
    return fn(this.startSpan(name, undefined, parent));
  }) as Tracer['startActiveSpan'];
}

/** The SDK's provider as every process (and the kit's test tracing) registers it. */
export class PlatformTracerProvider extends NodeTracerProvider {
  override getTracer(name: string, version?: string, options?: { schemaUrl?: string }): Tracer {
    const tracer = super.getTracer(name, version, options);
    return name === APOLLO_GATEWAY_TRACER ? new SubgraphFetchSpansOnly(tracer) : tracer;
  }
}

let provider: NodeTracerProvider | undefined;

/**
 * Starts the SDK once per process. Must run before pg, ioredis and graphql are first
 * required, or they stay unpatched: the kit's index loads this module first and starts it at
 * load (below), and every entry point imports the kit before anything else.
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env): boolean {
  if (provider) return true;
  if (!tracingRequested(env)) return false;
  const entry = entryPackage();
  const resource = resourceFromAttributes({ 'service.name': entry.service }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const exporter = env.OTEL_TRACES_EXPORTER?.trim() === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter();
  provider = new PlatformTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  registerProvider(provider);
  const chosen = instrumentationsOf(entry);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: (Object.keys(INSTRUMENTATIONS) as Instrumented[]).filter((name) => chosen.has(name)).map((name) => INSTRUMENTATIONS[name]()),
  });
  return true;
}

/**
 * Makes `provider` the process's tracer provider, with W3C trace context and the active context
 * kept in the request scope's store (request-context.ts), and turns the HTTP edge's server spans on.
 */
export function registerProvider(registered: NodeTracerProvider): void {
  registered.register({ propagator: new W3CTraceContextPropagator(), contextManager: new RequestScopeContextManager() });
  enableServerSpans(registered.getTracer(KIT_TRACER));
}

export type Instrumented = 'pg' | 'ioredis' | 'graphql';

/**
 * The instrumentations a process may load, each built only when its process chose it. None
 * for HTTP: the kit's edge makes every incoming request's server span (telemetry.ts
 * startServerSpan), and the service client and the gateway's subgraph fetcher make their own
 * client spans and inject traceparent themselves.
 */
const INSTRUMENTATIONS: Record<Instrumented, () => Instrumentation> = {
  // Statements are parameterised ($1 …) and values are never recorded (enhancedDatabaseReporting off).
  pg: () => new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true, enhancedDatabaseReporting: false }),
  // The command alone: arguments are keys and values (sessions, rate-limit counters, cached bodies).
  ioredis: () => new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
  // Literals in documents are masked (allowValues off). Resolver spans for root fields only
  // (checkout, _entities): one per field of every object would cost more than it shows.
  graphql: () => new GraphQLInstrumentation({ allowValues: false, mergeItems: true, ignoreTrivialResolveSpans: true, depth: 1 }),
};

/**
 * Which instrumentations the process loads: its entry package's `"tracing": { "instrument":
 * [...] }` (package.json), every one when it names none. A process lists only those that earn
 * their cost there (the gateway: none, see docs/observability.md).
 */
export function instrumentationsOf(entry: EntryPackage): Set<Instrumented> {
  const listed = entry.tracing?.instrument;
  const all = Object.keys(INSTRUMENTATIONS) as Instrumented[];
  if (!Array.isArray(listed)) return new Set(all);
  return new Set(all.filter((name) => listed.includes(name)));
}

/** Sends what is still batched; called on graceful shutdown. */
export async function stopTracing(): Promise<void> {
  const current = provider;
  provider = undefined;
  await current?.shutdown();
}

export function tracingStarted(): boolean {
  return provider !== undefined;
}

export interface EntryPackage {
  /** service.name when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one (@shop/orders → orders). */
  service: string;
  tracing?: { instrument?: unknown };
}

/**
 * The package of the entry script, so every process is named and configured without
 * variables; embedded mode (all services in one process) and scripts outside a package are "shop".
 */
function entryPackage(): EntryPackage {
  let dir = require.main?.filename ? dirname(require.main.filename) : undefined;
  for (let depth = 0; dir && depth < 4; depth++, dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    try {
      const { name, tracing } = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; tracing?: EntryPackage['tracing'] };
      if (name) return { service: name.replace(/^@shop\//, ''), tracing };
    } catch {
      break;
    }
  }
  return { service: 'shop' };
}

startTracing();
