import type { RunningService } from '@shop/kit';
import {
  createTestDatabase,
  createTestKeys,
  postGraphQL,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type GraphQLResponse,
  type TestDatabase,
  type TestKeys,
} from '@shop/kit/testing';
import { startGateway, type RunningGateway } from '../gateway';
import { TestProxy } from './proxy';
import { currentSupergraphPath } from './stack';

export interface CatalogStack {
  keys: TestKeys;
  users: RunningService;
  products: RunningService;
  inventory: RunningService;
  /** Counting, switchable proxies: the gateways reach products and inventory only through them. */
  productsProxy: TestProxy;
  inventoryProxy: TestProxy;
  gateways: RunningGateway[];
  adminToken: string;
  /** POST to gateway `index` (0 by default). */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { token?: string; gateway?: number; headers?: Record<string, string> },
  ): Promise<GraphQLResponse<T>>;
  /** Registers a customer and returns their access token. */
  customerToken(): Promise<string>;
  restartProducts(): Promise<void>;
  /** Stops the inventory subgraph (its proxy stays up, so connections reach nothing). */
  stopInventory(): Promise<void>;
  /** Starts inventory again (same database, a new port behind the same proxy); resolves once it is ready. */
  startInventory(): Promise<void>;
  stop(): Promise<void>;
}

const ADMIN_EMAIL = 'admin@example.com';
const ADMIN_PASSWORD = 'correct horse battery admin';
let customers = 0;

/**
 * users, products and inventory in this process (port 0, own databases, the machine's Redis
 * under unique prefixes) and `gatewayCount` gateways sharing one Redis (the machine's, or a
 * test-owned one to stop mid-test) and one key prefix, as replicas do.
 */
export async function startCatalogStack(
  options: {
    redisUrl?: string;
    /** Per gateway, overriding redisUrl (e.g. one replica through a proxy that can cut it off). */
    gatewayRedisUrls?: string[];
    gatewayCount?: number;
    gatewayEnv?: Record<string, string>;
    /** Per gateway, over gatewayEnv (e.g. one replica with a low rate limit). */
    gatewayEnvs?: Record<string, string>[];
  } = {},
): Promise<CatalogStack> {
  const [{ startUsers }, { startProducts }, { startInventory }] = await Promise.all([
    import('../../../subgraphs/users/src/index'),
    import('../../../subgraphs/products/src/index'),
    import('../../../subgraphs/inventory/src/index'),
  ]);
  const keys = createTestKeys();
  const dbs: TestDatabase[] = await Promise.all(
    ['gw_cat_users', 'gw_cat_products', 'gw_cat_inventory'].map((p) => createTestDatabase(p)),
  );
  const [usersDb, productsDb, inventoryDb] = dbs;
  const common = { NODE_ENV: 'test', LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0' };
  const subgraphRedis = () => ({ REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: uniqueRedisPrefix('gwsub') });
  const gatewayPrefix = uniqueRedisPrefix('gwcache');
  const users = await startUsers({
    ...common,
    // Users publishes session revocations where the gateways read them: same Redis and prefix.
    REDIS_URL: options.redisUrl ?? TEST_REDIS_URL,
    REDIS_KEY_PREFIX: gatewayPrefix,
    ...keys.envFor('users'),
    DATABASE_URL: usersDb.url,
    BCRYPT_COST: '10',
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
  });
  const productsEnv = {
    ...common,
    ...subgraphRedis(),
    ...keys.envFor('products'),
    DATABASE_URL: productsDb.url,
    PRODUCTS_CACHE_PREFIX: uniqueRedisPrefix('gwprod'),
  };
  let products = await startProducts(productsEnv);
  // Inventory asks products whether a product exists (setStock) on its own path, so the
  // gateway's proxies count only the gateway's calls; it follows products across restarts.
  const productsForInventory = await TestProxy.start(products.url);
  const inventoryEnv = {
    ...common,
    ...subgraphRedis(),
    ...keys.envFor('inventory'),
    DATABASE_URL: inventoryDb.url,
    PRODUCTS_URL: productsForInventory.url,
  };
  let inventory = await startInventory(inventoryEnv);
  const productsProxy = await TestProxy.start(products.url);
  const inventoryProxy = await TestProxy.start(inventory.url);

  const supergraphPath = currentSupergraphPath();
  const gatewayEnv = {
    ...common,
    ...keys.envFor('gateway'),
    REDIS_URL: options.redisUrl ?? TEST_REDIS_URL,
    REDIS_KEY_PREFIX: gatewayPrefix,
    SUPERGRAPH_PATH: supergraphPath,
    USERS_URL: users.url,
    PRODUCTS_URL: productsProxy.url,
    INVENTORY_URL: inventoryProxy.url,
    ORDERS_URL: 'http://127.0.0.1:9',
    PAYMENTS_URL: 'http://127.0.0.1:9',
    RATE_LIMIT_MAX: '100000',
    AUTH_RATE_LIMIT_MAX: '1000',
    ...options.gatewayEnv,
  };
  const gateways: RunningGateway[] = [];
  for (let i = 0; i < (options.gatewayCount ?? 1); i += 1)
    gateways.push(
      await startGateway({
        ...gatewayEnv,
        ...(options.gatewayRedisUrls?.[i] ? { REDIS_URL: options.gatewayRedisUrls[i] } : {}),
        ...options.gatewayEnvs?.[i],
      }),
    );

  const gql: CatalogStack['gql'] = (query, variables = {}, { token, gateway = 0, headers = {} } = {}) =>
    postGraphQL(`${gateways[gateway].url}/graphql`, query, variables, {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    });
  const login = await gql<{ login: { accessToken: string } }>(
    'mutation Login($input: LoginInput!) { login(input: $input) { accessToken } }',
    { input: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } },
  );
  if (!login.data?.login) throw new Error(`admin login failed: ${JSON.stringify(login.errors)}`);

  const stack: CatalogStack = {
    keys,
    users,
    get products() {
      return products;
    },
    get inventory() {
      return inventory;
    },
    productsProxy,
    inventoryProxy,
    gateways,
    adminToken: login.data.login.accessToken,
    gql,
    async customerToken() {
      customers += 1;
      const result = await gql<{ register: { accessToken: string } }>(
        'mutation Register($input: RegisterInput!) { register(input: $input) { accessToken } }',
        {
          input: {
            email: `gw-cat-${process.pid}-${Date.now()}-${customers}@example.com`,
            password: 'correct horse battery',
          },
        },
      );
      if (!result.data?.register) throw new Error(`register failed: ${JSON.stringify(result.errors)}`);
      return result.data.register.accessToken;
    },
    async restartProducts() {
      await products.stop();
      products = await startProducts(productsEnv);
      productsProxy.retarget(products.url);
      productsForInventory.retarget(products.url);
    },
    stopInventory: () => inventory.stop(),
    async startInventory() {
      inventory = await startInventory(inventoryEnv);
      inventoryProxy.retarget(inventory.url);
    },
    async stop() {
      for (const gateway of gateways) await gateway.stop();
      await productsProxy.stop();
      await inventoryProxy.stop();
      await productsForInventory.stop();
      await Promise.all([users.stop(), products.stop(), inventory.stop()]);
      await Promise.all(dbs.map((db) => db.drop()));
    },
  };
  return stack;
}
