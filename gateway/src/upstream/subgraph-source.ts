import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import {
  createHttpFetcher,
  injectTraceContext,
  REQUEST_ID_HEADER,
  ServiceTokenMinter,
  ServiceUnavailableError,
  type Identity,
  type Logger,
  type TokenSigner,
} from '@shop/kit';
import type { Histogram } from 'prom-client';
import type { CircuitBreaker } from './circuit-breaker';
import type { GatewayContext } from '../context';

/**
 * Sends each subgraph fetch with a service token minted for that subgraph only (audience),
 * carrying the caller's identity and living seconds, plus the request id and W3C traceparent. Fetches go over
 * node:http with a keep-alive agent and a deadline (the kit's http-fetcher.ts), timed per subgraph. A circuit breaker per
 * subgraph turns a subgraph that keeps failing into fast errors (partial data for the client)
 * until its readiness probe answers (circuit-breaker.ts). Every outage (refused, timed out,
 * 5xx, circuit open) reaches the client as SERVICE_UNAVAILABLE, retryable, naming no address.
 */
export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  /** Service tokens per identity, reused until half their life has passed (the kit's ServiceTokenMinter). */
  private readonly tokens: ServiceTokenMinter;
  static readonly MAX_CACHED_TOKENS = ServiceTokenMinter.MAX_REMEMBERED;

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
    this.tokens = new ServiceTokenMinter(options.signer, 'gateway', options.name, options.tokenTtlSeconds);
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
    return this.tokens.tokenFor(identity);
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
