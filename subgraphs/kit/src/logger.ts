import pino, { type Logger } from 'pino';
import { currentRequestId } from './request-context';
import { activeTraceFields } from './telemetry';

export type { Logger };

/**
 * Structured JSON logs. Every line written while a request is in flight carries its
 * requestId (taken from the async scope), so one id follows a request across services, and
 * every line written inside a span carries trace_id and span_id, so a log search and a trace
 * find each other.
 */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const requestId = currentRequestId();
      const traceFields = activeTraceFields();
      if (!traceFields) return requestId ? { requestId } : {};
      return requestId ? { requestId, ...traceFields } : traceFields;
    },
    redact: { paths: ['password', '*.password', 'token', '*.token', 'authorization'], censor: '[redacted]' },
  });
}
