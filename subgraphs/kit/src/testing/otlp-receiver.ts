import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';

/** One span as an OTLP/HTTP JSON export carries it, with its process's service.name. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** 1 internal, 2 server, 3 client (OTLP SpanKind). */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  status?: { code?: number; message?: string };
  events?: unknown[];
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  url: string;
  spans: ReceivedSpan[];
  /** Every export request body as received, for checks over all of it. */
  bodies: string[];
  /** Spans received (also when not retained). */
  spanCount(): number;
  /** Export requests received. */
  requestCount(): number;
  /** Resolves once `check` holds over the spans received so far. */
  waitFor<T>(check: (spans: ReceivedSpan[]) => T | undefined | false, what: string, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
type OtlpAttributes = { key: string; value: OtlpValue }[] | undefined;

function valueOf(value: OtlpValue): unknown {
  if ('stringValue' in value) return value.stringValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('boolValue' in value) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(attributes: OtlpAttributes): Record<string, unknown> {
  return Object.fromEntries((attributes ?? []).map(({ key, value }) => [key, valueOf(value)]));
}

/**
 * An OTLP/HTTP receiver (JSON encoding, POST /v1/traces) on a free loopback port: what a
 * collector would get from the services, kept in memory for a test or the trace picture.
 */
export async function startOtlpReceiver(options: { retain?: boolean } = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  let spanCount = 0;
  let requestCount = 0;
  const arrivals = new EventEmitter();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        res.writeHead(415).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      requestCount++;
      if (options.retain === false) {
        // The bench: a sink like a collector's, counting spans without keeping or parsing them.
        spanCount += body.split('"spanId":').length - 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      bodies.push(body);
      const payload = JSON.parse(body) as {
        resourceSpans?: {
          resource?: { attributes?: OtlpAttributes };
          scopeSpans?: { spans?: (Omit<ReceivedSpan, 'service' | 'attributes' | 'links'> & { attributes?: OtlpAttributes; links?: { traceId: string; spanId: string }[] })[] }[];
        }[];
      };
      for (const resourceSpans of payload.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? 'unknown');
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? []) {
            spanCount++;
            spans.push({
              ...span,
              parentSpanId: span.parentSpanId || undefined,
              service,
              attributes: attributesOf(span.attributes),
              links: (span.links ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
            });
          }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      arrivals.emit('spans');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    spanCount: () => spanCount,
    requestCount: () => requestCount,
    waitFor(check, what, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const attempt = () => {
          const result = check(spans);
          if (result === undefined || result === false) return false;
          arrivals.off('spans', attempt);
          clearTimeout(timer);
          resolve(result);
          return true;
        };
        const timer = setTimeout(() => {
          arrivals.off('spans', attempt);
          reject(new Error(`timed out waiting for ${what} (${spans.length} spans received)`));
        }, timeoutMs);
        if (!attempt()) arrivals.on('spans', attempt);
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
