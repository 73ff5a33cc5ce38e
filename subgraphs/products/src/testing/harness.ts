import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { ServiceClient, TokenSigner, type Identity } from '@shop/kit';
import {
  createTestDatabase,
  createTestKeys,
  subgraphCaller,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type TestDatabase,
  type TestKeys,
} from '@shop/kit/testing';
import { startProducts, type ProductsService } from '../index';

export const ANON: Identity = { userId: null, role: null, sessionId: null };
export const admin = (): Identity => ({ userId: randomUUID(), role: 'ADMIN', sessionId: randomUUID() });
export const customer = (): Identity => ({ userId: randomUUID(), role: 'CUSTOMER', sessionId: randomUUID() });

export interface ProductsHarness {
  service: ProductsService;
  db: TestDatabase;
  keys: TestKeys;
  prefix: string;
  gql: ReturnType<typeof subgraphCaller>;
  /** An internal-API client signed as `caller` (a service of the test keyring). */
  internal(caller: string): ServiceClient;
  close(): Promise<void>;
}

/** The products subgraph on a throwaway database, the shared Redis under a unique prefix, port 0. */
export async function startProductsHarness(env: Record<string, string> = {}): Promise<ProductsHarness> {
  const db = await createTestDatabase('products');
  const keys = createTestKeys();
  const prefix = uniqueRedisPrefix('products');
  const service = await startProducts({
    ...keys.envFor('products'),
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    PRODUCTS_CACHE_PREFIX: prefix,
    SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
  const gql = subgraphCaller({ url: service.url, audience: 'products', key: keys.services.gateway });
  return {
    service,
    db,
    keys,
    prefix,
    gql,
    internal(caller) {
      const key = keys.services[caller];
      return new ServiceClient({
        caller,
        target: 'products',
        baseUrl: service.url,
        signer: new TokenSigner(key.privateKey, key.kid),
        tokenTtlSeconds: 30,
        timeoutMs: 5_000,
      });
    },
    async close() {
      await service.stop();
      await db.drop();
      const redis = new Redis(TEST_REDIS_URL);
      try {
        const found = await redis.keys(`${prefix}*`);
        if (found.length > 0) await redis.del(...found);
      } finally {
        redis.disconnect();
      }
    },
  };
}

export const codeOf = (response: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  response.errors?.[0]?.extensions?.code;
