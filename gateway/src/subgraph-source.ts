import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { issueServiceToken, REQUEST_ID_HEADER, type Identity, type TokenSigner } from '@shop/kit';
import type { Histogram } from 'prom-client';

export interface GatewayContext {
  requestId: string;
  identity: Identity;
  clientKey: string;
  clientIp: string;
}

/**
 * Sends each subgraph fetch with a service token minted for that subgraph only (audience),
 * carrying the caller's identity and living seconds, plus the request id. Fetches use
 * Node's keep-alive fetch with a timeout, and are timed per subgraph.
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
      headers.set('authorization', `Bearer ${issueServiceToken(signer, 'gateway', name, identity, tokenTtlSeconds)}`);
    }
    if (context?.requestId) headers.set(REQUEST_ID_HEADER, context.requestId);
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const stop = this.options.fetchDuration.startTimer({ subgraph: this.options.name });
    try {
      const response = await super.process(options);
      stop({ outcome: response.errors?.length ? 'error' : 'ok' });
      return response;
    } catch (error) {
      stop({ outcome: 'failed' });
      throw error;
    }
  }
}
