import { createHash } from 'node:crypto';
import { waitFor } from '@shop/kit/testing';
import { startCatalogStack, type CatalogStack } from '../testing/catalog-stack';

// The storefront contract's catalog operations, as a client sends them.
const FRAGMENTS = `
fragment MoneyParts on Money { amount currency }
fragment ProductCard on Product {
  id sku slug name
  price { ...MoneyParts }
  imageUrl
  category { id slug name }
  inStock
}`;
const CATEGORIES = `query Categories { categories { id slug name } }`;
const PRODUCT_LIST = `query ProductList($first: Int, $after: String, $filter: ProductFilter, $sort: ProductSort) {
  products(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { ...ProductCard } }
  }
}${FRAGMENTS}`;
const PRODUCT_PAGE = `query ProductPage($slug: String!) {
  product(slug: $slug) { ...ProductCard description inventory { available } }
}${FRAGMENTS}`;
const CREATE_CATEGORY = `mutation CreateCategory($input: CreateCategoryInput!) { createCategory(input: $input) { id slug name } }`;
const CREATE_PRODUCT = `mutation CreateProduct($input: CreateProductInput!) {
  createProduct(input: $input) { id sku slug name price { amount currency } category { slug } }
}`;
const UPDATE_PRODUCT = `mutation UpdateProduct($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { id name description price { amount currency } }
}`;
const ARCHIVE_PRODUCT = `mutation ArchiveProduct($id: ID!) { archiveProduct(id: $id) { id } }`;
const SET_STOCK = `mutation SetStock($productId: ID!, $onHand: Int!) {
  setStock(productId: $productId, onHand: $onHand) { id inStock inventory { onHand reserved available } }
}`;
const ME = `query Me { me { id email } }`;

interface Card {
  id: string;
  slug: string;
  name: string;
  price: { amount: number; currency: string };
  inStock: boolean | null;
}
type PageData = { product: (Card & { inventory: { available: number } | null }) | null };
type ListData = { products: { totalCount: number; edges: { node: Card }[] } };

let counter = 0;
const unique = () => `${process.pid}-${Date.now().toString(36)}-${(counter += 1)}`;

