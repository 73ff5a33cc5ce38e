import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpFetcher, parsePublicKeys, TokenSigner, TokenVerifier, verifyServiceToken, ANONYMOUS, type Identity } from '@shop/kit';
import { createTestKeys } from '@shop/kit/testing';
import jwt from 'jsonwebtoken';
import { Histogram, Registry } from 'prom-client';
import { cacheHint, SubgraphSource } from './subgraph-source';

const keys = createTestKeys();
const signer = new TokenSigner(keys.services.gateway.privateKey, keys.services.gateway.kid);
const verifier = new TokenVerifier(parsePublicKeys(keys.envFor('gateway').SERVICE_TOKEN_PUBLIC_KEYS, 'keys'));
const TTL = 30;

const source = (name: string) =>
  new SubgraphSource({
    name,
    url: 'http://127.0.0.1:9/graphql',
    signer,
    tokenTtlSeconds: TTL,
    timeoutMs: 1000,
    fetchDuration: new Histogram({ name: `t_${name}_${Date.now()}`, help: 'h', labelNames: ['subgraph', 'outcome'], registers: [new Registry()] }),
  });

const alice: Identity = { userId: 'u-alice', role: 'CUSTOMER', sessionId: 's-alice' };
const aliceOtherSession: Identity = { userId: 'u-alice', role: 'CUSTOMER', sessionId: 's-alice-2' };
const bob: Identity = { userId: 'u-bob', role: 'CUSTOMER', sessionId: 's-bob' };
const admin: Identity = { userId: 'u-bob', role: 'ADMIN', sessionId: 's-bob' };

describe('service token reuse per subgraph and identity', () => {
  afterEach(() => jest.restoreAllMocks());

  it('reuses a token for the same identity, never across identities, sessions, roles or audiences', () => {
    const products = source('products');
    const inventory = source('inventory');
    const a1 = products.serviceToken(alice);
    expect(products.serviceToken(alice)).toBe(a1);
    const tokens = [a1, products.serviceToken(aliceOtherSession), products.serviceToken(bob), products.serviceToken(admin), products.serviceToken(ANONYMOUS), inventory.serviceToken(alice)];
    expect(new Set(tokens).size).toBe(tokens.length);
    // each carries exactly its own identity and audience
    expect(verifyServiceToken(verifier, a1, 'products')).toEqual({ caller: 'gateway', identity: alice });
    expect(verifyServiceToken(verifier, tokens[1], 'products').identity).toEqual(aliceOtherSession);
    expect(verifyServiceToken(verifier, tokens[2], 'products').identity).toEqual(bob);
    expect(verifyServiceToken(verifier, tokens[3], 'products').identity).toEqual(admin);
    expect(verifyServiceToken(verifier, tokens[4], 'products').identity).toEqual(ANONYMOUS);
    expect(verifyServiceToken(verifier, tokens[5], 'inventory').identity).toEqual(alice);
    expect(() => verifyServiceToken(verifier, tokens[5], 'products')).toThrow();
  });

  it('reuses a token only within the first half of its life, and never extends it', () => {
    const products = source('products');
    const start = Date.now();
    const now = jest.spyOn(Date, 'now').mockReturnValue(start);
    const first = products.serviceToken(alice);
    const { exp } = jwt.decode(first) as { exp: number };
    now.mockReturnValue(start + (TTL * 1000) / 2 - 1500);
    expect(products.serviceToken(alice)).toBe(first);
    // a reused token still has at least half its life left
    expect(exp * 1000 - (start + (TTL * 1000) / 2 - 1500)).toBeGreaterThanOrEqual((TTL * 1000) / 2);
    now.mockReturnValue(start + (TTL * 1000) / 2 + 1);
    const second = products.serviceToken(alice);
    expect(second).not.toBe(first);
    expect((jwt.decode(first) as { exp: number }).exp).toBe(exp);
  });

  it('keeps at most MAX_CACHED_TOKENS identities', () => {
    const products = source('products');
    const first = products.serviceToken({ userId: 'u-0', role: 'CUSTOMER', sessionId: 's-0' });
    for (let i = 1; i <= SubgraphSource.MAX_CACHED_TOKENS; i += 1)
      products.serviceToken({ userId: `u-${i}`, role: 'CUSTOMER', sessionId: `s-${i}` });
    expect((products as unknown as { tokens: { size: number } }).tokens.size).toBe(SubgraphSource.MAX_CACHED_TOKENS);
    // the oldest was evicted: a new token is minted for it
    expect(products.serviceToken({ userId: 'u-0', role: 'CUSTOMER', sessionId: 's-0' })).not.toBe(first);
  });
});

