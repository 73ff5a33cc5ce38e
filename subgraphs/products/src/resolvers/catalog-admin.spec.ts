import { AppError } from '@shop/kit';
import { recordStatements, seedProductId } from '@shop/kit';
import { subgraphCaller, TEST_REDIS_URL } from '@shop/kit/testing';
import { startProducts } from '../index';
import { seedCatalog } from '../seed';
import { admin, ANON, codeOf, customer, startProductsHarness, type ProductsHarness } from '../testing/harness';

const CREATE_CATEGORY = `mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id slug name } }`;
const CREATE = `mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id sku slug name description price { amount currency } imageUrl category { slug } archived }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { id name description price { amount currency } imageUrl category { slug } }
}`;
const ARCHIVE = `mutation($id: ID!) { archiveProduct(id: $id) { id archived } }`;
const BY_ID = `query($id: ID!) { product(id: $id) { id name price { amount } category { slug } } }`;
const BY_SLUG = `query($slug: String!) { product(slug: $slug) { id name } }`;
const LIST = `query($filter: ProductFilter) { products(first: 100, filter: $filter) { totalCount edges { node { id name } } } }`;
const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Product { id sku name archived category { slug } } }
}`;

type Product = { id: string; sku: string; slug: string; name: string; price: { amount: number; currency: string } };

let h: ProductsHarness;
const ADMIN = admin();
let counter = 0;
const productInput = (over: Record<string, unknown> = {}) => {
  counter += 1;
  return {
    sku: `TEST-${counter}`,
    slug: `test-product-${counter}`,
    name: `Test Product ${counter}`,
    description: 'A product made in a test',
    price: { amount: 1999, currency: 'USD' },
    categorySlug: 'gear',
    ...over,
  };
};
const create = async (over: Record<string, unknown> = {}) => {
  const res = await h.gql<{ createProduct: Product }>(CREATE, { input: productInput(over) }, ADMIN);
  expect(res.errors).toBeUndefined();
  return res.data!.createProduct;
};

beforeAll(async () => {
  h = await startProductsHarness();
  const res = await h.gql(CREATE_CATEGORY, { input: { slug: 'gear', name: 'Gear' } }, ADMIN);
  expect(res.errors).toBeUndefined();
  await h.gql(CREATE_CATEGORY, { input: { slug: 'other', name: 'Other' } }, ADMIN);
});
afterAll(async () => {
  await h?.close();
});

describe('authorization', () => {
  it.each([
    ['createCategory', CREATE_CATEGORY, () => ({ input: { slug: 'x-cat', name: 'X' } })],
    ['createProduct', CREATE, () => ({ input: productInput() })],
    ['updateProduct', UPDATE, () => ({ id: seedProductId(1), input: { name: 'x' } })],
    ['archiveProduct', ARCHIVE, () => ({ id: seedProductId(1) })],
  ])('%s: anonymous UNAUTHENTICATED, customer FORBIDDEN', async (_name, doc, vars) => {
    expect(codeOf(await h.gql(doc, vars(), ANON))).toBe('UNAUTHENTICATED');
    expect(codeOf(await h.gql(doc, vars(), customer()))).toBe('FORBIDDEN');
  });

  it('lets an admin create a product in a category', async () => {
    const product = await create({ imageUrl: 'https://img.example.com/a.png' });
    expect(product).toMatchObject({ price: { amount: 1999, currency: 'USD' }, category: { slug: 'gear' }, archived: false });
  });
});

describe('validation', () => {
  it.each([
    ['negative price', { price: { amount: -1, currency: 'USD' } }],
    ['another currency', { price: { amount: 100, currency: 'EUR' } }],
    ['unknown category', { categorySlug: 'nope' }],
    ['bad sku', { sku: 'has space' }],
    ['bad slug', { slug: 'Not A Slug' }],
    ['empty name', { name: '   ' }],
    ['bad image url', { imageUrl: 'javascript:alert(1)' }],
  ])('createProduct refuses %s with BAD_USER_INPUT', async (_name, over) => {
    expect(codeOf(await h.gql(CREATE, { input: productInput(over) }, ADMIN))).toBe('BAD_USER_INPUT');
  });

  it('createCategory refuses a bad slug and an empty name', async () => {
    expect(codeOf(await h.gql(CREATE_CATEGORY, { input: { slug: 'Bad Slug', name: 'x' } }, ADMIN))).toBe('BAD_USER_INPUT');
    expect(codeOf(await h.gql(CREATE_CATEGORY, { input: { slug: 'fine', name: '' } }, ADMIN))).toBe('BAD_USER_INPUT');
  });

  it('updateProduct refuses a negative price or another currency', async () => {
    const product = await create();
    expect(codeOf(await h.gql(UPDATE, { id: product.id, input: { price: { amount: -5, currency: 'USD' } } }, ADMIN))).toBe('BAD_USER_INPUT');
    expect(codeOf(await h.gql(UPDATE, { id: product.id, input: { price: { amount: 5, currency: 'GBP' } } }, ADMIN))).toBe('BAD_USER_INPUT');
  });
});

describe('conflicts', () => {
  it('refuses a taken sku, slug or category slug with CONFLICT', async () => {
    const product = await create();
    expect(codeOf(await h.gql(CREATE, { input: productInput({ sku: product.sku }) }, ADMIN))).toBe('CONFLICT');
    expect(codeOf(await h.gql(CREATE, { input: productInput({ slug: product.slug }) }, ADMIN))).toBe('CONFLICT');
    expect(codeOf(await h.gql(CREATE_CATEGORY, { input: { slug: 'gear', name: 'Again' } }, ADMIN))).toBe('CONFLICT');
  });

  it('lets exactly one of many concurrent creates with the same sku win', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h.gql(CREATE, { input: productInput({ sku: 'RACE-1', slug: `race-${i}` }) }, ADMIN)),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => codeOf(r) === 'CONFLICT')).toHaveLength(7);
  });
});

describe('read-your-writes with the store cache on', () => {
  it('shows an update on the very next read', async () => {
    const product = await create({ name: 'Before Name' });
    // Warm every cache: by id, by slug, the listing count.
    expect((await h.gql<{ product: Product }>(BY_ID, { id: product.id })).data!.product.name).toBe('Before Name');
    expect((await h.gql<{ product: Product }>(BY_SLUG, { slug: product.slug })).data!.product.name).toBe('Before Name');
    await h.gql(BY_ID, { id: product.id });
    const updated = await h.gql<{ updateProduct: Product & { category: { slug: string } } }>(
      UPDATE,
      { id: product.id, input: { name: 'After Name', price: { amount: 2500, currency: 'USD' }, categorySlug: 'other' } },
      ADMIN,
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateProduct).toMatchObject({ name: 'After Name', description: 'A product made in a test', category: { slug: 'other' } });
    const after = await h.gql<{ product: Product & { category: { slug: string } } }>(BY_ID, { id: product.id });
    expect(after.data!.product).toMatchObject({ name: 'After Name', price: { amount: 2500 }, category: { slug: 'other' } });
    expect((await h.gql<{ product: Product }>(BY_SLUG, { slug: product.slug })).data!.product.name).toBe('After Name');
    const search = await h.gql<{ products: { totalCount: number } }>(LIST, { filter: { search: 'after name' } });
    expect(search.data!.products.totalCount).toBe(1);
  });

  it('reads a listing page once per catalog version: a repeat sends no SQL, a write shows on the very next read', async () => {
    const PAGE = `query { products(first: 5) { totalCount edges { node { id name category { slug } } } } }`;
    type Page = { products: { totalCount: number; edges: { node: { id: string; name: string } }[] } };
    await create();
    await h.gql(PAGE);
    const sql = recordStatements(h.service.dataSource);
    let repeat;
    try {
      repeat = await h.gql<Page>(PAGE);
      expect(repeat.errors).toBeUndefined();
      // Page, count and categories all from the memory layer of this catalog version.
      expect(sql.statements).toEqual([]);
    } finally {
      sql.stop();
    }
    const newest = await create({ name: 'Newest In The Listing' });
    const after = await h.gql<Page>(PAGE);
    expect(after.data!.products.edges[0].node).toEqual({ id: newest.id, name: 'Newest In The Listing', category: { slug: 'gear' } });
    expect(after.data!.products.totalCount).toBe(repeat.data!.products.totalCount + 1);
  });

  it('shows a write made through another replica on the very next read of this one (lists, ids, slugs)', async () => {
    const PAGE = `query { products(first: 5) { edges { node { id name } } } }`;
    const other = await startProducts({
      ...h.keys.envFor('products'),
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: h.db.url,
      REDIS_URL: TEST_REDIS_URL,
      PRODUCTS_CACHE_PREFIX: h.prefix,
      SHUTDOWN_GRACE_MS: '2000',
    });
    try {
      const otherGql = subgraphCaller({ url: other.url, audience: 'products', key: h.keys.services.gateway });
      const product = await create({ name: 'Seen By Both' });
      // Both replicas remember the page, the product and its slug.
      for (const gql of [h.gql, otherGql]) {
        expect((await gql<{ products: { edges: { node: { name: string } }[] } }>(PAGE)).data!.products.edges[0].node.name).toBe('Seen By Both');
        expect((await gql<{ product: { name: string } }>(BY_ID, { id: product.id })).data!.product.name).toBe('Seen By Both');
        expect((await gql<{ product: { name: string } }>(BY_SLUG, { slug: product.slug })).data!.product.name).toBe('Seen By Both');
      }
      const renamed = await otherGql(UPDATE, { id: product.id, input: { name: 'Renamed Elsewhere' } }, ADMIN);
      expect(renamed.errors).toBeUndefined();
      expect((await h.gql<{ products: { edges: { node: { name: string } }[] } }>(PAGE)).data!.products.edges[0].node.name).toBe('Renamed Elsewhere');
      expect((await h.gql<{ product: { name: string } }>(BY_ID, { id: product.id })).data!.product.name).toBe('Renamed Elsewhere');
      expect((await h.gql<{ product: { name: string } }>(BY_SLUG, { slug: product.slug })).data!.product.name).toBe('Renamed Elsewhere');
    } finally {
      await other.stop();
    }
  });

  it('archiving hides a product from listings and lookups, but entity resolution still finds it', async () => {
    const product = await create({ name: 'Soon Archived' });
    const before = await h.gql<{ products: { totalCount: number; edges: { node: { id: string } }[] } }>(LIST);
    expect(before.data!.products.edges.map((e) => e.node.id)).toContain(product.id);
    await h.gql(BY_SLUG, { slug: product.slug });
    const archived = await h.gql<{ archiveProduct: { archived: boolean } }>(ARCHIVE, { id: product.id }, ADMIN);
    expect(archived.data!.archiveProduct.archived).toBe(true);

    const after = await h.gql<{ products: { totalCount: number; edges: { node: { id: string } }[] } }>(LIST);
    expect(after.data!.products.edges.map((e) => e.node.id)).not.toContain(product.id);
    expect(after.data!.products.totalCount).toBe(before.data!.products.totalCount - 1);
    expect((await h.gql(BY_ID, { id: product.id })).data!.product).toBeNull();
    expect((await h.gql(BY_SLUG, { slug: product.slug })).data!.product).toBeNull();

    const entities = await h.gql<{ _entities: { id: string; archived: boolean; category: { slug: string } }[] }>(ENTITIES, {
      representations: [{ __typename: 'Product', id: product.id }],
    });
    expect(entities.data!._entities[0]).toMatchObject({ id: product.id, archived: true, category: { slug: 'gear' } });

    expect(codeOf(await h.gql(UPDATE, { id: product.id, input: { name: 'x' } }, ADMIN))).toBe('NOT_FOUND');
    expect(codeOf(await h.gql(ARCHIVE, { id: product.id }, ADMIN))).toBe('NOT_FOUND');
  });

  it('answers NOT_FOUND for unknown ids', async () => {
    expect(codeOf(await h.gql(UPDATE, { id: '00000000-0000-4000-8000-000000000001', input: { name: 'x' } }, ADMIN))).toBe('NOT_FOUND');
    expect(codeOf(await h.gql(ARCHIVE, { id: 'not-a-uuid' }, ADMIN))).toBe('NOT_FOUND');
  });

  it('counts cache hits and misses in /metrics', async () => {
    const product = await create();
    await h.gql(BY_ID, { id: product.id });
    await h.gql(BY_ID, { id: product.id });
    const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(metrics).toMatch(/products_cache_requests_total\{kind="product",result="hit"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/products_cache_requests_total\{kind="product",result="miss"[^}]*\} [1-9]/);
  });
});

describe('entity resolution and the internal lookup', () => {
  beforeAll(async () => {
    await seedCatalog(h.service.dataSource, { products: 30 });
    await h.service.cache.bumpVersion();
  });

  it('resolves many references with one SQL query for products and one for categories', async () => {
    await h.service.cache.bumpVersion(); // cold cache
    const ids = Array.from({ length: 25 }, (_, i) => seedProductId(i + 1));
    const sql = recordStatements(h.service.dataSource);
    try {
      const res = await h.gql<{ _entities: { id: string; sku: string; category: { slug: string } }[] }>(ENTITIES, {
        representations: [...ids.map((id) => ({ __typename: 'Product', id })), { __typename: 'Product', id: '00000000-0000-4000-8000-000000000002' }],
      });
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities.slice(0, 25).map((p) => p.id)).toEqual(ids);
      expect(res.data!._entities[25]).toBeNull();
      expect(sql.statements.filter((q) => /FROM products/.test(q))).toHaveLength(1);
      expect(sql.statements.filter((q) => /FROM categories/.test(q))).toHaveLength(1);
    } finally {
      sql.stop();
    }
  });

  it('serves a warm cache without touching the products table', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => ({ __typename: 'Product', id: seedProductId(i + 1) }));
    await h.gql(ENTITIES, { representations: ids });
    const sql = recordStatements(h.service.dataSource);
    try {
      await h.gql(ENTITIES, { representations: ids });
      expect(sql.statements.filter((q) => /FROM products/.test(q))).toHaveLength(0);
    } finally {
      sql.stop();
    }
  });

  it('products/lookup returns known products (archived included) to orders', async () => {
    const live = await create();
    const gone = await create();
    await h.gql(ARCHIVE, { id: gone.id }, ADMIN);
    const result = await h.internal('orders').call<{ products: Record<string, unknown>[] }>('products/lookup', {
      ids: [live.id, gone.id, '00000000-0000-4000-8000-000000000003', 'junk'],
    });
    expect(result.products).toHaveLength(2);
    expect(result.products).toEqual(
      expect.arrayContaining([
        { id: live.id, sku: live.sku, name: live.name, slug: live.slug, price: { amount: 1999, currency: 'USD' }, archived: false },
        expect.objectContaining({ id: gone.id, archived: true }),
      ]),
    );
  });

  it('products/lookup refuses other callers and calls without a service token', async () => {
    await expect(h.internal('gateway').call('products/lookup', { ids: [] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const bare = await fetch(`${h.service.url}/internal/products/lookup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [] }),
    });
    expect(bare.status).toBe(401);
    await expect(h.internal('orders').call('products/lookup', { ids: 'nope' })).rejects.toBeInstanceOf(AppError);
  });

  it('internal routes refuse malformed text (NUL) as BAD_USER_INPUT, as GraphQL does', async () => {
    await expect(h.internal('orders').call('products/lookup', { ids: ['\u0000'] })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'Argument ids.0 must not contain a NUL character',
    });
  });
});

describe('seed', () => {
  it('is deterministic and idempotent', async () => {
    // Golden value: inventory's seed derives the same id for product 1.
    expect(seedProductId(1)).toBe(GOLDEN_SEED_ID_1);
    const again = await seedCatalog(h.service.dataSource, { products: 30 });
    expect(again.inserted).toBe(0);
    const [{ n }] = await h.service.dataSource.query(`SELECT count(*)::int AS n FROM products WHERE sku LIKE 'SEED-%'`);
    expect(n).toBe(30);
    const lines: string[] = [];
    const more = await seedCatalog(h.service.dataSource, { products: 40, log: (line) => lines.push(line) });
    expect(more.inserted).toBe(10);
    expect(lines.join('\n')).toMatch(/40\/40/);
    const [{ c }] = await h.service.dataSource.query(`SELECT count(DISTINCT category_id)::int AS c FROM products WHERE sku LIKE 'SEED-%'`);
    expect(c).toBe(6);
  });
});

const GOLDEN_SEED_ID_1 = '8cfd09df-6d61-5e65-b2ed-9e398018944d';
