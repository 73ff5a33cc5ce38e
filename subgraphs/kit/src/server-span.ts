import type { IncomingHttpHeaders } from 'node:http';
import {
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

/**
 * The server span of every incoming request, made by the kit's HTTP edge (http.ts). This
 * module depends on the OpenTelemetry API alone: tracing.ts loads it before graphql, pg and
 * ioredis are required, so that their instrumentations can still patch them.
 */
/** The tracer of the kit's own spans: the HTTP edge's server spans and telemetry.ts's. */
export const KIT_TRACER = '@shop/kit';

/** Paths whose requests are probes and scrapes, not work: never traced. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/** The registered provider's tracer itself, not the API's proxy for it: one indirection less per request. */
let serverTracer: Tracer | undefined;

/**
 * Switched on once the SDK is registered (tracing.ts), with its provider's tracer: from then
 * on the HTTP edge opens a server span per request. `undefined` switches it off.
 */
export function enableServerSpans(tracer: Tracer | undefined): void {
  serverTracer = tracer;
}

/**
 * The server span of one incoming request, child of the caller's `traceparent` when it sends
 * one, and the context to run the request in; undefined when not tracing (nothing allocated).
 * Made here, in the kit's HTTP edge, rather than by OpenTelemetry's http instrumentation:
 * that one binds the request's and response's emitters to the context and records some
 * fifteen attributes per request, which made a traced gateway pay up to 1.6x the CPU of an
 * untraced one (BENCHMARKS.md). The attributes kept: method, path (never the query string:
 * a GET /graphql carries its variables there), status code and request id.
 */
export function startServerSpan(
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  requestId: string,
): { span: Span; context: Context } | undefined {
  if (!serverTracer || UNTRACED_PATHS.has(path)) return undefined;
  const parent = headers.traceparent ? propagation.extract(ROOT_CONTEXT, headers) : ROOT_CONTEXT;
  const span = serverTracer.startSpan(
    `${method} ${path}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': method, 'url.path': path, 'request.id': requestId },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a server span when its response is done: its status code, and an error status for a 5xx no code was recorded for. */
export function endServerSpan(span: Span, statusCode: number, completed: boolean): void {
  span.setAttribute('http.response.status_code', statusCode);
  if (!completed) span.setAttribute('http.response.aborted', true);
  if (statusCode >= 500 && !errorRecorded.has(span))
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(statusCode) });
  span.end();
}

/** Spans recordError (telemetry.ts) marked failed with a code, which the edge must not overwrite with a bare status. */
const errorRecorded = new WeakSet<Span>();

export function markErrorRecorded(span: Span): void {
  errorRecorded.add(span);
}
