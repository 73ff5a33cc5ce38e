import { createHash } from 'node:crypto';
import { issueAccessToken, TokenSigner } from '@shop/kit';
import { TEST_REDIS_URL } from '@shop/kit/testing';
import Redis from 'ioredis';
import { requestCacheKey } from './cached-fast-path';
import { startCatalogStack, type CatalogStack } from '../testing/catalog-stack';

const PAGE = `query ProductPage($slug: String!) { product(slug: $slug) { id name price { amount currency } inStock } }`;
const UPDATE = `mutation UpdateProduct($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id name } }`;
const ME = `query Me { me { id email } }`;
const LOGOUT = `mutation Logout { logout }`;
type Page = { product: { id: string; name: string } | null };

let counter = 0;
const unique = () => `${process.pid}-${Date.now().toString(36)}-${(counter += 1)}`;

/** POSTs a raw body to a gateway and reports whether products/inventory were called for it. */
async function post(
  stack: CatalogStack,
  body: Record<string, unknown>,
  options: { token?: string; gateway?: number; headers?: Record<string, string> } = {},
) {
  const before = stack.productsProxy.requests + stack.inventoryProxy.requests;
  const response = await fetch(`${stack.gateways[options.gateway ?? 0].url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: JSON.parse(text) as { data?: Page | null; errors?: { message: string; extensions?: { code?: string } }[] },
    subgraphCalls: stack.productsProxy.requests + stack.inventoryProxy.requests - before,
  };
}

const metric = async (stack: CatalogStack, name: string, label: string, gateway = 0) => {
  const text = await (await fetch(`${stack.gateways[gateway].url}/metrics`)).text();
  const match = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return match ? Number(match.split(' ').pop()) : 0;
};

describe('cache hits served before Apollo (real Redis; users, products, inventory in process; four gateways)', () => {
  let stack: CatalogStack;
  let redis: Redis;
  let product: { id: string; slug: string };
  const RATE_LIMIT_MAX = 6;

  beforeAll(async () => {
    // Gateway 2 has a low rate limit (for one customer of its own); 0 and 1 are replicas.
    // Gateway 3 runs with the response cache off.
    stack = await startCatalogStack({
      gatewayCount: 4,
      gatewayEnvs: [
        {},
        {},
        { RATE_LIMIT_MAX: String(RATE_LIMIT_MAX) },
        { RATE_LIMIT_MAX: String(RATE_LIMIT_MAX), RESPONSE_CACHE_ENABLED: 'false' },
      ],
    });
    redis = new Redis(TEST_REDIS_URL);
    const slug = `fast-${unique()}`;
    const category = await stack.gql(
      'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id } }',
      { input: { slug, name: 'Fast' } },
      { token: stack.adminToken },
    );
    expect(category.errors).toBeUndefined();
    const created = await stack.gql<{ createProduct: { id: string; slug: string } }>(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { id slug } }`,
      {
        input: {
          sku: `FAST-${unique()}`.toUpperCase(),
          slug,
          name: 'Fast',
          description: 'd',
          price: { amount: 1000, currency: 'USD' },
          categorySlug: slug,
        },
      },
      { token: stack.adminToken },
    );
    expect(created.errors).toBeUndefined();
    product = created.data!.createProduct;
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  /** The response-cache entries in Redis whose key ends with `key` (SCAN, never KEYS). */
  const entriesFor = async (key: string) => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*rc:*:${key}`, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return found;
  };

  it('serves a hit with the same bytes, headers and metrics as the first answer, keyed exactly as the plugin stores it', async () => {
    const body = { query: PAGE, operationName: 'ProductPage', variables: { slug: product.slug } };
    const miss = await post(stack, body, { headers: { 'x-request-id': 'fast-miss-1' } });
    expect(miss.json.errors).toBeUndefined();
    expect(miss.headers.get('x-cache')).toBe('MISS');
    expect(miss.subgraphCalls).toBeGreaterThan(0);
    // the plugin stored the entry under the very key the fast path computes from the body
    expect(await entriesFor(requestCacheKey(body)!.key)).toHaveLength(1);

    const hitsBefore = await metric(stack, 'gateway_cache_requests_total', 'result="hit"');
    const opsBefore = await metric(stack, 'graphql_operations_total', 'operation="ProductPage",outcome="ok"');
    const hit = await post(stack, body, { headers: { 'x-request-id': 'fast-hit-1' } });
    expect(hit.status).toBe(200);
    expect(hit.subgraphCalls).toBe(0);
    expect(hit.text).toBe(miss.text);
    expect(hit.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(hit.headers.get('x-request-id')).toBe('fast-hit-1');
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('cache-control')).toBe('public, max-age=5');
    expect(Number(hit.headers.get('age'))).toBeGreaterThanOrEqual(0);
    expect(await metric(stack, 'gateway_cache_requests_total', 'result="hit"')).toBe(hitsBefore + 1);
    expect(await metric(stack, 'graphql_operations_total', 'operation="ProductPage",outcome="ok"')).toBe(opsBefore + 1);
  });

  it('refuses a bad, expired or revoked token (401) even when the response is cached', async () => {
    const body = { query: PAGE, variables: { slug: product.slug } };
    const token = await stack.customerToken();
    await post(stack, body, { token });
    expect((await post(stack, body, { token })).headers.get('x-cache')).toBe('HIT');

    const bad = await post(stack, body, { token: `${token.slice(0, -6)}AAAAAA` });
    expect(bad.status).toBe(401);
    expect(bad.json.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(bad.json.data ?? null).toBeNull();

    const signer = new TokenSigner(stack.keys.access.privateKey, stack.keys.access.kid);
    const expired = issueAccessToken(signer, { userId: 'u-x', role: 'CUSTOMER', sessionId: 's-x' }, 1).token;
    await new Promise((r) => setTimeout(r, 2_100));
    const late = await post(stack, body, { token: expired });
    expect(late.status).toBe(401);
    expect(late.json.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');

    const logout = await post(stack, { query: LOGOUT }, { token });
    expect(logout.json.data).toEqual({ logout: true });
    const revoked = await post(stack, body, { token });
    expect(revoked.status).toBe(401);
    expect(revoked.json.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(revoked.json.data ?? null).toBeNull();
    // the entry itself is still there for everyone else
    expect((await post(stack, body)).headers.get('x-cache')).toBe('HIT');
  });

  it('applies the rate limit to cached hits, counting each request once', async () => {
    const token = await stack.customerToken();
    const body = { query: PAGE, variables: { slug: product.slug } };
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT_MAX + 2; i += 1) statuses.push((await post(stack, body, { token, gateway: 2 })).status);
    // counted once per request: exactly RATE_LIMIT_MAX answered, then 429
    expect(statuses.slice(0, RATE_LIMIT_MAX)).toEqual(Array(RATE_LIMIT_MAX).fill(200));
    expect(statuses.slice(RATE_LIMIT_MAX)).toEqual([429, 429]);
    const limited = await post(stack, body, { token, gateway: 2 });
    expect(limited.json.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('with the response cache off, reads the rate-limit count and the session in one round trip, and still limits and refuses ended sessions', async () => {
    const token = await stack.customerToken();
    const body = { query: PAGE, variables: { slug: product.slug } };
    // The session's first request asks users whether it is active (and marks it in the store).
    expect((await post(stack, body, { token, gateway: 3 })).status).toBe(200);
    // Every command Redis runs meanwhile; a script's own commands come from "lua".
    const monitor = await redis.monitor();
    const commands: { name: string; args: string[] }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') commands.push({ name: args[0].toLowerCase(), args: args.slice(1) });
    });
    const second = await post(stack, body, { token, gateway: 3 });
    await new Promise((r) => setTimeout(r, 200));
    monitor.disconnect();
    expect(second.status).toBe(200);
    expect(second.json.errors).toBeUndefined();
    const aboutThisClient = commands.filter(({ args }) => args.some((arg) => arg.includes('rl:user:') || arg.includes('session:')));
    // One script call (EVAL after a NOSCRIPT at most), no GET of the session nor a MULTI for the count.
    expect(aboutThisClient.length).toBeGreaterThan(0);
    expect(aboutThisClient.filter(({ name }) => name !== 'evalsha' && name !== 'eval')).toEqual([]);

    const statuses: number[] = [];
    for (let i = 2; i < RATE_LIMIT_MAX + 2; i += 1) statuses.push((await post(stack, body, { token, gateway: 3 })).status);
    // counted once per request: exactly RATE_LIMIT_MAX answered, then 429
    expect(statuses).toEqual([...Array(RATE_LIMIT_MAX - 2).fill(200), 429, 429]);
    const limited = await post(stack, body, { token, gateway: 3 });
    expect(limited.json.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    const other = await stack.customerToken();
    expect((await post(stack, body, { token: other, gateway: 3 })).status).toBe(200);
    expect((await post(stack, { query: LOGOUT }, { token: other, gateway: 3 })).json.data).toEqual({ logout: true });
    const revoked = await post(stack, body, { token: other, gateway: 3 });
    expect(revoked.status).toBe(401);
    expect(revoked.json.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('serves APQ hash-only requests from the cache when the hash is known, and not otherwise', async () => {
    const query = `${PAGE} # apq ${unique()}`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const variables = { slug: product.slug };
    const unknown = await post(stack, { extensions, variables });
    expect(unknown.json.errors?.[0].extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await post(stack, { query, extensions, variables });
    expect(registered.json.errors).toBeUndefined();
    expect(await entriesFor(requestCacheKey({ extensions, variables })!.key)).toHaveLength(1);
    const byHash = await post(stack, { extensions, variables });
    expect(byHash.headers.get('x-cache')).toBe('HIT');
    expect(byHash.subgraphCalls).toBe(0);
    expect(byHash.json.data).toEqual(registered.json.data);
    // other variables with the same hash are another entry, answered by the subgraphs
    const other = await post(stack, { extensions, variables: { slug: `missing-${unique()}` } });
    expect(other.json.data).toEqual({ product: null });
    expect(other.subgraphCalls).toBeGreaterThan(0);
  });

  it('a write clears the in-memory layer of the replica that served it at once; the other replica follows within a second', async () => {
    const body = { query: PAGE, variables: { slug: product.slug } };
    for (const gateway of [0, 1]) {
      await post(stack, body, { gateway });
      // confirmed hits: now remembered in memory for up to 500 ms
      expect((await post(stack, body, { gateway })).headers.get('x-cache')).toBe('HIT');
    }
    const name = `Renamed ${unique()}`;
    const updated = await stack.gql(UPDATE, { id: product.id, input: { name } }, { token: stack.adminToken });
    expect(updated.errors).toBeUndefined();
    const same = await post(stack, body, { gateway: 0 });
    expect(same.json.data?.product?.name).toBe(name);
    const started = Date.now();
    let seen = '';
    while (Date.now() - started < 1_000) {
      seen = (await post(stack, body, { gateway: 1 })).json.data?.product?.name ?? '';
      if (seen === name) break;
    }
    expect(seen).toBe(name);
  });

  it('never serves private data from the cache, and leaves anything unusual to Apollo', async () => {
    const alice = await stack.customerToken();
    const bob = await stack.customerToken();
    const a = await post(stack, { query: ME }, { token: alice });
    const b = await post(stack, { query: ME }, { token: bob });
    expect(a.headers.get('cache-control')).toBe('private, no-store');
    expect((await post(stack, { query: ME }, { token: bob })).json).toEqual(b.json);
    expect((await post(stack, { query: ME }, { token: alice })).json).toEqual(a.json);
    expect(a.json).not.toEqual(b.json);

    const body = { query: PAGE, variables: { slug: product.slug } };
    await post(stack, body);
    // another media type, an unknown body field, a GET: answered by Apollo, as before
    const graphqlResponse = await post(stack, body, { headers: { accept: 'application/graphql-response+json' } });
    expect(graphqlResponse.headers.get('content-type')).toContain('application/graphql-response+json');
    expect(graphqlResponse.json.data?.product?.id).toBe(product.id);
    const extra = await post(stack, { ...body, surprise: true });
    expect(extra.status).toBe(200);
    expect(extra.json.data?.product?.id).toBe(product.id);
    expect(requestCacheKey({ ...body, surprise: true })).toBeNull();
    expect(requestCacheKey({ query: PAGE, extensions: { persistedQuery: { version: 1, sha256Hash: 'x' } } })).toBeNull();
    expect(requestCacheKey([body])).toBeNull();
  });
});
