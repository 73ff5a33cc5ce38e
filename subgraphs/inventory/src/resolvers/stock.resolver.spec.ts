import { randomUUID } from 'node:crypto';
import { recordStatements, seedProductId } from '@shop/kit';
import { freePort } from '@shop/kit/testing';
import { seedQuantity, seedStock } from '../seed';
import { admin, ANON, codeOf, customer, movementsMismatches, startInventoryHarness, type InventoryHarness } from '../testing/harness';

const SET_STOCK = `mutation($productId: ID!, $onHand: Int!) {
  setStock(productId: $productId, onHand: $onHand) { id inStock inventory { onHand reserved available } }
}`;
const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Product { id inStock inventory { available } } }
}`;
const ADMIN_FIELDS = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Product { id inventory { available onHand reserved } } }
}`;

type Stock = { id: string; inStock: boolean; inventory: { onHand: number | null; reserved: number | null; available: number } };
const refs = (...ids: string[]) => ({ representations: ids.map((id) => ({ __typename: 'Product', id })) });

let h: InventoryHarness;
const ADMIN = admin();

beforeAll(async () => {
  h = await startInventoryHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('setStock', () => {
  it('is for admins only', async () => {
    const id = await h.createProduct();
    expect(codeOf(await h.gql(SET_STOCK, { productId: id, onHand: 5 }, ANON))).toBe('UNAUTHENTICATED');
    expect(codeOf(await h.gql(SET_STOCK, { productId: id, onHand: 5 }, customer()))).toBe('FORBIDDEN');
  });

  it('sets on hand, returns the product with its stock, and records an adjustment', async () => {
    const id = await h.createProduct();
    const first = await h.gql<{ setStock: Stock }>(SET_STOCK, { productId: id, onHand: 7 }, ADMIN);
    expect(first.errors).toBeUndefined();
    expect(first.data!.setStock).toEqual({ id, inStock: true, inventory: { onHand: 7, reserved: 0, available: 7 } });
    const second = await h.gql<{ setStock: Stock }>(SET_STOCK, { productId: id, onHand: 3 }, ADMIN);
    expect(second.data!.setStock.inventory.available).toBe(3);
    const movements = await h.service.dataSource.query(
      `SELECT kind, quantity FROM stock_movements WHERE product_id = $1 ORDER BY created_at`,
      [id],
    );
    expect(movements).toEqual([
      { kind: 'adjustment', quantity: 7 },
      { kind: 'adjustment', quantity: -4 },
    ]);
    // The next read sees it (no cache in inventory).
    const read = await h.gql<{ _entities: Stock[] }>(ENTITIES, refs(id));
    expect(read.data!._entities[0]).toEqual({ id, inStock: true, inventory: { available: 3 } });
  });

  it('refuses negative stock, stock below what is reserved, and ids that are not product ids', async () => {
    const id = await h.createProduct();
    expect(codeOf(await h.gql(SET_STOCK, { productId: id, onHand: -1 }, ADMIN))).toBe('BAD_USER_INPUT');
    expect(codeOf(await h.gql(SET_STOCK, { productId: 'nope', onHand: 1 }, ADMIN))).toBe('BAD_USER_INPUT');
    await h.gql(SET_STOCK, { productId: id, onHand: 5 }, ADMIN);
    await h.internal().call('reservations/reserve', { orderId: `order-${randomUUID()}`, lines: [{ productId: id, quantity: 4 }] });
    const below = await h.gql(SET_STOCK, { productId: id, onHand: 3 }, ADMIN);
    expect(codeOf(below)).toBe('BAD_USER_INPUT');
    expect(below.errors![0].message).toMatch(/4 units currently reserved/);
    const atReserved = await h.gql<{ setStock: Stock }>(SET_STOCK, { productId: id, onHand: 4 }, ADMIN);
    expect(atReserved.data!.setStock).toEqual({ id, inStock: false, inventory: { onHand: 4, reserved: 4, available: 0 } });
  });

  const stockWrites = async (id: string) => ({
    levels: await h.service.dataSource.query(`SELECT 1 FROM stock_levels WHERE product_id = $1`, [id]),
    movements: await h.service.dataSource.query(`SELECT 1 FROM stock_movements WHERE product_id = $1`, [id]),
  });

  it('is NOT_FOUND for a product id the catalog does not know, and creates nothing', async () => {
    const unknown = randomUUID();
    const result = await h.gql(SET_STOCK, { productId: unknown, onHand: 5 }, ADMIN);
    expect(codeOf(result)).toBe('NOT_FOUND');
    expect(result.errors![0].message).toContain(unknown);
    expect(await stockWrites(unknown)).toEqual({ levels: [], movements: [] });
    const read = await h.gql<{ _entities: Stock[] }>(ENTITIES, refs(unknown));
    expect(read.data!._entities[0]).toEqual({ id: unknown, inStock: false, inventory: { available: 0 } });
  });

  it('is NOT_FOUND for an archived product, and leaves its stock as it was', async () => {
    const id = await h.createProduct();
    await h.gql(SET_STOCK, { productId: id, onHand: 6 }, ADMIN);
    await h.archiveProduct(id);
    expect(codeOf(await h.gql(SET_STOCK, { productId: id, onHand: 9 }, ADMIN))).toBe('NOT_FOUND');
    expect(await h.service.dataSource.query(`SELECT on_hand FROM stock_levels WHERE product_id = $1`, [id])).toEqual([{ on_hand: 6 }]);
  });

  it('is SERVICE_UNAVAILABLE, writing nothing, when the catalog cannot answer', async () => {
    const cut = await startInventoryHarness({ PRODUCTS_URL: `http://127.0.0.1:${await freePort()}` });
    try {
      const id = await cut.createProduct(); // exists in its products, which this inventory cannot reach
      const result = await cut.gql(SET_STOCK, { productId: id, onHand: 5 }, ADMIN);
      expect(codeOf(result)).toBe('SERVICE_UNAVAILABLE');
      expect(result.errors![0].extensions!.retryable).toBe(true);
      expect(await cut.service.dataSource.query(`SELECT 1 FROM stock_levels`)).toEqual([]);
    } finally {
      await cut.close();
    }
  });
});

describe('stock fields on Product', () => {
  it('gives products without a stock row zero stock', async () => {
    const id = randomUUID();
    const res = await h.gql<{ _entities: Stock[] }>(ENTITIES, refs(id));
    expect(res.data!._entities[0]).toEqual({ id, inStock: false, inventory: { available: 0 } });
  });

  it('shows inStock and available to anyone, onHand and reserved to admins only', async () => {
    const id = await h.createProduct();
    await h.gql(SET_STOCK, { productId: id, onHand: 9 }, ADMIN);

    const anon = await h.gql<{ _entities: Stock[] }>(ADMIN_FIELDS, refs(id), ANON);
    expect(anon.data!._entities[0].inventory).toEqual({ available: 9, onHand: null, reserved: null });
    expect(anon.errors!.map((e) => e.extensions!.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);

    const user = await h.gql<{ _entities: Stock[] }>(ADMIN_FIELDS, refs(id), customer());
    expect(user.data!._entities[0].inventory).toEqual({ available: 9, onHand: null, reserved: null });
    expect(user.errors!.map((e) => e.extensions!.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']);

    const boss = await h.gql<{ _entities: Stock[] }>(ADMIN_FIELDS, refs(id), ADMIN);
    expect(boss.errors).toBeUndefined();
    expect(boss.data!._entities[0].inventory).toEqual({ available: 9, onHand: 9, reserved: 0 });

    const publicOnly = await h.gql<{ _entities: Stock[] }>(ENTITIES, refs(id), ANON);
    expect(publicOnly.errors).toBeUndefined();
  });

  it('loads the stock of many products with one query', async () => {
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const sql = recordStatements(h.service.dataSource);
    try {
      const res = await h.gql<{ _entities: Stock[] }>(ENTITIES, refs(...ids));
      expect(res.data!._entities).toHaveLength(20);
      expect(sql.statements.filter((q) => /FROM stock_levels/.test(q))).toHaveLength(1);
    } finally {
      sql.stop();
    }
  });
});

describe('seed', () => {
  it('creates stock for the catalog seed ids, deterministically and once', async () => {
    // The same golden id the products seed test pins: product 1 of the development catalog.
    expect(seedProductId(1)).toBe('8cfd09df-6d61-5e65-b2ed-9e398018944d');
    const lines: string[] = [];
    expect((await seedStock(h.service.dataSource, { products: 25, log: (l) => lines.push(l) })).inserted).toBe(25);
    expect(lines.at(-1)).toMatch(/25\/25/);
    expect((await seedStock(h.service.dataSource, { products: 25 })).inserted).toBe(0);
    const res = await h.gql<{ _entities: Stock[] }>(ENTITIES, refs(seedProductId(3), seedProductId(10)));
    expect(res.data!._entities.map((p) => p.inventory.available)).toEqual([seedQuantity(3), 0]);
    expect(res.data!._entities[1].inStock).toBe(false);
    expect(await movementsMismatches(h.service)).toEqual([]);
  });
});
