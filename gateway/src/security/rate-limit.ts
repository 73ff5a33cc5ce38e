import { GraphQLError } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { NextFunction, Request, Response } from 'express';
import { sendGraphQLError, type KeyValueStore, type ServiceMetrics } from '@shop/kit';
import type { AnalysisCheck } from '../analysis/analysis-plugin';
import type { GatewayContext } from '../context';

export interface RateLimits {
  windowSeconds: number;
  max: number;
  authMax: number;
}

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

function rateLimited(message: string, retryAfter: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfter,
      http: { status: 429, headers: new Map([['retry-after', String(retryAfter)]]) },
    },
  });
}

/**
 * The stricter per-IP limit on operations that guess credentials or mint sessions: every
 * login, register and refreshSession the operation runs is one attempt, wherever it sits
 * (aliases, inline fragments, fragment spreads: the analysis counts them all). An operation
 * holding more attempts than the limit allows is refused whole.
 */
export function signInLimit(store: KeyValueStore, metrics: ServiceMetrics, limits: RateLimits): AnalysisCheck {
  return async (analysis, context) => {
    const attempts = analysis.signInAttempts;
    if (attempts === 0) return;
    if (attempts > limits.authMax)
      throw rateLimited(
        `The operation makes ${attempts} sign-in attempts; at most ${limits.authMax} are allowed per ${limits.windowSeconds} s`,
        limits.windowSeconds,
      );
    // One count per attempt (the analysis has already bounded them by the root-field limit).
    const answers = await Promise.all(
      Array.from({ length: attempts }, () =>
        hitLimit(store, metrics, `rl:auth:${context.clientIp}`, limits.authMax, limits.windowSeconds),
      ),
    );
    const retryAfter = answers.reduce<number | null>(
      (longest, answer) => (answer === null ? longest : Math.max(longest ?? 0, answer)),
      null,
    );
    if (retryAfter !== null)
      throw rateLimited(`Too many sign-in attempts from this client; try again in ${retryAfter} s`, retryAfter);
  };
}

/**
 * Every RATE_LIMITED a client receives is HTTP 429 with Retry-After (contract), also when a
 * subgraph relays it inside an otherwise 200 response (a per-account sign-in lockout): the
 * longest retryAfter among the errors, at least one second.
 */
export function rateLimitedStatusPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const limited = response.body.singleResult.errors?.filter((e) => e.extensions?.code === 'RATE_LIMITED');
          if (!limited?.length) return;
          const retryAfter = Math.max(
            1,
            ...limited.map((e) => Math.ceil(Number(e.extensions?.retryAfter) || 0)),
          );
          response.http.status = 429;
          response.http.headers.set('retry-after', String(retryAfter));
        },
      };
    },
  };
}