/** A local server that reads each request's whole body, then lets `answer` respond; its base URL and a close. */
async function serveBodies(answer: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => answer(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('http fetcher', () => {
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ url, close } = await serveBodies((req, body, res) => {
      if (req.url === '/hang') return; // never answers
      res.setHeader('content-type', 'application/json');
      res.setHeader('cache-control', 'public, max-age=5');
      res.statusCode = req.url === '/fail' ? 502 : 200;
      res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body: JSON.parse(body) }));
    }));
  });
  afterAll(() => close());

  it('posts the body and headers and returns status, headers and JSON', async () => {
    const fetcher = createHttpFetcher({ timeoutMs: 1000 });
    const response = await fetcher(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify({ query: '{ a }', note: 'ü' }),
    });
    expect(response.ok).toBe(true);
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=5');
    expect(response.headers.get('x-missing')).toBeNull();
    expect(await response.json()).toEqual({ method: 'POST', auth: 'Bearer x', body: { query: '{ a }', note: 'ü' } });
    const failed = await fetcher(`${url}/fail`, { method: 'POST', body: '{}' });
    expect(failed.ok).toBe(false);
    expect(failed.status).toBe(502);
  });

  it('fails after the deadline when the server never answers, and on a refused connection', async () => {
    const fetcher = createHttpFetcher({ timeoutMs: 200 });
    const started = Date.now();
    await expect(fetcher(`${url}/hang`, { method: 'POST', body: '{}' })).rejects.toThrow(/timeout/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await expect(fetcher('http://127.0.0.1:9/graphql', { method: 'POST', body: '{}' })).rejects.toThrow();
  });
});

describe('a subgraph fetch', () => {
  let base: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ url: base, close } = await serveBodies((req, body, res) => {
      if (req.url === '/text') return res.end('not json');
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('cache-control', 'public, max-age=5');
      res.statusCode = req.url === '/fail' ? 502 : req.url === '/forbidden' ? 403 : 200;
      const { authorization: auth, 'x-request-id': requestId, 'content-type': contentType } = req.headers;
      res.end(JSON.stringify({ data: { method: req.method, auth, requestId, contentType, body } }));
    }));
  });
  afterAll(() => close());

  const sourceAt = (path: string) =>
    new SubgraphSource({
      name: 'products',
      url: `${base}${path}`,
      signer,
      tokenTtlSeconds: TTL,
      timeoutMs: 1000,
      fetchDuration: new Histogram({ name: `f_${path.slice(1)}_${Date.now()}`, help: 'h', labelNames: ['subgraph', 'outcome'], registers: [new Registry()] }),
    });
  const fetchOf = (restrict = jest.fn()) =>
    ({
      kind: 'incoming operation',
      request: { query: 'query P($id: ID!) { product(id: $id) { id } }', variables: { id: 'p-1' }, operationName: 'P' },
      context: { identity: alice, requestId: 'req-42' },
      incomingRequestContext: { overallCachePolicy: { restrict } },
    }) as never;
  type Echo = { method: string; auth: string; requestId: string; contentType: string; body: string };

  it('posts the query, variables and operation name as JSON with a service token for the caller and the request id', async () => {
    const restrict = jest.fn();
    const response = await sourceAt('/graphql').process(fetchOf(restrict));
    const echo = response.data as Echo;
    expect(echo.method).toBe('POST');
    expect(echo.contentType).toBe('application/json');
    expect(echo.requestId).toBe('req-42');
    expect(JSON.parse(echo.body)).toEqual({ query: 'query P($id: ID!) { product(id: $id) { id } }', variables: { id: 'p-1' }, operationName: 'P' });
    expect(echo.auth).toMatch(/^Bearer /);
    expect(verifyServiceToken(verifier, echo.auth.slice('Bearer '.length), 'products')).toEqual({ caller: 'gateway', identity: alice });
    // the subgraph's cache-control header restricts the request's policy, as Apollo's data source does
    expect(restrict).toHaveBeenCalledWith({ maxAge: 5, scope: 'PUBLIC' });
  });

  it('passes a 4xx on as the live subgraph refusing the request, and turns a 5xx or a body that is not JSON into SERVICE_UNAVAILABLE', async () => {
    await expect(sourceAt('/forbidden').process(fetchOf())).rejects.toMatchObject({
      extensions: { code: 'FORBIDDEN', response: { status: 403 } },
    });
    await expect(sourceAt('/fail').process(fetchOf())).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    await expect(sourceAt('/text').process(fetchOf())).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
  });
});

describe('cache hints from a subgraph header', () => {
  it('reads max-age, public and private the way Apollo does, and max-age 0 when absent or malformed', () => {
    expect(cacheHint(null)).toEqual({ maxAge: 0 });
    expect(cacheHint('public, max-age=60')).toEqual({ maxAge: 60, scope: 'PUBLIC' });
    expect(cacheHint('Private, Max-Age=5')).toEqual({ maxAge: 5, scope: 'PRIVATE' });
    expect(cacheHint('max-age=soon')).toEqual({ maxAge: 0 });
  });
});
