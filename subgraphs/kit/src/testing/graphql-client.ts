import { issueServiceToken, ANONYMOUS, TokenSigner, type Identity } from '../tokens';
import type { KeyPairPem } from '../keys';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown>; path?: (string | number)[] }[];
}

/** POSTs a GraphQL document; `token` goes into Authorization as a Bearer token when given. */
export async function postGraphQL<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Pick<GraphQLResponse<T>, 'data' | 'errors'>;
  return { status: response.status, headers: response.headers, ...body };
}

/**
 * Calls a subgraph the way the gateway does: with a short-lived service token for that
 * subgraph, signed with the test keyring's key of `caller`.
 */
export function subgraphCaller(options: { url: string; audience: string; key: KeyPairPem; caller?: string }) {
  const signer = new TokenSigner(options.key.privateKey, options.key.kid);
  const caller = options.caller ?? options.key.kid.split('.')[0];
  return <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, identity: Identity = ANONYMOUS) =>
    postGraphQL<T>(`${options.url}/graphql`, query, variables, {
      authorization: `Bearer ${issueServiceToken(signer, caller, options.audience, identity, 30)}`,
    });
}
