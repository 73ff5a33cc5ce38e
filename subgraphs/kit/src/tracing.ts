import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

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

let provider: NodeTracerProvider | undefined;

/** Paths whose requests are probes and scrapes, not work: never traced. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/**
 * Starts the SDK once per process. Must run before http, pg, ioredis and graphql are first
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
  provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const chosen = instrumentationsOf(entry);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: (Object.keys(INSTRUMENTATIONS) as Instrumented[]).filter((name) => chosen.has(name)).map((name) => INSTRUMENTATIONS[name]()),
  });
  return true;
}

export type Instrumented = 'http' | 'pg' | 'ioredis' | 'graphql';

/** The instrumentations a process may load, each built only when its process chose it. */
const INSTRUMENTATIONS: Record<Instrumented, () => Instrumentation> = {
  http: () =>
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0]),
      // The kit's service client and the gateway's subgraph fetcher make their own client
      // spans and inject traceparent themselves (telemetry.ts); nothing else calls out over HTTP.
      disableOutgoingRequestInstrumentation: true,
      // A GET /graphql carries the query and its variables in the URL: keep only the path.
      requestHook: (span, request) => {
        const url = 'url' in request ? request.url : undefined;
        if (url?.includes('?')) {
          const path = url.split('?')[0];
          span.setAttribute('http.target', path);
          span.setAttribute('http.url', path);
        }
      },
    }),
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
 * their cost there (the gateway: http alone, see docs/observability.md).
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
