import path from 'node:path';
import {
  createTestDatabase,
  createTestKeys,
  freePort,
  postGraphQL,
  startServiceProcess,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type GraphQLResponse,
  type ServiceProcess,
  type TestDatabase,
  type TestKeys,
} from '@shop/kit/testing';
import { currentSupergraphPath } from '../../gateway/src/testing/stack';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SUBGRAPHS = ['users', 'products', 'inventory', 'payments', 'orders'] as const;
export type Subgraph = (typeof SUBGRAPHS)[number];

export interface Platform {
  keys: TestKeys;
  gateway: ServiceProcess;
  services: Partial<Record<Subgraph, ServiceProcess>>;
  /** Each started subgraph's own database (for reading its records and for faults). */
  databases: Partial<Record<Subgraph, TestDatabase>>;
  graphqlUrl: string;
  /** POST a document to the gateway, optionally signed in. */
  query<T = Record<string, unknown>>(
    document: string,
    variables?: Record<string, unknown>,
    options?: { token?: string; headers?: Record<string, string> },
  ): Promise<GraphQLResponse<T>>;
  /** Restart one service process (same env, same port), e.g. after killing it. */
  restart(name: Subgraph | 'gateway', extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/**
 * Every service as its own built process (`node dist/index.js`), each on its own database,
 * all sharing one Redis under a run-unique key prefix — the topology Kubernetes runs.
 */
export async function startPlatform(
  options: {
    subgraphs?: readonly Subgraph[];
    env?: Record<string, string>;
    gatewayEnv?: Record<string, string>;
    /** How long each process may take to come up (starts and restarts). */
    startTimeoutMs?: number;
  } = {},
): Promise<Platform> {
  const { startTimeoutMs } = options;
  const subgraphs = options.subgraphs ?? SUBGRAPHS;
  const keys = createTestKeys();
  const ports = Object.fromEntries(await Promise.all([...SUBGRAPHS, 'gateway'].map(async (n) => [n, await freePort()])));
  const urls = Object.fromEntries(SUBGRAPHS.map((n) => [`${n.toUpperCase()}_URL`, `http://127.0.0.1:${ports[n]}`]));
  const common = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: uniqueRedisPrefix('e2e'),
    BCRYPT_COST: '10',
    ADMIN_EMAIL: 'admin@e2e.test',
    ADMIN_PASSWORD: 'admin-password-e2e',
    ...urls,
    ...options.env,
  };
  const databases: Partial<Record<Subgraph, TestDatabase>> = {};
  const envs: Record<string, Record<string, string>> = {};
  const entries: Record<string, string> = {};
  const services: Partial<Record<Subgraph, ServiceProcess>> = {};
  for (const name of subgraphs) {
    const db = await createTestDatabase(`e2e_${name}`);
    databases[name] = db;
    envs[name] = { ...common, ...keys.envFor(name), DATABASE_URL: db.url };
    entries[name] = path.join(ROOT, 'subgraphs', name, 'dist', 'index.js');
  }
  // A platform that cannot start leaves nothing behind (processes, databases).
  const abandon = async (error: unknown): Promise<never> => {
    for (const service of Object.values(services)) await service?.kill('SIGKILL');
    for (const db of Object.values(databases)) await db?.drop().catch(() => undefined);
    throw error;
  };
  // Started in dependency order: orders calls products, inventory and payments.
  for (const name of subgraphs)
    services[name] = await startServiceProcess({ name, entry: entries[name], port: ports[name], env: envs[name], startTimeoutMs }).catch(
      abandon,
    );
  envs.gateway = {
    ...common,
    ...keys.envFor('gateway'),
    SUPERGRAPH_PATH: currentSupergraphPath(),
    RATE_LIMIT_MAX: '100000',
    AUTH_RATE_LIMIT_MAX: '100000',
    ...options.gatewayEnv,
  };
  entries.gateway = path.join(ROOT, 'gateway', 'dist', 'index.js');
  const platform: Platform = {
    keys,
    services,
    databases,
    gateway: await startServiceProcess({ name: 'gateway', entry: entries.gateway, port: ports.gateway, env: envs.gateway, startTimeoutMs }).catch(
      abandon,
    ),
    graphqlUrl: `http://127.0.0.1:${ports.gateway}/graphql`,
    query(document, variables = {}, { token, headers = {} } = {}) {
      return postGraphQL(platform.graphqlUrl, document, variables, {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      });
    },
    async restart(name, extraEnv = {}) {
      const current = name === 'gateway' ? platform.gateway : services[name];
      await current?.kill('SIGTERM');
      const started = await startServiceProcess({
        name,
        entry: entries[name],
        port: ports[name],
        env: { ...envs[name], ...extraEnv },
        startTimeoutMs,
      });
      if (name === 'gateway') platform.gateway = started;
      else services[name] = started;
      return started;
    },
    async stop() {
      await platform.gateway.kill('SIGTERM');
      for (const service of Object.values(services)) await service?.kill('SIGTERM');
      for (const db of Object.values(databases)) await db.drop().catch(() => undefined);
    },
  };
  return platform;
}
