import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import {
  injectTraceContext,
  issueServiceToken,
  REQUEST_ID_HEADER,
  ServiceUnavailableError,
  type Identity,
  type Logger,
  type TokenSigner,
} from '@shop/kit';
import type { Histogram } from 'prom-client';
import type { CircuitBreaker } from './circuit-breaker';
import { createHttpFetcher } from './http-fetcher';
import type { GatewayContext } from '../context';

/**
 * Sends each subgraph fetch with a service token minted for that subgraph only (audience),
 * carrying the caller's identity and living seconds, plus the request id and W3C traceparent. Fetches go over
 * node:http with a keep-alive agent and a deadline (http-fetcher.ts), timed per subgraph. A circuit breaker per
 * subgraph turns a subgraph that keeps failing into fast errors (partial data for the client)
 * until its readiness probe answers (circuit-breaker.ts). Every outage (refused, timed out,
 * 5xx, circuit open) reaches the client as SERVICE_UNAVAILABLE, retryable, naming no address.
 */
export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  /**
   * Minted service tokens per identity (userId|role|sessionId), reused until half their life
   * has passed: the same claims, audience and expiry as a freshly minted one, never extended.
   * Bounded: the oldest entry goes when full.
   */
  private readonly tokens = new Map<string, { token: string; reuseUntil: number }>();
  static readonly MAX_CACHED_TOKENS = 10_000;

  constructor(
    private readonly options: {
      name: string;
      url: string;
      signer: TokenSigner;
      tokenTtlSeconds: number;
      timeoutMs: number;
      fetchDuration: Histogram<'subgraph' | 'outcome'>;
      breaker?: CircuitBreaker;
      logger?: Logger;
    },
  ) {
    super({
      url: options.url,
      fetcher: createHttpFetcher({ timeoutMs: options.timeoutMs }) as never,
    });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const headers = request.http!.headers;
    const identity = context?.identity;
    if (identity) headers.set('authorization', `Bearer ${this.serviceToken(identity)}`);
    if (context?.requestId) headers.set(REQUEST_ID_HEADER, context.requestId);
    // traceparent of Apollo's gateway.fetch span (active here): the subgraph's spans become its children.
    const traceHeaders: Record<string, string> = {};
    injectTraceContext(traceHeaders);
    for (const name in traceHeaders) headers.set(name, traceHeaders[name]);
  }

  /** A service token for this subgraph carrying `identity`: a reused one while in the first half of its life. */
  serviceToken(identity: Identity): string {
    const { signer, name, tokenTtlSeconds } = this.options;
    const key = `${identity.userId ?? ''}|${identity.role ?? ''}|${identity.sessionId ?? ''}`;
    const now = Date.now();
    const cached = this.tokens.get(key);
    if (cached && now < cached.reuseUntil) return cached.token;
    if (cached) this.tokens.delete(key);
    const token = issueServiceToken(signer, 'gateway', name, identity, tokenTtlSeconds);
    // jsonwebtoken's exp is whole seconds from the signing second: reuse within half the TTL,
    // counted from before signing, so a reused token always has at least half its life left.
    if (this.tokens.size >= SubgraphSource.MAX_CACHED_TOKENS)
      this.tokens.delete(this.tokens.keys().next().value as string);
    this.tokens.set(key, { token, reuseUntil: now + (tokenTtlSeconds * 1000) / 2 - 1000 });
    return token;
  }

  override async process(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
  ): Promise<GatewayGraphQLResponse> {
    const { name, breaker, fetchDuration, logger } = this.options;
    const admission = breaker?.tryAcquire();
    if (breaker && !admission) {
      fetchDuration.observe({ subgraph: name, outcome: 'circuit_open' }, 0);
      throw new ServiceUnavailableError(name, 'circuit open', breaker.retryAfterSeconds());
    }
    const stop = fetchDuration.startTimer({ subgraph: name });
    try {
      const response = await super.process(options);
      stop({ outcome: response.errors?.length ? 'error' : 'ok' });
      if (admission) breaker!.onSuccess(admission);
      return response;
    } catch (error) {
      stop({ outcome: 'failed' });
      // A 4xx answer is a live subgraph refusing this request, not an outage.
      const status = (error as { extensions?: { response?: { status?: number } } }).extensions?.response?.status;
      if (typeof status === 'number' && status < 500) {
        if (admission) breaker!.onSuccess(admission);
        throw error;
      }
      if (admission) breaker!.onFailure(admission);
      // Refused, reset, timed out or a 5xx from whatever fronts it: an outage the client may
      // retry. The transport's words (they carry the address) go to the log only.
      const reason = error instanceof Error ? error.message : String(error);
      logger?.warn({ subgraph: name, reason, requestId: options.context?.requestId }, 'subgraph fetch failed');
      throw new ServiceUnavailableError(name, reason);
    }
  }
}
