import type { ApolloServerPlugin } from '@apollo/server';
import type { Span } from '@opentelemetry/api';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { AppError, ServiceUnavailableError } from './errors';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import { currentRequestId } from './request-context';
import { databaseUnavailable } from './sql';
import { activeSpan, recordError } from './telemetry';

const PUBLIC_CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'OUT_OF_STOCK',
  'RATE_LIMITED',
  'OPERATION_TOO_COMPLEX',
  'SERVICE_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/**
 * Errors a client may read are passed through. A database that is unreachable, refusing
 * connections or restarting is an outage, not a defect: SERVICE_UNAVAILABLE (retryable), naming
 * the service, never the database's address. Anything else is an internal error: logged in full
 * here, and in production answered with a generic message carrying the request id (never a
 * stack trace or SQL).
 */
export function createErrorFormatter(options: { production: boolean; logger: Logger; service?: string }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const code = (formatted.extensions?.code as string | undefined) ?? 'INTERNAL_SERVER_ERROR';
    if (original instanceof AppError || PUBLIC_CODES.has(code)) return formatted;
    if (databaseUnavailable(original)) {
      options.logger.warn({ err: original, path: formatted.path }, 'database unavailable');
      const unavailable = new ServiceUnavailableError(options.service ?? 'storage', String(original));
      return { message: unavailable.message, path: formatted.path, locations: formatted.locations, extensions: { code: unavailable.code, ...unavailable.extensions } };
    }
    options.logger.error({ err: original, path: formatted.path }, 'unexpected error');
    if (!options.production) return { ...formatted, extensions: { ...formatted.extensions, code: 'INTERNAL_SERVER_ERROR' } };
    const requestId = currentRequestId();
    return {
      message: `Internal server error (request id ${requestId ?? 'unknown'})`,
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
    };
  };
}

/**
 * Counts an operation by name and outcome and times it (Apollo's pipeline through
 * metricsPlugin, the direct path of direct-graphql.ts itself). `errors` are the operation's
 * errors as raised, before formatting.
 */
export function recordOperation(
  metrics: ServiceMetrics,
  operationName: string | null | undefined,
  errors: readonly { extensions?: Record<string, unknown> }[] | undefined,
  started: bigint,
): void {
  const operation = operationName ?? 'anonymous';
  const outcome = errors?.length ? String(errors[0].extensions?.code ?? 'INTERNAL_SERVER_ERROR') : 'ok';
  metrics.graphqlOperations.inc({ operation, outcome });
  metrics.graphqlDuration.observe({ operation }, Number(process.hrtime.bigint() - started) / 1e9);
}

/** Counts operations by name and outcome, and times them. */
export function metricsPlugin(metrics: ServiceMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ request, response, errors, operationName }) {
          const body = response.body;
          const resultErrors = errors ?? (body.kind === 'single' ? body.singleResult.errors : undefined);
          recordOperation(metrics, operationName ?? request.operationName, resultErrors, started);
        },
      };
    },
  };
}

/**
 * Names the request's server span after the operation ("mutation Checkout": name and type,
 * never the document's values or variables).
 */
export function nameSpanAfterOperation(span: Span | undefined, type: string, operationName: string | null | undefined): void {
  if (!span?.isRecording()) return;
  span.setAttribute('graphql.operation.type', type);
  if (operationName) span.setAttribute('graphql.operation.name', operationName);
  span.updateName(`${type} ${operationName ?? 'anonymous'}`);
}

/** Records an operation's errors on the request's server span, with their codes. */
export function recordSpanErrors(span: Span | undefined, errors: readonly GraphQLError[]): void {
  if (!span?.isRecording() || errors.length === 0) return;
  const codes = [...new Set(errors.map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR')))];
  span.setAttribute('graphql.error.codes', codes);
  recordError(span, unwrapResolverError(errors[0]), codes[0]);
}

/** The span naming and error recording above, for requests Apollo's pipeline answers. */
export function tracingPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const span = activeSpan();
      if (!span?.isRecording()) return;
      return {
        async didResolveOperation({ operationName, operation }) {
          nameSpanAfterOperation(span, operation?.operation ?? 'unknown', operationName);
        },
        async didEncounterErrors({ errors }) {
          recordSpanErrors(span, errors);
        },
      };
    },
  };
}
