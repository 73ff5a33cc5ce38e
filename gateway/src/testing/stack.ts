import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningService } from '@shop/kit';
import {
  createTestDatabase,
  createTestKeys,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type TestDatabase,
  type TestKeys,
} from '@shop/kit/testing';
import { composeSupergraph } from '../../../scripts/compose';
import { startGateway, type RunningGateway } from '../gateway';

/** The supergraph composed from the SDL files as they are now, written to a temp file. */
export function currentSupergraphPath(): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'supergraph-')), 'supergraph.graphql');
  writeFileSync(file, composeSupergraph());
  return file;
}

export interface Stack {
  keys: TestKeys;
  gateway: RunningGateway;
  users: RunningService;
  graphqlUrl: string;
  restartGateway(env?: Record<string, string>): Promise<RunningGateway>;
  stop(): Promise<void>;
}

/**
 * The users subgraph and the gateway in this process, on their own database and ports,
 * sharing a Redis (the machine's, or a test-owned one to stop mid-test).
 */
export async function startUsersStack(
  options: { redisUrl?: string; gatewayEnv?: Record<string, string>; usersEnv?: Record<string, string> } = {},
): Promise<Stack> {
  // Imported lazily so a gateway unit test does not load the users subgraph.
  const { startUsers } = await import('../../../subgraphs/users/src/index');
  const keys = createTestKeys();
  const db: TestDatabase = await createTestDatabase('gw_users');
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const common = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: uniqueRedisPrefix('gw'),
  };
  const users = await startUsers({
    ...common,
    ...keys.envFor('users'),
    PORT: '0',
    DATABASE_URL: db.url,
    BCRYPT_COST: '10',
    REVOCATION_PUBLISH_INTERVAL_MS: '200',
    ...options.usersEnv,
  });
  const supergraphPath = currentSupergraphPath();
  const gatewayEnv = (extra: Record<string, string> = {}) => ({
    ...common,
    ...keys.envFor('gateway'),
    PORT: '0',
    SUPERGRAPH_PATH: supergraphPath,
    USERS_URL: users.url,
    // Nothing listens here: the other subgraphs are "down" in this stack.
    PRODUCTS_URL: 'http://127.0.0.1:9',
    INVENTORY_URL: 'http://127.0.0.1:9',
    ORDERS_URL: 'http://127.0.0.1:9',
    PAYMENTS_URL: 'http://127.0.0.1:9',
    ...options.gatewayEnv,
    ...extra,
  });
  const stack: Stack = {
    keys,
    users,
    gateway: await startGateway(gatewayEnv()),
    get graphqlUrl() {
      return `${stack.gateway.url}/graphql`;
    },
    async restartGateway(extra = {}) {
      await stack.gateway.stop();
      stack.gateway = await startGateway(gatewayEnv(extra));
      return stack.gateway;
    },
    async stop() {
      await stack.gateway.stop();
      await users.stop();
      await db.drop();
    },
  };
  return stack;
}
