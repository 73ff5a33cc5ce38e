import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { issueServiceToken, REQUEST_ID_HEADER, type Identity, type TokenSigner } from '@shop/kit';
import { GraphQLError } from 'graphql';
import type { Histogram } from 'prom-client';
import type { CircuitBreaker } from './circuit-breaker';

export interface GatewayContext {
  requestId: string;
  identity: Identity;
  clientKey: string;
  clientIp: string;
}

/**
 * Sends each subgraph fetch with a service token minted for that subgraph only (audience),
 * carrying the caller's identity and living seconds, plus the request id. Fetches use
 * Node's keep-alive fetch with a timeout, and are timed per subgraph. A circuit breaker per
 * subgraph turns a subgraph that keeps failing into fast errors (partial data for the client)
 * until a probe succeeds.
 */
export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly options: {
      name: string;
      url: string;
      signer: TokenSigner;
      tokenTtlSeconds: number;
      timeoutMs: number;
      fetchDuration: Histogram<'subgraph' | 'outcome'>;
      breaker?: CircuitBreaker;
    },
  ) {
    super({
      url: options.url,
      fetcher: ((input: string, init: RequestInit) =>
        fetch(input, { ...init, signal: AbortSignal.timeout(options.timeoutMs) })) as never,
    });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const headers = request.http!.headers;
    const identity = context?.identity;
    if (identity) {
      const { signer, name, tokenTtlSeconds } = this.options;
      headers.set(
        'authorization',
        `Bearer ${issueServiceToken(signer, 'gateway', name, identity, tokenTtlSeconds)}`,
      );
    }
    if (context?.requestId) headers.set(REQUEST_ID_HEADER, context.requestId);
  }

  override async process(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
  ): Promise<GatewayGraphQLResponse> {
    const { name, breaker, fetchDuration } = this.options;
    if (breaker && !breaker.tryAcquire()) {
      fetchDuration.observe({ subgraph: name, outcome: 'circuit_open' }, 0);
      const seconds = Math.ceil(breaker.retryInMs() / 1000);
      throw new GraphQLError(
        `The ${name} service is unavailable (circuit open${seconds ? `, retrying in ${seconds} s` : ''})`,
        {
          extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: name },
        },
      );
    }
    const stop = fetchDuration.startTimer({ subgraph: name });
    try {
      const response = await super.process(options);
      stop({ outcome: response.errors?.length ? 'error' : 'ok' });
      breaker?.onSuccess();
      return response;
    } catch (error) {
      stop({ outcome: 'failed' });
      // A 4xx answer is a live subgraph refusing this request, not an outage.
      const status = (error as { extensions?: { response?: { status?: number } } }).extensions?.response
        ?.status;
      if (typeof status === 'number' && status < 500) breaker?.onSuccess();
      else breaker?.onFailure();
      throw error;
    }
  }
}
