import { randomUUID } from 'node:crypto';
import { ServiceClient, TokenSigner, type Identity } from '@shop/kit';
import {
  createTestDatabase,
  createTestKeys,
  subgraphCaller,
  type TestDatabase,
  type TestKeys,
} from '@shop/kit/testing';
import { startProductsHarness, type ProductsHarness } from '../../../products/src/testing/harness';
import { startInventory, type InventoryService } from '../index';

export const ANON: Identity = { userId: null, role: null, sessionId: null };
export const admin = (): Identity => ({ userId: randomUUID(), role: 'ADMIN', sessionId: randomUUID() });
export const customer = (): Identity => ({ userId: randomUUID(), role: 'CUSTOMER', sessionId: randomUUID() });

export interface InventoryHarness {
  service: InventoryService;
  db: TestDatabase;
  keys: TestKeys;
  /** The real products subgraph inventory asks whether a product exists. */
  products: ProductsHarness;
  gql: ReturnType<typeof subgraphCaller>;
  internal(caller?: string): ServiceClient;
  /** A new product in the catalog (its id), for stock of its own. */
  createProduct(): Promise<string>;
  archiveProduct(id: string): Promise<void>;
  close(): Promise<void>;
}

const CREATE_CATEGORY = `mutation($input: CreateCategoryInput!) { createCategory(input: $input) { slug } }`;
const CREATE_PRODUCT = `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`;
const ARCHIVE_PRODUCT = `mutation($id: ID!) { archiveProduct(id: $id) { id } }`;

/** The inventory subgraph on a throwaway database and port 0 (it uses no store), beside a real products subgraph. */
export async function startInventoryHarness(env: Record<string, string> = {}): Promise<InventoryHarness> {
  const keys = createTestKeys();
  const products = await startProductsHarness(keys.envFor('products'));
  const db = await createTestDatabase('inventory').catch(async (error) => {
    await products.close();
    throw error;
  });
  const service = await startInventory({
    ...keys.envFor('inventory'),
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    DATABASE_POOL_MAX: '10',
    SHUTDOWN_GRACE_MS: '2000',
    PRODUCTS_URL: products.service.url,
    ...env,
  }).catch(async (error) => {
    await db.drop();
    await products.close();
    throw error;
  });
  const productsAdmin = admin();
  // Signed with this keyring's gateway key, the one products was started to trust.
  const productsGql = subgraphCaller({
    url: products.service.url,
    audience: 'products',
    key: keys.services.gateway,
  });
  const category = `inv-${randomUUID().slice(0, 8)}`;
  let categoryCreated: Promise<unknown> | undefined;
  const checked = <T>(what: string, result: { data?: T | null; errors?: unknown[] }): T => {
    if (result.errors || !result.data) throw new Error(`${what} failed: ${JSON.stringify(result.errors)}`);
    return result.data;
  };
  return {
    service,
    db,
    keys,
    products,
    gql: subgraphCaller({ url: service.url, audience: 'inventory', key: keys.services.gateway }),
    async createProduct() {
      categoryCreated ??= productsGql(
        CREATE_CATEGORY,
        { input: { slug: category, name: 'Inventory tests' } },
        productsAdmin,
      ).then((r) => checked('createCategory', r));
      await categoryCreated;
      const n = randomUUID().slice(0, 8);
      const input = {
        sku: `${category}-${n}`,
        slug: `${category}-${n}`,
        name: `Stocked ${n}`,
        description: 'A product inventory keeps stock for',
        price: { amount: 1000, currency: 'USD' },
        categorySlug: category,
      };
      return checked(
        'createProduct',
        await productsGql<{ createProduct: { id: string } }>(CREATE_PRODUCT, { input }, productsAdmin),
      ).createProduct.id;
    },
    async archiveProduct(id) {
      checked('archiveProduct', await productsGql(ARCHIVE_PRODUCT, { id }, productsAdmin));
    },
    internal(caller = 'orders') {
      const key = keys.services[caller];
      return new ServiceClient({
        caller,
        target: 'inventory',
        baseUrl: service.url,
        signer: new TokenSigner(key.privateKey, key.kid),
        tokenTtlSeconds: 30,
        timeoutMs: 15_000,
      });
    },
    async close() {
      await service.stop();
      await db.drop();
      await products.close();
    },
  };
}

export const codeOf = (response: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  response.errors?.[0]?.extensions?.code;

/**
 * The audit invariant: replaying every product's movements gives its stock row exactly.
 * on_hand = adjustments + restocks - sales; reserved = reservations - releases - expiries - sales.
 */
export async function movementsMismatches(service: InventoryService): Promise<unknown[]> {
  return service.dataSource.query(`
    SELECT s.product_id, s.on_hand, s.reserved, m.on_hand AS replay_on_hand, m.reserved AS replay_reserved
    FROM stock_levels s
    LEFT JOIN (
      SELECT product_id,
        sum(CASE kind WHEN 'adjustment' THEN quantity WHEN 'restock' THEN quantity WHEN 'sale' THEN -quantity ELSE 0 END)::int AS on_hand,
        sum(CASE kind WHEN 'reservation' THEN quantity WHEN 'release' THEN -quantity WHEN 'expiry' THEN -quantity
                      WHEN 'sale' THEN -quantity ELSE 0 END)::int AS reserved
      FROM stock_movements GROUP BY product_id
    ) m ON m.product_id = s.product_id
    WHERE s.on_hand <> coalesce(m.on_hand, 0) OR s.reserved <> coalesce(m.reserved, 0)`);
}
