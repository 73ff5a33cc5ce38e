import type { NextFunction, Request, Response } from 'express';
import {
  ANONYMOUS,
  bearerToken,
  SESSION_STATE,
  sessionStateKey,
  type AccessClaims,
  type ServiceMetrics,
} from '@shop/kit';
import type { Authenticator } from '../security/authentication';
import type { RateLimits } from '../security/rate-limit';
import '../context';
import { sha256Hex } from '../trusted-documents/manifest';
import type { RequestLookup } from './cache-entry';
import type { RequestStateReader } from './request-state';
import { cacheKey, type CacheMetrics, type ResponseCache } from './response-cache';

const BODY_FIELDS = new Set(['query', 'operationName', 'variables', 'extensions']);
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The response-cache key of a POST body, exactly as the response-cache plugin computes it
 * (document hash, requested operation name, variables), or null when the body is anything
 * but a plain single request: a query, or an APQ hash alone (a hash sent with its query is
 * a registration, left to Apollo).
 */
export function requestCacheKey(
  body: unknown,
  documentHash: (query: string) => string = sha256Hex,
): { key: string; operationName: string | null } | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const fields = body as Record<string, unknown>;
  for (const name in fields) if (!BODY_FIELDS.has(name)) return null;
  const { query, operationName, variables, extensions } = fields;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return null;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables)))
    return null;
  let queryHash: string;
  if (extensions === undefined) {
    if (typeof query !== 'string' || query === '') return null;
    queryHash = documentHash(query);
  } else {
    if (query !== undefined || !extensions || typeof extensions !== 'object') return null;
    const { persistedQuery, ...others } = extensions as Record<string, unknown>;
    const apq = persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
    if (Object.keys(others).length > 0 || !apq || typeof apq !== 'object') return null;
    if (apq.version !== 1 || typeof apq.sha256Hash !== 'string' || !SHA256_HEX.test(apq.sha256Hash)) return null;
    queryHash = apq.sha256Hash;
  }
  return {
    key: cacheKey(queryHash, operationName as string | null | undefined, (variables ?? undefined) as never),
    operationName: (operationName as string | null | undefined) ?? null,
  };
}

/** The request's state alone (the response cache is off); null when Redis did not answer. */
async function readWithoutCache(
  reader: RequestStateReader,
  request: { sessionKey: string | null; rateKey: string; windowMs: number },
): Promise<(RequestLookup & { bytes?: Buffer }) | null> {
  try {
    const { session, rate } = await reader.read(request, null);
    return { session, rate, lookup: { status: 'bypass' } };
  } catch {
    return null;
  }
}

/** Apollo answers application/json to these; anything else (graphql-response+json, multipart) is left to it. */
function acceptsPlainJson(accept: string | undefined) {
  return (
    accept === undefined ||
    accept === '*/*' ||
    (accept.includes('application/json') && !accept.includes('graphql-response') && !accept.includes('multipart'))
  );
}

/**
 * Serves cache hits before Apollo, from the stored response bytes (docs/caching.md, "Fast
 * path"). It keeps every guarantee of the normal pipeline:
 * - the access token is verified (claims cached until exp) and the session state read from
 *   the store in the same Redis round trip as the rate-limit counter and the cache entry; only
 *   an ACTIVE session (or no token) is served here — a bad, expired or revoked token, or a
 *   session the store does not know, goes on to the normal pipeline, which refuses it (401)
 *   or asks the users service;
 * - the request is counted against the client's rate limit once (the limiter reuses the
 *   count), and a client over its limit gets the normal 429;
 * - the key is the exact document hash + operation name + variables: an entry exists only
 *   for a request that passed parsing, validation and the operation limits (the limits are
 *   part of the cache namespace), and only PUBLIC responses are ever stored;
 * - x-request-id, cache-control/age/x-cache headers, the access log line and the metrics
 *   (cache hit, operation count and duration) are the same as for a hit served by Apollo.
 * Anything that does not match exactly falls through to the normal pipeline.
 *
 * With the response cache off (no `cache`), it still reads the rate-limit count and the
 * session state in that one round trip, for the pipeline (identify, the rate limiter) to use
 * instead of asking Redis twice (GET, then a MULTI of five commands).
 */
export function cachedResponseFastPath(deps: {
  /** Absent when the response cache is off: only the request's state is read. */
  cache?: ResponseCache;
  requestState: RequestStateReader;
  authenticator: Authenticator;
  limits: RateLimits;
  cacheMetrics: CacheMetrics;
  metrics: ServiceMetrics;
  /** The SHA-256 of a query's text (TrustedDocuments.hashOf: a trusted body's hash is known). */
  documentHash?: (query: string) => string;
}) {
  const windowMs = deps.limits.windowSeconds * 1000;
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (
        req.method !== 'POST' ||
        !req.headers['content-type']?.startsWith('application/json') ||
        !acceptsPlainJson(req.headers.accept)
      )
        return next();
      const request = requestCacheKey(req.body, deps.documentHash);
      if (!request) return next();
      let claims: AccessClaims | undefined;
      const authorization = req.headers.authorization;
      if (authorization !== undefined && authorization.trim() !== '') {
        const token = bearerToken(authorization);
        if (!token) return next();
        try {
          claims = deps.authenticator.claims(token);
        } catch {
          return next(); // identify refuses it with the usual 401
        }
      }
      const clientIp = req.ip ?? req.socket.remoteAddress ?? 'unknown';
      const clientKey = claims ? `user:${claims.userId}` : `ip:${clientIp}`;
      const state = {
        sessionKey: claims ? sessionStateKey(claims.sessionId) : null,
        rateKey: `rl:${clientKey}`,
        windowMs,
      };
      const found = deps.cache
        ? await deps.cache.lookupForRequest(request.key, state)
        : await readWithoutCache(deps.requestState, state);
      if (!found) return next();
      req.rateLimitRetryAfter =
        found.rate.count > deps.limits.max ? Math.max(1, Math.ceil(found.rate.resetMs / 1000)) : null;
      if (deps.cache) req.prefetchedLookup = { key: request.key, lookup: found.lookup };
      // Revoked, or not known to the store: identify decides (401, or the users service's answer).
      if (claims && found.session !== SESSION_STATE.ACTIVE) return next();
      req.gatewayContext = {
        requestId: req.requestId,
        identity: claims
          ? { userId: claims.userId, role: claims.role, sessionId: claims.sessionId }
          : ANONYMOUS,
        clientIp,
        clientKey,
      };
      if (req.rateLimitRetryAfter !== null || found.lookup.status !== 'hit') return next();

      const { entry, ageSeconds } = found.lookup;
      const bytes = found.bytes ?? Buffer.from(`${entry.body}\n`);
      req.operationName = request.operationName ?? undefined;
      res.statusCode = 200;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('cache-control', `public, max-age=${entry.maxAge}`);
      res.setHeader('age', String(ageSeconds));
      res.setHeader('x-cache', 'HIT');
      res.setHeader('content-length', bytes.length);
      res.end(bytes);
      deps.cacheMetrics.requests.inc({ result: 'hit' });
      const operation = entry.operation ?? request.operationName ?? 'anonymous';
      deps.metrics.graphqlOperations.inc({ operation, outcome: 'ok' });
      deps.metrics.graphqlDuration.observe({ operation }, Number(process.hrtime.bigint() - req.startedAt) / 1e9);
    } catch {
      // Nothing here may fail a request: leave it to the normal pipeline.
      if (!res.headersSent) next();
    }
  };
}
