import { GraphQLError } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { NextFunction, Request, Response } from 'express';
import { sendGraphQLError, type KeyValueStore, type ServiceMetrics } from '@shop/kit';
import type { GatewayContext } from '../context';

export interface RateLimits {
  windowSeconds: number;
  max: number;
  authMax: number;
}

/** Operations that guess credentials or mint sessions get a stricter, per-IP limit. */
export const AUTH_FIELDS = new Set(['login', 'register', 'refreshSession']);

/**
 * Fixed-window counters in the store, per client: the user id when signed in, else the
 * client address. While the store is down requests pass (counted in store_errors_total):
 * the gateway keeps serving rather than failing closed on a cache outage.
 */
export async function hitLimit(
  store: KeyValueStore,
  metrics: ServiceMetrics,
  key: string,
  max: number,
  windowSeconds: number,
): Promise<number | null> {
  try {
    const { count, resetMs } = await store.incrWindow(key, windowSeconds * 1000);
    return count > max ? Math.max(1, Math.ceil(resetMs / 1000)) : null;
  } catch {
    metrics.storeErrors.inc({ operation: 'rate_limit' });
    return null;
  }
}

export function rateLimitMiddleware(store: KeyValueStore, metrics: ServiceMetrics, limits: RateLimits) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const clientKey = req.gatewayContext?.clientKey ?? `ip:${req.ip}`;
    // Counted already in the fast path's round trip (cached-fast-path.ts): never twice.
    const retryAfter =
      req.rateLimitRetryAfter !== undefined
        ? req.rateLimitRetryAfter
        : await hitLimit(store, metrics, `rl:${clientKey}`, limits.max, limits.windowSeconds);
    if (retryAfter === null) return next();
    res.setHeader('retry-after', String(retryAfter));
    sendGraphQLError(res, 429, 'RATE_LIMITED', `Too many requests; try again in ${retryAfter} s`, {
      retryAfter,
    });
  };
}

export function authRateLimitPlugin(
  store: KeyValueStore,
  metrics: ServiceMetrics,
  limits: RateLimits,
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          const authField = operation?.selectionSet.selections.find(
            (s) => s.kind === 'Field' && AUTH_FIELDS.has(s.name.value),
          );
          if (!authField) return;
          const ipKey = contextValue.clientIp;
          const retryAfter = await hitLimit(
            store,
            metrics,
            `rl:auth:${ipKey}`,
            limits.authMax,
            limits.windowSeconds,
          );
          if (retryAfter === null) return;
          throw new GraphQLError(`Too many sign-in attempts from this client; try again in ${retryAfter} s`, {
            extensions: {
              code: 'RATE_LIMITED',
              retryAfter,
              http: { status: 429, headers: new Map([['retry-after', String(retryAfter)]]) },
            },
          });
        },
      };
    },
  };
}
