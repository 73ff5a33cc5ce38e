import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import { acceptRequestId, REQUEST_ID_HEADER, runInRequestScope } from './request-context';
import { endServerSpan, startServerSpan } from './server-span';
import { activeSpan, recordError } from './telemetry';

/**
 * The HTTP skeleton every process shares (gateway included): request ids, one access log
 * line per request, request metrics, /health, /ready and /metrics outside the GraphQL pipeline.
 *
 * It is a bare `node:http` listener (`handler`) in front of an express app: the bookkeeping
 * above runs there for every request, then a route registered with `direct` (a subgraph's
 * POST /graphql, the hot path) is served without express, and everything else goes to `app`.
 */
export interface HttpBaseOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  /** Named readiness checks; /ready is 200 only when all pass. */
  readiness: Record<string, () => Promise<boolean>>;
  /** Dependencies /ready reports the state of without requiring them (Redis: the caches only). */
  dependencies?: Record<string, () => Promise<string>>;
}

/**
 * Serves one request without express. `fallback` hands it to the express app instead (a
 * request the direct handler does not take: another content type, a compressed body ...).
 */
export type DirectHandler = (req: IncomingMessage, res: ServerResponse, fallback: () => void) => void;

export interface HttpBase {
  app: Express;
  /** What the server listens with (`listen(base.handler, ...)`): bookkeeping, then a direct route or `app`. */
  handler: RequestListener;
  /** Serves `method` on exactly `path` (no query string match needed) with `handle` instead of express. */
  direct(method: string, path: string, handle: DirectHandler): void;
  /** Set when shutting down so /ready fails and load balancers stop sending traffic. */
  markDraining(): void;
}

declare module 'node:http' {
  interface IncomingMessage {
    requestId: string;
    startedAt: bigint;
    /** Filled by GraphQL handlers so the access log and metrics can name the operation. */
    operationName?: string;
  }
}

/** The path of a request URL, without its query string. */
export const pathOf = (url: string | undefined): string => {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};

export function createHttpBase(options: HttpBaseOptions): HttpBase {
  const { logger, metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  let draining = false;
  const directRoutes = new Map<string, DirectHandler>();

  const handler: RequestListener = (req, res) => {
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
    req.requestId = requestId;
    req.startedAt = process.hrtime.bigint();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // Express rewrites req.url inside a mounted router; the path is taken before it does.
    const path = pathOf(req.url);
    // The server span (when tracing) carries the request id, so a trace leads to its log lines.
    const traced = startServerSpan(req.method ?? 'GET', path, req.headers, requestId);
    // 'close' comes once per response; `on` spares the wrapper `once` makes per request.
    if (traced) res.on('close', () => endServerSpan(traced.span, res.statusCode, res.writableFinished));
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - req.startedAt) / 1e9;
      const expressRoute = (req as Partial<express.Request>).route as { path?: unknown } | undefined;
      const route = expressRoute?.path ?? (path.startsWith('/internal/') ? '/internal' : path === '/graphql' ? '/graphql' : 'other');
      const labels = { method: req.method ?? 'GET', route: String(route), status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      if (route === '/health' || route === '/ready' || route === '/metrics') return;
      const line = {
        requestId,
        method: req.method,
        path,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1e4) / 10,
        operation: req.operationName,
      };
      if (res.statusCode >= 500) logger.error(line, 'request failed');
      else logger.info(line, 'request');
    });
    const direct = directRoutes.get(`${req.method} ${path}`);
    runInRequestScope(
      { requestId },
      () => {
        if (direct) direct(req, res, () => app(req, res));
        else app(req, res);
      },
      traced?.context,
    );
  };

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    if (draining) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    const entries = await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        try {
          return [name, await check()] as const;
        } catch {
          return [name, false] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const ready = entries.every(([, ok]) => ok);
    const dependencies = Object.fromEntries(
      await Promise.all(
        Object.entries(options.dependencies ?? {}).map(async ([name, state]) => [name, await state().catch(() => 'unknown')]),
      ),
    );
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks, dependencies });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  return {
    app,
    handler,
    direct(method, path, handle) {
      directRoutes.set(`${method.toUpperCase()} ${path}`, handle);
    },
    markDraining() {
      draining = true;
    },
  };
}

