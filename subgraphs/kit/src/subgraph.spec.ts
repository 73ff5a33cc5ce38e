import { gzipSync } from 'node:zlib';
import { parse } from 'graphql';
import { port } from './config';
import { currentRequestId } from './request-context';
import { createRuntime } from './runtime';
import { startSubgraph, type RunningService, type ServiceContext } from './subgraph';
import { issueServiceToken, TokenSigner, ANONYMOUS } from './tokens';
import { createTestDatabase, createTestKeys, type TestDatabase } from './testing';

/**
 * The subgraph's HTTP edge: POST /graphql with a JSON body is served from node:http without
 * express; everything else on /graphql still goes through express. Both answer the same.
 */
describe('startSubgraph: the GraphQL edge', () => {
  const keys = createTestKeys();
  const signer = new TokenSigner(keys.services.gateway.privateKey, keys.services.gateway.kid);
  let db: TestDatabase;
  let service: RunningService;
  let url: string;
  const token = () => issueServiceToken(signer, 'gateway', 'edge', ANONYMOUS, 30);

  beforeAll(async () => {
    db = await createTestDatabase('edge');
    const runtime = await createRuntime({
      name: 'edge',
      env: {
        ...keys.envFor('edge'),
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
      },
      configShape: { PORT: port(0) },
      entities: [],
      migrations: [],
      synchronize: true,
    });
    service = await startSubgraph(runtime, {
      typeDefs: parse(`
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
        enum CacheControlScope { PUBLIC PRIVATE }
        directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
        type Query { whoAmI: Caller! @cacheControl(maxAge: 60) }
        type Caller { caller: String!, requestId: String!, scopeRequestId: String }
      `),
      resolvers: {
        Query: {
          // The request scope must survive reading the body: log lines are stamped from it.
          whoAmI: (_: unknown, __: unknown, ctx: ServiceContext) => ({
            caller: ctx.caller,
            requestId: ctx.requestId,
            scopeRequestId: currentRequestId(),
          }),
        },
      },
      context: (base) => base,
    });
    url = `${service.url}/graphql`;
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const query = JSON.stringify({
    query: '{ whoAmI { caller requestId scopeRequestId } }',
    operationName: null,
  });

  it('answers a signed request with the caller and the client request id, in scope for the resolvers', async () => {
    const response = await post(query, { authorization: `Bearer ${token()}`, 'x-request-id': 'edge-test-1' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('edge-test-1');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      data: { whoAmI: { caller: 'gateway', requestId: 'edge-test-1', scopeRequestId: 'edge-test-1' } },
    });
  });

  it('computes no cache-control header: the gateway takes policies from the hints in the SDL itself', async () => {
    const response = await post(query, { authorization: `Bearer ${token()}` });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBeNull();
  });

  it('refuses a request without a service token with the contract error, before reading the body', async () => {
    const response = await post(query);
    expect(response.status).toBe(401);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(
      ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code,
    ).toBe('UNAUTHENTICATED');
  });

  it('answers a body that is not JSON with 400 BAD_REQUEST and one over the limit with 413', async () => {
    const auth = { authorization: `Bearer ${token()}` };
    const bad = await post('{"query": ', auth);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
    });
    const large = await post(JSON.stringify({ query, padding: 'x'.repeat(1024 * 1024) }), auth);
    expect(large.status).toBe(413);
    expect(
      ((await large.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code,
    ).toBe('BAD_REQUEST');
  });

  it('leaves a compressed body to express, which still answers it', async () => {
    const response = await post(gzipSync(query), {
      authorization: `Bearer ${token()}`,
      'content-encoding': 'gzip',
      'x-request-id': 'edge-test-2',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('edge-test-2');
    expect(
      ((await response.json()) as { data: { whoAmI: { requestId: string } } }).data.whoAmI.requestId,
    ).toBe('edge-test-2');
  });

  it('counts both paths in the request metrics under the /graphql route', async () => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const count = (status: string) =>
      Number(
        new RegExp(
          `http_requests_total\\{method="POST",route="/graphql",status="${status}",service="edge"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    expect(count('200')).toBeGreaterThanOrEqual(2);
    expect(count('401')).toBeGreaterThanOrEqual(1);
    expect(count('413')).toBeGreaterThanOrEqual(1);
  });
});
