import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ServiceClient, TokenSigner, type Identity, type RunningService } from '@shop/kit';
import {
  createTestDatabase,
  createTestKeys,
  freePort,
  subgraphCaller,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type TestDatabase,
  type TestKeys,
} from '@shop/kit/testing';
import { startProducts } from '../../../products/src/index';
import { seedProduct } from '../../../products/src/seed';
import { startInventory } from '../../../inventory/src/index';
import { startPayments, type PaymentsService } from '../../../payments/src/index';
import { startOrders, type OrdersService } from '../index';

export const customer = (): Identity => ({ userId: randomUUID(), role: 'CUSTOMER', sessionId: randomUUID() });
export const admin = (): Identity => ({ userId: randomUUID(), role: 'ADMIN', sessionId: randomUUID() });
export const ANON: Identity = { userId: null, role: null, sessionId: null };

/** Seeded catalog product n (1-based): its id and price. */
export const catalogProduct = (n: number) => seedProduct(n);

export const ADDRESS = { name: 'Ada Lovelace', line1: '12 Analytical St', line2: null, city: 'London', postalCode: 'N1 9GU', country: 'GB' };

export interface Platform {
  keys: TestKeys;
  products: RunningService;
  inventory: RunningService;
  payments: PaymentsService;
  orders: OrdersService;
  /** The orders subgraph, called as the gateway would for `identity`. */
  gql: ReturnType<typeof subgraphCaller>;
  productsGql: ReturnType<typeof subgraphCaller>;
  inventoryGql: ReturnType<typeof subgraphCaller>;
  paymentsGql: ReturnType<typeof subgraphCaller>;
  /** Internal APIs of the other services, called as orders (for checking their records). */
  internal(target: 'products' | 'inventory' | 'payments'): ServiceClient;
  /** The orders database. */
  ordersDb: Client;
  setStock(productId: string, onHand: number): Promise<void>;
  close(): Promise<void>;
}

export interface StartedDatabases {
  products: TestDatabase;
  inventory: TestDatabase;
  payments: TestDatabase;
  orders: TestDatabase;
}

export async function createDatabases(): Promise<StartedDatabases> {
  const [products, inventory, payments, orders] = await Promise.all(
    ['o_products', 'o_inventory', 'o_payments', 'o_orders'].map((p) => createTestDatabase(p)),
  );
  return { products, inventory, payments, orders };
}

export function serviceEnv(keys: TestKeys, service: string, databaseUrl: string, extra: Record<string, string> = {}) {
  return {
    ...keys.envFor(service),
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    ...extra,
  };
}

export function internalClient(keys: TestKeys, target: string, baseUrl: string): ServiceClient {
  const key = keys.services.orders;
  return new ServiceClient({
    caller: 'orders',
    target,
    baseUrl,
    signer: new TokenSigner(key.privateKey, key.kid),
    tokenTtlSeconds: 30,
    timeoutMs: 15_000,
  });
}

export const SET_STOCK = `mutation ($productId: ID!, $onHand: Int!) { setStock(productId: $productId, onHand: $onHand) { id } }`;

/** products (seeded with `seedProducts`), inventory, payments and orders in this process, each on its own database. */
export async function startPlatform(
  options: { seedProducts?: number; ordersEnv?: Record<string, string>; paymentsEnv?: Record<string, string> } = {},
): Promise<Platform> {
  const keys = createTestKeys();
  const dbs = await createDatabases();
  const products = await startProducts(
    serviceEnv(keys, 'products', dbs.products.url, {
      REDIS_URL: TEST_REDIS_URL,
      PRODUCTS_CACHE_PREFIX: uniqueRedisPrefix('orders-products'),
    }),
    { seedProducts: options.seedProducts ?? 8 },
  );
  const inventory = await startInventory(serviceEnv(keys, 'inventory', dbs.inventory.url, { PRODUCTS_URL: products.url }));
  // Orders and payments call each other (payments' sweeper asks orders): payments' port is chosen first.
  const paymentsPort = await freePort();
  const orders = await startOrders(
    serviceEnv(keys, 'orders', dbs.orders.url, {
      PRODUCTS_URL: products.url,
      INVENTORY_URL: inventory.url,
      PAYMENTS_URL: `http://127.0.0.1:${paymentsPort}`,
      ...options.ordersEnv,
    }),
  );
  const payments = await startPayments(
    serviceEnv(keys, 'payments', dbs.payments.url, { PORT: String(paymentsPort), ORDERS_URL: orders.url, ...options.paymentsEnv }),
  );
  const ordersDb = new Client({ connectionString: dbs.orders.url });
  await ordersDb.connect();
  const caller = (service: RunningService, audience: string) => subgraphCaller({ url: service.url, audience, key: keys.services.gateway });
  const inventoryGql = caller(inventory, 'inventory');
  const urls = { products: products.url, inventory: inventory.url, payments: payments.url };
  return {
    keys,
    products,
    inventory,
    payments,
    orders,
    gql: caller(orders, 'orders'),
    productsGql: caller(products, 'products'),
    inventoryGql,
    paymentsGql: caller(payments, 'payments'),
    internal: (target) => internalClient(keys, target, urls[target]),
    ordersDb,
    async setStock(productId, onHand) {
      const result = await inventoryGql(SET_STOCK, { productId, onHand }, admin());
      if (result.errors) throw new Error(`setStock failed: ${JSON.stringify(result.errors)}`);
    },
    async close() {
      await ordersDb.end().catch(() => undefined);
      for (const service of [orders, payments, inventory, products]) await service.stop().catch(() => undefined);
      await Promise.all(Object.values(dbs).map((db) => db.drop().catch(() => undefined)));
    },
  };
}

export const MONEY = 'amount currency';
export const CART = `itemCount subtotal { ${MONEY} } items { quantity unitPrice { ${MONEY} } lineTotal { ${MONEY} } product { id } }`;
export const ORDER = `id number status createdAt total { ${MONEY} }
  shippingAddress { name line1 line2 city postalCode country }
  items { sku name quantity unitPrice { ${MONEY} } lineTotal { ${MONEY} } product { id } }
  customer { id }`;

export function errorCode(result: { errors?: { extensions?: Record<string, unknown> }[] }): string | undefined {
  return result.errors?.[0]?.extensions?.code as string | undefined;
}