/** Writes a JSON answer on a bare node:http response (what express's `res.status().json()` writes). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** Sends a GraphQL-shaped error without entering the GraphQL pipeline (401, 413, 429 ...). */
export function sendGraphQLError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
) {
  recordError(activeSpan(), undefined, code);
  sendJson(res, status, { errors: [{ message, extensions: { code, ...extensions } }] });
}

/** The contract's answer to a body over the size limit: 413 BAD_REQUEST (direct routes and express.json alike). */
export function sendBodyTooLarge(res: ServerResponse, limit: number): void {
  sendGraphQLError(res, 413, 'BAD_REQUEST', `Request body exceeds the limit of ${limit} bytes`);
}

/** The contract's answer to a body that is not JSON: 400 BAD_REQUEST. */
export function sendBodyNotJson(res: ServerResponse): void {
  sendGraphQLError(res, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
}

/** A request body larger than the route allows (answered 413). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
  }
}

/**
 * The whole body of a request as text, refused with BodyTooLargeError past `limit` bytes
 * (by its content-length before reading, or while reading when it has none).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * Whether a request's body is plain JSON a direct route can read itself: `application/json`
 * (utf-8 or no charset), not compressed. Anything else is left to express, which answers it
 * as it always did.
 */
export function plainJsonRequest(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return false;
  const type = req.headers['content-type'];
  if (type === 'application/json') return true;
  if (!type?.startsWith('application/json')) return false;
  const [media, ...parameters] = type.split(';');
  if (media.trim().toLowerCase() !== 'application/json') return false;
  return parameters.every((parameter) => /^\s*charset="?utf-8"?\s*$/i.test(parameter));
}

/**
 * Reads and parses a JSON body for a direct route; when it cannot, answers the contract's
 * error itself (413 BAD_REQUEST over `limit`, 400 BAD_REQUEST when it is not JSON: what the
 * gateway answers for express.json's failures) and returns undefined. An empty body is `{}`,
 * as express.json makes it.
 */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<{ value: unknown } | undefined> {
  let text: string;
  try {
    text = await readBody(req, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) sendBodyTooLarge(res, limit);
    else res.destroy(); // the client went away mid-body
    return undefined;
  }
  if (text === '') return { value: {} };
  try {
    return { value: JSON.parse(text) };
  } catch {
    sendBodyNotJson(res);
    return undefined;
  }
}

export type Middleware = (req: express.Request, res: express.Response, next: (error?: unknown) => void) => unknown;

/**
 * Runs express middlewares on a request a direct route took, in order, without express's
 * router: req and res become express's (res.status().json(), req.ip with the app's `trust
 * proxy`, req.query), as `app.handle` makes them. A middleware that passes an error (or
 * throws, or rejects) ends the chain in `onError`; so does a chain that nobody answered.
 */
export function runMiddlewares(
  app: Express,
  req: IncomingMessage,
  res: ServerResponse,
  middlewares: readonly Middleware[],
  onError: (error: unknown) => void,
): void {
  const request = req as express.Request;
  const response = res as express.Response;
  request.res = response;
  response.req = request;
  Object.setPrototypeOf(req, app.request);
  Object.setPrototypeOf(res, app.response);
  if (!response.locals) response.locals = Object.create(null) as express.Response['locals'];
  let index = 0;
  const next = (error?: unknown): void => {
    if (error !== undefined) return onError(error);
    const middleware = middlewares[index++];
    if (!middleware) return onError(new Error(`no handler answered ${req.method} ${req.url}`));
    try {
      const result = middleware(request, response, next) as Promise<unknown> | undefined;
      if (result && typeof result.then === 'function') result.then(undefined, (rejected: unknown) => next(rejected ?? new Error('rejected')));
    } catch (thrown) {
      next(thrown);
    }
  };
  next();
}

/** Starts listening; resolves with the bound port (0 picks a free one, as tests do). */
export function listen(handler: RequestListener, port: number, host: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : port });
    });
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
  });
}

/**
 * Graceful stop: refuse new connections, let in-flight requests finish within `graceMs`,
 * then cut whatever is left. Keep-alive connections (the gateway's, another service's) are
 * closed as soon as they fall idle, so a drained server exits at once rather than after grace.
 */
export async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
  const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
  deadline.unref();
  await closed;
  clearInterval(idleSweep);
  clearTimeout(deadline);
}
