import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import {
  createHttpFetcher,
  type FetcherResponse,
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
  private readonly fetch: ReturnType<typeof createHttpFetcher>;
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
    const fetch = createHttpFetcher({ timeoutMs: options.timeoutMs });
    super({ url: options.url, fetcher: fetch as never });
    this.fetch = fetch;
    this.tokens = new ServiceTokenMinter(options.signer, 'gateway', options.name, options.tokenTtlSeconds);
  }

  /** The headers of one subgraph fetch: Apollo's own (if any), JSON, the service token, the request id and traceparent. */
  requestHeaders({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Record<string, string> {
    const headers: Record<string, string> = {};
    if (request.http?.headers) for (const [name, value] of request.http.headers) headers[name.toLowerCase()] = value;
    headers['content-type'] = 'application/json';
    const identity = context?.identity;
    if (identity) headers.authorization = `Bearer ${this.serviceToken(identity)}`;
    if (context?.requestId) headers[REQUEST_ID_HEADER] = context.requestId;
    // traceparent of Apollo's gateway.fetch span (active here): the subgraph's spans become its children.
    injectTraceContext(headers);
    return headers;
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
      const response = await this.send(options);
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

  /**
   * What RemoteGraphQLDataSource.process does for a plain (non-APQ) fetch, with the same body,
   * errors and cache-policy effect, minus its per-fetch node-fetch Headers and Request objects
   * (a URL parse each) and the header copies between them: 3-4 % of the uncached gateway's CPU
   * in its profile (BENCHMARKS.md).
   */
  private async send(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    // Automatic persisted queries towards subgraphs are Apollo's path (off here: subgraphs get the full query).
    if (this.apq) return super.process(options);
    const { request } = options;
    if (!request.query) throw new Error('Missing query');
    const { http: _http, ...sent } = request;
    const response = await this.fetch(this.url!, {
      method: 'POST',
      headers: this.requestHeaders(options),
      body: JSON.stringify(sent),
    });
    if (!response.ok) throw await this.errorFromResponse(response as never);
    const body = await responseBody(response);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new Error(`Expected JSON response body, but received: ${String(body)}`);
    if ('incomingRequestContext' in options) {
      const policy = options.incomingRequestContext.overallCachePolicy;
      if (policy && 'restrict' in policy) policy.restrict(cacheHint(response.headers.get('cache-control')));
    }
    return { ...(body as GatewayGraphQLResponse), http: response as never };
  }
}

function responseBody(response: FetcherResponse): Promise<unknown> {
  const type = response.headers.get('content-type');
  const json = type?.startsWith('application/json') || type?.startsWith('application/graphql-response+json');
  return json ? response.json() : response.text();
}

/** A subgraph's cache-control header as Apollo's data source reads it: max-age (0 when absent), public or private. */
export function cacheHint(header: string | null): { maxAge: number; scope?: 'PUBLIC' | 'PRIVATE' } {
  const hint: { maxAge: number; scope?: 'PUBLIC' | 'PRIVATE' } = { maxAge: 0 };
  if (!header) return hint;
  for (const directive of header.split(',')) {
    const [name, value] = directive.trim().toLowerCase().split('=');
    if (name === 'max-age' && value && /^[0-9]+$/.test(value)) hint.maxAge = Number(value);
    else if (name === 'private') hint.scope = 'PRIVATE';
    else if (name === 'public') hint.scope = 'PUBLIC';
  }
  return hint;
}
