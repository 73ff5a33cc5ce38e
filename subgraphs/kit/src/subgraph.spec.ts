import { gzipSync } from 'node:zlib';
import { ApolloServer } from '@apollo/server';
import { parse } from 'graphql';
import { port } from './config';
import { NotFoundError } from './errors';
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
  let mutations = 0;

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
        type Query {
          whoAmI: Caller! @cacheControl(maxAge: 60)
          fails(kind: String!): String
          echo(text: String!, times: Int): String
        }
        type Mutation { count: Int! }
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
          fails: (_: unknown, args: { kind: string }) => {
            if (args.kind === 'contract') throw new NotFoundError('No such thing');
            if (args.kind === 'database') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
            throw new Error('a defect');
          },
          echo: (_: unknown, args: { text: string; times?: number }) => args.text.repeat(args.times ?? 1),
        },
        Mutation: { count: () => ++mutations },
      },
      context: (base) => base,
      internal(api) {
        api.route<unknown, unknown>('echo', ['gateway'], async (ctx, input) => ({ caller: ctx.caller, input }));
        api.route('refuse', ['gateway'], async () => {
          throw new NotFoundError('Nothing here');
        });
        api.route('orders-only', ['orders'], async () => 'never');
      },
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

  describe('the direct path (graphql-js without Apollo Server\'s request pipeline)', () => {
    const send = async (body: unknown, accept?: string) => {
      const response = await post(JSON.stringify(body), { authorization: `Bearer ${token()}`, ...(accept ? { accept } : {}) });
      const text = await response.text();
      // Stack traces (not in production) name the frames that called execute: the paths differ there.
      const json = JSON.parse(text) as { errors?: { extensions?: { stacktrace?: unknown } }[] };
      for (const error of json.errors ?? []) delete error.extensions?.stacktrace;
      return { status: response.status, contentType: response.headers.get('content-type'), json, newline: text.endsWith('\n') };
    };
    /** The same request answered directly (no accept header) and by Apollo (an accept header only Apollo reads). */
    const bothWays = async (body: unknown) => [await send(body), await send(body, 'application/json;q=1')];
    let pipeline: jest.SpyInstance;
    beforeEach(() => {
      pipeline = jest.spyOn(ApolloServer.prototype, 'executeHTTPGraphQLRequest');
    });
    afterEach(() => pipeline.mockRestore());

    it('answers a plain query and mutation without Apollo Server\'s pipeline', async () => {
      const query = await send({ query: 'query Echo($t: String!) { echo(text: $t, times: 2) }', variables: { t: 'ab' }, operationName: 'Echo' });
      expect(query).toEqual({ status: 200, contentType: 'application/json; charset=utf-8', json: { data: { echo: 'abab' } }, newline: true });
      const mutation = await send({ query: 'mutation { count }' });
      expect(mutation.json).toEqual({ data: { count: mutations } });
      expect(pipeline).not.toHaveBeenCalled();
    });

    it.each([
      ['a result', { query: '{ echo(text: "x") whoAmI { caller } }' }],
      ['a contract error beside data', { query: '{ echo(text: "x") fails(kind: "contract") }' }],
      ['a defect (INTERNAL_SERVER_ERROR)', { query: 'query F { fails(kind: "defect") }', operationName: 'F' }],
      ['an unreachable database (SERVICE_UNAVAILABLE)', { query: '{ fails(kind: "database") }' }],
      ['one operation of several, by name', { query: 'query A { echo(text: "a") } query B { echo(text: "b") }', operationName: 'B' }],
    ])('answers %s with the same status, content type and body as Apollo Server', async (_, body) => {
      const [direct, apollo] = await bothWays(body);
      expect(direct).toEqual(apollo);
      expect(pipeline).toHaveBeenCalledTimes(1);
    });

    it.each([
      ['a parse error', { query: '{ echo(' }, 'GRAPHQL_PARSE_FAILED'],
      ['a validation error', { query: '{ nope }' }, 'GRAPHQL_VALIDATION_FAILED'],
      ['variables that do not coerce', { query: 'query ($t: String!) { echo(text: $t) }', variables: { t: 3 } }, 'BAD_USER_INPUT'],
      ['a missing operation name', { query: 'query A { echo(text: "a") } query B { echo(text: "b") }' }, 'OPERATION_RESOLUTION_FAILURE'],
      ['malformed text in the variables', { query: 'query ($t: String!) { echo(text: $t) }', variables: { t: 'a\u0000' } }, 'BAD_USER_INPUT'],
      ['malformed text in the document', { query: '{ echo(text: "a\\u0000") }' }, 'BAD_USER_INPUT'],
      ['a persisted query', { extensions: { persistedQuery: { version: 1, sha256Hash: 'ab' } } }, 'PERSISTED_QUERY_NOT_FOUND'],
      ['introspection', { query: '{ __schema { queryType { name } } }' }, undefined],
    ])('leaves %s to Apollo Server, which answers it', async (_, body, code) => {
      const [direct, apollo] = await bothWays(body);
      expect(direct).toEqual(apollo);
      expect((direct.json as { errors?: { extensions: { code: string } }[] }).errors?.[0].extensions.code).toBe(code);
      expect(pipeline).toHaveBeenCalledTimes(2);
    });
  });

  describe('internal routes', () => {
    const call = async (path: string, body: unknown, gzip = false) => {
      const text = JSON.stringify(body);
      const response = await fetch(`${service.url}/internal/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
        body: gzip ? gzipSync(text) : text,
      });
      return { status: response.status, contentType: response.headers.get('content-type'), json: (await response.json()) as { error: { code: string } } };
    };
    /** A plain JSON body is served from node:http; a compressed one still goes through express: both answer alike. */
    const bothWays = async (path: string, body: unknown) => [await call(path, body), await call(path, body, true)];

    it('answers the handler\'s result, a contract error (422 for BAD_USER_INPUT-like, else its status) and 403 for a caller not named, the same on both paths', async () => {
      const [echo, echoExpress] = await bothWays('echo', { n: 1 });
      expect(echo).toEqual({ status: 200, contentType: 'application/json; charset=utf-8', json: { data: { caller: 'gateway', input: { n: 1 } } } });
      expect(echoExpress).toEqual(echo);
      const [refused, refusedExpress] = await bothWays('refuse', {});
      expect(refused).toEqual({ status: 422, contentType: 'application/json; charset=utf-8', json: { error: { code: 'NOT_FOUND', message: 'Nothing here', extensions: {} } } });
      expect(refusedExpress).toEqual(refused);
      const [forbidden, forbiddenExpress] = await bothWays('orders-only', {});
      expect(forbidden.status).toBe(403);
      expect(forbidden.json.error.code).toBe('FORBIDDEN');
      expect(forbiddenExpress).toEqual(forbidden);
      const [malformed, malformedExpress] = await bothWays('echo', { text: 'a\u0000' });
      expect(malformed.status).toBe(422);
      expect(malformed.json.error.code).toBe('BAD_USER_INPUT');
      expect(malformedExpress).toEqual(malformed);
    });

    it('refuses a call without a service token, and a body over the limit with 413', async () => {
      const anonymous = await fetch(`${service.url}/internal/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(anonymous.status).toBe(401);
      const large = await call('echo', { padding: 'x'.repeat(256 * 1024) });
      expect(large.status).toBe(413);
    });
  });
});