async function createCategory(stack: CatalogStack, slug = `cat-${unique()}`) {
  const result = await stack.gql<{ createCategory: { id: string; slug: string } }>(
    CREATE_CATEGORY,
    { input: { slug, name: `Category ${slug}` } },
    { token: stack.adminToken },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.createCategory;
}

async function createProduct(
  stack: CatalogStack,
  categorySlug: string,
  amount = 1000,
  gateway = 0,
  id = unique(),
) {
  const result = await stack.gql<{ createProduct: { id: string; slug: string } }>(
    CREATE_PRODUCT,
    {
      input: {
        sku: `SKU-${id}`.toUpperCase(),
        slug: `product-${id}`,
        name: `Product ${id}`,
        description: 'Made by the cache test',
        price: { amount, currency: 'USD' },
        categorySlug,
      },
    },
    { token: stack.adminToken, gateway },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.createProduct;
}

async function setStock(stack: CatalogStack, productId: string, onHand: number, gateway = 0) {
  const result = await stack.gql(SET_STOCK, { productId, onHand }, { token: stack.adminToken, gateway });
  expect(result.errors).toBeUndefined();
  return result;
}

/** Runs a query and reports whether products and inventory were called for it. */
async function counted<T>(
  stack: CatalogStack,
  query: string,
  variables: Record<string, unknown> = {},
  options: { token?: string; gateway?: number } = {},
) {
  const products = stack.productsProxy.requests;
  const inventory = stack.inventoryProxy.requests;
  const result = await stack.gql<T>(query, variables, options);
  return {
    ...result,
    subgraphCalls: stack.productsProxy.requests - products + (stack.inventoryProxy.requests - inventory),
  };
}

/** The value of a counter on a gateway's /metrics, by name and one label (0 when absent). */
const metric = async (stack: CatalogStack, name: string, label: string, gateway = 0) => {
  const text = await (await fetch(`${stack.gateways[gateway].url}/metrics`)).text();
  const match = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return match ? Number(match.split(' ').pop()) : 0;
};

describe('response cache (real Redis, users/products/inventory in process, two gateways)', () => {
  let stack: CatalogStack;
  let category: { id: string; slug: string };

  beforeAll(async () => {
    stack = await startCatalogStack({ gatewayCount: 2 });
    category = await createCategory(stack);
  });
  afterAll(() => stack?.stop());

  it('serves the second identical public query from the cache without calling the subgraphs', async () => {
    const product = await createProduct(stack, category.slug);
    await setStock(stack, product.id, 5);
    const first = await counted<PageData>(stack, PRODUCT_PAGE, { slug: product.slug });
    expect(first.errors).toBeUndefined();
    expect(first.data?.product).toMatchObject({ id: product.id, inStock: true, inventory: { available: 5 } });
    expect(first.subgraphCalls).toBeGreaterThan(0);
    expect(first.headers.get('x-cache')).toBe('MISS');
    // inStock/available (maxAge 5) bound the page's life
    expect(first.headers.get('cache-control')).toBe('public, max-age=5');

    const hitsBefore = await metric(stack, 'gateway_cache_requests_total', 'result="hit"');
    const second = await counted<PageData>(stack, PRODUCT_PAGE, { slug: product.slug });
    expect(second.data).toEqual(first.data);
    expect(second.subgraphCalls).toBe(0);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.headers.get('cache-control')).toBe('public, max-age=5');
    expect(await metric(stack, 'gateway_cache_requests_total', 'result="hit"')).toBe(hitsBefore + 1);

    // Categories are public for 60 s
    await counted(stack, CATEGORIES);
    const categories = await counted(stack, CATEGORIES);
    expect(categories.subgraphCalls).toBe(0);
    expect(categories.headers.get('cache-control')).toBe('public, max-age=60');
  });

  it('keys by document and variables, never by caller: a signed-in user gets the public entry', async () => {
    const product = await createProduct(stack, category.slug);
    await counted(stack, PRODUCT_PAGE, { slug: product.slug });
    const token = await stack.customerToken();
    const signedIn = await counted<PageData>(stack, PRODUCT_PAGE, { slug: product.slug }, { token });
    expect(signedIn.subgraphCalls).toBe(0);
    expect(signedIn.data?.product?.id).toBe(product.id);
    // other variables are another entry
    const other = await createProduct(stack, category.slug);
    const otherPage = await counted<PageData>(stack, PRODUCT_PAGE, { slug: other.slug });
    expect(otherPage.data?.product?.id).toBe(other.id);
    expect(otherPage.subgraphCalls).toBeGreaterThan(0);
  });

  it('never serves private data from the cache, nor across users', async () => {
    const alice = await stack.customerToken();
    const bob = await stack.customerToken();
    const mixed = `query Mixed { me { id email } categories { id slug } }`;
    const a1 = await stack.gql<{ me: { id: string; email: string } }>(ME, {}, { token: alice });
    const b1 = await stack.gql<{ me: { id: string; email: string } }>(ME, {}, { token: bob });
    expect(a1.data?.me.id).toBeDefined();
    expect(b1.data?.me.id).not.toBe(a1.data?.me.id);
    for (const [token, expected] of [
      [alice, a1.data!.me],
      [bob, b1.data!.me],
      [alice, a1.data!.me],
    ] as const) {
      const me = await stack.gql<{ me: { id: string } }>(ME, {}, { token });
      expect(me.data?.me).toEqual(expected);
      expect(me.headers.get('cache-control')).toBe('private, no-store');
      expect(me.headers.get('x-cache')).toBeNull();
      // public and private together are private: Bob never gets Alice's me
      const both = await counted<{ me: { id: string } }>(stack, mixed, {}, { token });
      expect(both.data?.me).toEqual(expected);
      expect(both.headers.get('cache-control')).toBe('private, no-store');
      expect(both.subgraphCalls).toBeGreaterThan(0);
    }
    // anonymous me (null) is not cached either
    const anonymous = await stack.gql(ME);
    expect(anonymous.headers.get('cache-control')).toBe('private, no-store');
    expect(await metric(stack, 'gateway_cache_requests_total', 'result="uncacheable"')).toBeGreaterThan(0);
  });

  it('answers mutations with private, no-store and never from the cache', async () => {
    const product = await createProduct(stack, category.slug);
    const first = await setStock(stack, product.id, 3);
    expect(first.headers.get('cache-control')).toBe('private, no-store');
    const again = await counted<{ setStock: { inventory: { onHand: number } } }>(
      stack,
      SET_STOCK,
      { productId: product.id, onHand: 4 },
      { token: stack.adminToken },
    );
    expect(again.data?.setStock.inventory.onHand).toBe(4);
    expect(again.subgraphCalls).toBeGreaterThan(0);
  });

  describe('read-your-writes after each admin mutation, per entity', () => {
    let a: { id: string; slug: string };
    let b: { id: string; slug: string };
    let listCategory: { id: string; slug: string };
    const list = (gateway = 0) =>
      counted<ListData>(
        stack,
        PRODUCT_LIST,
        { first: 50, filter: { categorySlug: listCategory.slug }, sort: 'PRICE_ASC' },
        { gateway },
      );
    const page = (slug: string, gateway = 0) => counted<PageData>(stack, PRODUCT_PAGE, { slug }, { gateway });
    const warm = async <R extends { subgraphCalls: number }>(run: () => Promise<R>) => {
      await run();
      const cached = await run();
      expect(cached.subgraphCalls).toBe(0);
      return cached;
    };

    beforeAll(async () => {
      listCategory = await createCategory(stack);
      a = await createProduct(stack, listCategory.slug, 1000);
      b = await createProduct(stack, listCategory.slug, 2000);
      await setStock(stack, a.id, 10);
      await setStock(stack, b.id, 10);
    });

    it('updateProduct: the new price shows at once on its page and in listings; other products stay cached', async () => {
      await warm(() => page(a.slug));
      await warm(() => page(b.slug));
      await warm(() => list());
      const updated = await stack.gql(
        UPDATE_PRODUCT,
        { id: a.id, input: { price: { amount: 2500, currency: 'USD' } } },
        { token: stack.adminToken },
      );
      expect(updated.errors).toBeUndefined();
      const aPage = await page(a.slug);
      expect(aPage.data?.product?.price.amount).toBe(2500);
      const listed = await list();
      expect(listed.data?.products.edges.map((e) => [e.node.id, e.node.price.amount])).toEqual([
        [b.id, 2000],
        [a.id, 2500],
      ]);
      // per entity: b's page was not invalidated
      const bPage = await page(b.slug);
      expect(bPage.subgraphCalls).toBe(0);
      expect(bPage.headers.get('x-cache')).toBe('HIT');
      expect(await metric(stack, 'gateway_cache_invalidations_total', 'kind="entity"')).toBeGreaterThan(0);
    });

    it('setStock: inStock and available change at once on the page and in listings', async () => {
      await warm(() => page(a.slug));
      await warm(() => list());
      await setStock(stack, a.id, 0);
      const aPage = await page(a.slug);
      expect(aPage.data?.product).toMatchObject({ inStock: false, inventory: { available: 0 } });
      const listed = await list();
      expect(listed.data?.products.edges.find((e) => e.node.id === a.id)?.node.inStock).toBe(false);
      await setStock(stack, a.id, 7);
      expect((await page(a.slug)).data?.product).toMatchObject({
        inStock: true,
        inventory: { available: 7 },
      });
    });

    it('a write whose response is lost (another field failing nulls it) still invalidates what it touched', async () => {
      await warm(() => page(a.slug));
      // Mutations run in order: the first update commits, the second names no product and
      // fails, and its non-null field makes the whole response data null.
      const lost = await stack.gql(
        `mutation Lost($id: ID!, $input: UpdateProductInput!) {
          first: updateProduct(id: $id, input: $input) { id }
          second: updateProduct(id: "00000000-0000-4000-8000-000000000000", input: $input) { id }
        }`,
        { id: a.id, input: { price: { amount: 3100, currency: 'USD' } } },
        { token: stack.adminToken },
      );
      expect(lost.data ?? null).toBeNull();
      expect(lost.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      // The tags derived from its arguments were marked before it was forwarded and after it returned.
      expect((await page(a.slug)).data?.product?.price.amount).toBe(3100);
    });

    it('createProduct: the new product appears in the listing at once; categories stay cached', async () => {
      const id = unique();
      await warm(() => list());
      await warm(() => counted(stack, CATEGORIES));
      // a page looked up before the product exists (null) is cached too
      expect((await warm(() => page(`product-${id}`))).data?.product).toBeNull();
      const c = await createProduct(stack, listCategory.slug, 500, 0, id);
      const listed = await list();
      expect(listed.data?.products.totalCount).toBe(3);
      expect(listed.data?.products.edges[0].node.id).toBe(c.id);
      expect((await page(`product-${id}`)).data?.product?.id).toBe(c.id);
      expect((await counted(stack, CATEGORIES)).subgraphCalls).toBe(0);
    });

    it('archiveProduct: the product leaves its page and the listing at once', async () => {
      await warm(() => page(b.slug));
      await warm(() => list());
      const archived = await stack.gql(ARCHIVE_PRODUCT, { id: b.id }, { token: stack.adminToken });
      expect(archived.errors).toBeUndefined();
      expect((await page(b.slug)).data?.product).toBeNull();
      const listed = await list();
      expect(listed.data?.products.edges.map((e) => e.node.id)).not.toContain(b.id);
      expect(listed.data?.products.totalCount).toBe(2);
    });

    it('createCategory: the new category appears at once', async () => {
      await warm(() => counted(stack, CATEGORIES));
      const created = await createCategory(stack);
      const categories = await counted<{ categories: { slug: string }[] }>(stack, CATEGORIES);
      expect(categories.data?.categories.map((c) => c.slug)).toContain(created.slug);
    });

    it('a write through one gateway is visible through the other within one second', async () => {
      await warm(() => page(a.slug, 1));
      await warm(() => list(1));
      const updated = await stack.gql(
        UPDATE_PRODUCT,
        { id: a.id, input: { name: 'Renamed on gateway 0' } },
        { token: stack.adminToken, gateway: 0 },
      );
      expect(updated.errors).toBeUndefined();
      await waitFor(
        async () => (await page(a.slug, 1)).data?.product?.name === 'Renamed on gateway 0',
        'gateway 1 to show the new name',
        1_000,
      );
      const listed = await list(1);
      expect(listed.data?.products.edges.find((e) => e.node.id === a.id)?.node.name).toBe(
        'Renamed on gateway 0',
      );
      // and gateway 1 caches the new value again
      expect((await page(a.slug, 1)).subgraphCalls).toBe(0);
    });
  });

  describe('automatic persisted queries in Redis, shared by the gateways', () => {
    const persisted = async (gateway: number, query: string | undefined, hash: string) => {
      const response = await fetch(`${stack.gateways[gateway].url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ...(query ? { query } : {}),
          extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
        }),
      });
      return (await response.json()) as {
        data?: { categories?: unknown[] };
        errors?: { extensions?: { code?: string } }[];
      };
    };

    it('registers a query on one gateway and runs it by hash on the other', async () => {
      const query = `query Categories { categories { id slug name } } # apq ${unique()}`;
      const hash = createHash('sha256').update(query).digest('hex');
      const unknown = await persisted(1, undefined, hash);
      expect(unknown.errors?.[0].extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      const registered = await persisted(0, query, hash);
      expect(registered.errors).toBeUndefined();
      const byHash = await persisted(1, undefined, hash);
      expect(byHash.errors).toBeUndefined();
      expect(byHash.data?.categories).toEqual(registered.data?.categories);
    });
  });
});
