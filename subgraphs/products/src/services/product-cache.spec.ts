import Redis from 'ioredis';
import { TestRedisServer, waitFor } from '@shop/kit/testing';
import { admin, startProductsHarness, type ProductsHarness } from '../testing/harness';

/** Redis is only an accelerator: with it gone, the catalog still answers, and correctly. */
let redis: TestRedisServer;
let h: ProductsHarness;
const ADMIN = admin();
const BY_ID = `query($id: ID!) { product(id: $id) { id name } }`;
const LIST = `{ products(first: 5) { totalCount } }`;

beforeAll(async () => {
  redis = await TestRedisServer.start();
  h = await startProductsHarness({ REDIS_URL: redis.url });
  await h.gql(`mutation { createCategory(input: { slug: "misc", name: "Misc" }) { id } }`, {}, ADMIN);
});
afterAll(async () => {
  await h?.close();
  await redis?.stop();
});

it('serves reads and writes while Redis is down, and uses it again when it is back', async () => {
  const created = await h.gql<{ createProduct: { id: string } }>(
    `mutation { createProduct(input: { sku: "R-1", slug: "r-1", name: "Resilient", description: "d",
      price: { amount: 100, currency: "USD" }, categorySlug: "misc" }) { id } }`,
    {},
    ADMIN,
  );
  const id = created.data!.createProduct.id;
  expect((await h.gql<{ product: { name: string } }>(BY_ID, { id })).data!.product.name).toBe('Resilient');
  expect((await h.gql<{ products: { totalCount: number } }>(LIST)).data!.products.totalCount).toBe(1);

  await redis.stop();
  const renamed = await h.gql(`mutation($id: ID!) { updateProduct(id: $id, input: { name: "Still Here" }) { name } }`, { id }, ADMIN);
  expect(renamed.errors).toBeUndefined();
  const read = await h.gql<{ product: { name: string } }>(BY_ID, { id });
  expect(read.errors).toBeUndefined();
  expect(read.data!.product.name).toBe('Still Here');
  expect((await h.gql<{ products: { totalCount: number } }>(LIST)).data!.products.totalCount).toBe(1);
  const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
  expect(metrics).toMatch(/store_errors_total\{operation="products_cache"[^}]*\} [1-9]/);

  await redis.start();
  const hits = async () =>
    Number((await (await fetch(`${h.service.url}/metrics`)).text()).match(/kind="product",result="hit"[^}]*\} (\d+)/)?.[1] ?? '0');
  const before = await hits();
  await waitFor(async () => {
    const res = await h.gql<{ product: { name: string } }>(BY_ID, { id });
    expect(res.data!.product.name).toBe('Still Here');
    return (await hits()) > before;
  }, 'the product cache to serve again once Redis is back');
});

it('does not serve a price changed while the store refused writes from the old cache once it takes them again', async () => {
  const PRICE = `query($id: ID!) { product(id: $id) { price { amount } } }`;
  const created = await h.gql<{ createProduct: { id: string } }>(
    `mutation { createProduct(input: { sku: "R-2", slug: "r-2", name: "Repriced", description: "d",
      price: { amount: 500, currency: "USD" }, categorySlug: "misc" }) { id } }`,
    {},
    ADMIN,
  );
  const id = created.data!.createProduct.id;
  const price = async () => (await h.gql<{ product: { price: { amount: number } } }>(PRICE, { id })).data!.product.price.amount;
  const pending = async () => (await h.service.dataSource.query('SELECT count(*)::int AS n FROM cache_invalidations'))[0].n;
  expect(await price()).toBe(500); // now cached under the current catalog version

  // The store keeps its data and answers reads but refuses every SET, so the write's cache
  // bump fails (a blip that loses one command would do the same).
  const admin = new Redis(redis.url);
  try {
    await admin.acl('SETUSER', 'default', '-set');
    const repriced = await h.gql(`mutation($id: ID!) { updateProduct(id: $id, input: { price: { amount: 450, currency: "USD" } }) { id } }`, { id }, ADMIN);
    expect(repriced.errors).toBeUndefined();
    expect(await pending()).toBe(1);
    await admin.acl('SETUSER', 'default', '+set');
  } finally {
    admin.disconnect();
  }

  // The outbox bumps the version once the store takes writes: the old cached row is never read again.
  await waitFor(async () => (await price()) === 450, 'the new price once the store takes writes again', 20_000);
  await waitFor(async () => (await pending()) === 0, 'the outbox to empty');
});
