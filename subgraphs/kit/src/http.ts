import type { Server } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import { acceptRequestId, REQUEST_ID_HEADER, runInRequestScope } from './request-context';
import { activeSpan, recordError } from './telemetry';

/**
 * The HTTP skeleton every process shares (gateway included): request ids, one access log
 * line per request, request metrics, /health, /ready and /metrics outside the GraphQL pipeline.
 */
export interface HttpBaseOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  /** Named readiness checks; /ready is 200 only when all pass. */
  readiness: Record<string, () => Promise<boolean>>;
  /** Dependencies /ready reports the state of without requiring them (Redis: the caches only). */
  dependencies?: Record<string, () => Promise<string>>;
}

export interface HttpBase {
  app: Express;
  /** Set when shutting down so /ready fails and load balancers stop sending traffic. */
  markDraining(): void;
}

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    startedAt: bigint;
    /** Filled by GraphQL handlers so the access log and metrics can name the operation. */
    operationName?: string;
  }
}

export function createHttpBase(options: HttpBaseOptions): HttpBase {
  const { logger, metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  let draining = false;

  app.use((req: Request, res: Response, next: NextFunction) => {
    req.requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
    req.startedAt = process.hrtime.bigint();
    res.setHeader(REQUEST_ID_HEADER, req.requestId);
    // The server span (when tracing) carries the request id, so a trace leads to its log lines.
    activeSpan()?.setAttribute('request.id', req.requestId);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - req.startedAt) / 1e9;
      const route = req.route?.path ?? (req.path.startsWith('/internal/') ? '/internal' : req.path === '/graphql' ? '/graphql' : 'other');
      const labels = { method: req.method, route: String(route), status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      if (route === '/health' || route === '/ready' || route === '/metrics') return;
      const line = {
        requestId: req.requestId,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1e4) / 10,
        operation: req.operationName,
      };
      if (res.statusCode >= 500) logger.error(line, 'request failed');
      else logger.info(line, 'request');
    });
    runInRequestScope({ requestId: req.requestId }, next);
  });

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
    markDraining() {
      draining = true;
    },
  };
}

/** Sends a GraphQL-shaped error without entering the GraphQL pipeline (401, 413, 429 ...). */
export function sendGraphQLError(
  res: Response,
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
) {
  recordError(activeSpan(), undefined, code);
  res.status(status).json({ errors: [{ message, extensions: { code, ...extensions } }] });
}

/** Starts listening; resolves with the bound port (0 picks a free one, as tests do). */
export function listen(app: Express, port: number, host: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => {
      if (error) return reject(error);
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
