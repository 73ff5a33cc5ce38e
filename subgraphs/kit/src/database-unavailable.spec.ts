import { parse } from 'graphql';
import { Client } from 'pg';
import { port } from './config';
import { createRuntime } from './runtime';
import { databaseUnavailable, rows } from './sql';
import { startSubgraph, type RunningService } from './subgraph';
import { issueServiceToken, TokenSigner, ANONYMOUS } from './tokens';
import { createTestDatabase, createTestKeys, freePort, TEST_DATABASE_URL, type TestDatabase } from './testing';

/**
 * A database that is unreachable, refusing connections or restarting is an outage of the
 * service (SERVICE_UNAVAILABLE, retryable), not a defect (INTERNAL_SERVER_ERROR): a storefront
 * retries the first and reports the second. Real Postgres throughout: a role whose connection
 * limit drops to 0 gets 53300 on every new connection, and its open backends are terminated
 * (57P01), which is what a failover or an exhausted max_connections does.
 */
const admin = async <T>(work: (client: Client) => Promise<T>): Promise<T> => {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
};

const errorOf = async (work: () => Promise<unknown>): Promise<unknown> => {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the work to fail');
};

describe('databaseUnavailable: which database errors are an outage', () => {
  const role = `t_unavail_${process.pid}`;
  beforeAll(() => admin((c) => c.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0`)));
  afterAll(() => admin((c) => c.query(`DROP ROLE IF EXISTS ${role}`)));

  const connectAs = (user: string, url = TEST_DATABASE_URL) => {
    const target = new URL(url);
    target.username = user;
    return new Client({ connectionString: target.toString() });
  };

  it('is an outage: too many connections (53300), a terminated backend (57P01), a refused connection', async () => {
    const tooMany = await errorOf(() => connectAs(role).connect());
    expect((tooMany as { code?: string }).code).toBe('53300');
    expect(databaseUnavailable(tooMany)).toBe(true);

    const client = new Client({ connectionString: TEST_DATABASE_URL });
    client.on('error', () => undefined);
    await client.connect();
    const { rows: [{ pid }] } = await client.query('SELECT pg_backend_pid() AS pid');
    await admin((c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
    const terminated = await errorOf(() => client.query('SELECT 1'));
    expect(databaseUnavailable(terminated)).toBe(true);
    await client.end().catch(() => undefined);

    const refused = await errorOf(async () => connectAs('postgres', `postgres://postgres@127.0.0.1:${await freePort()}/postgres`).connect());
    expect(databaseUnavailable(refused)).toBe(true);
  });

  it('is not an outage: a wrong statement or a constraint the data breaks', async () => {
    await admin(async (c) => {
      expect(databaseUnavailable(await errorOf(() => c.query('SELEC 1')))).toBe(false);
      await c.query('CREATE TEMP TABLE t (id int PRIMARY KEY)');
      await c.query('INSERT INTO t VALUES (1)');
      expect(databaseUnavailable(await errorOf(() => c.query('INSERT INTO t VALUES (1)')))).toBe(false);
    });
    expect(databaseUnavailable(new Error('something else'))).toBe(false);
    expect(databaseUnavailable(undefined)).toBe(false);
  });
});

describe('a subgraph whose database refuses it', () => {
  const keys = createTestKeys();
  const signer = new TokenSigner(keys.services.gateway.privateKey, keys.services.gateway.kid);
  const role = `t_refused_${process.pid}`;
  let db: TestDatabase;
  let service: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase('refused');
    await admin(async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN`);
      await c.query(`GRANT ALL ON DATABASE "${new URL(db.url).pathname.slice(1)}" TO ${role}`);
    });
    const url = new URL(db.url);
    url.username = role;
    const runtime = await createRuntime({
      name: 'stock',
      env: { ...keys.envFor('stock'), NODE_ENV: 'production', LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: url.toString(), REDIS_URL: 'redis://127.0.0.1:6379' },
      configShape: { PORT: port(0) },
      entities: [],
      migrations: [],
      synchronize: true,
    });
    const ping = () => rows(runtime.db.dataSource.manager, 'SELECT 1 AS one');
    service = await startSubgraph(runtime, {
      typeDefs: parse(`
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
        type Query { ping: Int! }
      `),
      resolvers: { Query: { ping: async () => (await ping())[0].one } },
      internal: (api) => api.route('ping', ['gateway'], async () => (await ping())[0].one),
      context: (base) => base,
    });
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
    await admin((c) => c.query(`DROP ROLE IF EXISTS ${role}`));
  });

  const token = (audience: string) => issueServiceToken(signer, 'gateway', audience, ANONYMOUS, 30);
  const graphql = async () => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token('stock')}` },
      body: JSON.stringify({ query: '{ ping }' }),
    });
    return (await response.json()) as { data?: unknown; errors?: { message: string; extensions: Record<string, unknown> }[] };
  };
  const internal = async () => {
    const response = await fetch(`${service.url}/internal/ping`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token('stock')}` },
      body: '{}',
    });
    return { status: response.status, body: (await response.json()) as { data?: unknown; error?: { code: string; message: string; extensions?: Record<string, unknown> } } };
  };
  const refuseConnections = async (limit: number) =>
    admin(async (c) => {
      await c.query(`ALTER ROLE ${role} CONNECTION LIMIT ${limit}`);
      if (limit === 0) await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
    });

  it('answers SERVICE_UNAVAILABLE (retryable, no address) while refused, and serves again once the database takes it back', async () => {
    expect(await graphql()).toEqual({ data: { ping: 1 } });
    expect(await internal()).toEqual({ status: 200, body: { data: 1 } });

    await refuseConnections(0);
    const refused = await graphql();
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0].extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', retryable: true });
    expect(refused.errors?.[0].message).toBe('The stock service is unavailable right now; retry in a moment');
    const call = await internal();
    expect(call.status).toBe(503);
    expect(call.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', extensions: { retryable: true } });
    expect(JSON.stringify([refused, call])).not.toMatch(/127\.0\.0\.1|5432|t_refused|too many connections/);

    await refuseConnections(-1);
    expect(await graphql()).toEqual({ data: { ping: 1 } });
  });
});
