import { createHash } from 'node:crypto';
import { uuidV5 } from '@shop/kit';
import { codeOf, startProductsHarness, type ProductsHarness } from '../testing/harness';

/**
 * Listing, paging, search and filters against real Postgres. Fixtures are inserted with SQL so
 * that many products share a price, a name and a creation time: ties the cursors must break.
 */
const LIST = `query List($first: Int, $after: String, $filter: ProductFilter, $sort: ProductSort) {
  products(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name slug price { amount currency } createdAt category { slug } } }
  }
}`;

interface Node {
  id: string;
  name: string;
  slug: string;
  price: { amount: number; currency: string };
  createdAt: string;
  category: { slug: string };
}
interface ListData {
  products: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { cursor: string; node: Node }[] };
}

interface Fixture {
  id: string;
  name: string;
  description: string;
  price: number;
  createdAt: string;
  category: string;
}

const NAMES = ['Alpha Widget', 'Beta Widget', 'Gamma Gadget'];
const PRICES = [1000, 2500, 2500, 4000];
const TIMES = ['2025-03-01T10:00:00.000Z', '2025-03-01T10:00:00.000Z', '2025-02-01T08:30:00.123Z'];

const fixtures: Fixture[] = Array.from({ length: 36 }, (_, i) => ({
  id: uuidV5(`fixture-${i}`),
  name: NAMES[i % 3],
  description: i % 2 === 0 ? 'Sturdy steel construction' : 'Soft cotton finish',
  price: PRICES[i % 4],
  createdAt: TIMES[(i * 7) % 3],
  category: i % 2 === 0 ? 'tools' : 'textiles',
}));
// Search fixtures: stemming, every-word matching and markup/SQL-looking text.
const searchFixtures: Fixture[] = [
  { name: 'Run Shoe Elite', description: 'A lightweight trainer for daily miles', price: 8900, category: 'tools' },
  { name: 'Running Shorts', description: 'Breathable shorts', price: 3000, category: 'textiles' },
  { name: 'Walking Boots', description: 'Waterproof boots for long walks', price: 12000, category: 'tools' },
  { name: 'Script Tag Poster', description: 'Poster reading <script>alert(1)</script> and DROP TABLE', price: 500, category: 'textiles' },
].map((f, i) => ({ ...f, id: uuidV5(`search-${i}`), createdAt: '2024-12-31T00:00:00.000Z' }));

const all = [...fixtures, ...searchFixtures];

const cmp = (a: unknown, b: unknown) => (a! < b! ? -1 : a! > b! ? 1 : 0);
const ORDER: Record<string, (a: Fixture, b: Fixture) => number> = {
  NEWEST: (a, b) => cmp(b.createdAt, a.createdAt) || cmp(b.id, a.id),
  PRICE_ASC: (a, b) => a.price - b.price || cmp(a.id, b.id),
  PRICE_DESC: (a, b) => b.price - a.price || cmp(b.id, a.id),
  NAME_ASC: (a, b) => cmp(a.name, b.name) || cmp(a.id, b.id),
};

let h: ProductsHarness;

beforeAll(async () => {
  h = await startProductsHarness();
  const ds = h.service.dataSource;
  for (const slug of ['tools', 'textiles'])
    await ds.query(`INSERT INTO categories (id, slug, name) VALUES ($1, $2, $3)`, [uuidV5(`cat-${slug}`), slug, slug.toUpperCase()]);
  for (const f of all) {
    const slug = `${f.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${createHash('sha1').update(f.id).digest('hex').slice(0, 8)}`;
    await ds.query(
      `INSERT INTO products (id, sku, slug, name, description, price_amount, price_currency, category_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'USD', $7, $8)`,
      [f.id, `SKU-${f.id.slice(0, 8)}`, slug, f.name, f.description, f.price, uuidV5(`cat-${f.category}`), f.createdAt],
    );
  }
});
afterAll(async () => {
  await h?.close();
});

async function walk(variables: Record<string, unknown>, first: number) {
  const ids: string[] = [];
  let after: string | null = null;
  let totalCount = -1;
  for (let page = 0; page < 100; page++) {
    const res: Awaited<ReturnType<typeof h.gql<ListData>>> = await h.gql<ListData>(LIST, { ...variables, first, after });
    expect(res.errors).toBeUndefined();
    const { edges, pageInfo } = res.data!.products;
    totalCount = res.data!.products.totalCount;
    ids.push(...edges.map((e) => e.node.id));
    expect(edges.length).toBeLessThanOrEqual(first);
    if (!pageInfo.hasNextPage) break;
    expect(pageInfo.endCursor).toBe(edges.at(-1)!.cursor);
    after = pageInfo.endCursor;
  }
  return { ids, totalCount };
}

describe('paging', () => {
  it.each(['NEWEST', 'PRICE_ASC', 'PRICE_DESC', 'NAME_ASC'])('walks every product once, in order, under %s', async (sort) => {
    const { ids, totalCount } = await walk({ sort }, 7);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...all].sort(ORDER[sort]).map((f) => f.id));
    expect(totalCount).toBe(all.length);
  });

  it('defaults to 20 newest first', async () => {
    const res = await h.gql<ListData>(LIST);
    expect(res.data!.products.edges.map((e) => e.node.id)).toEqual([...all].sort(ORDER.NEWEST).slice(0, 20).map((f) => f.id));
    expect(res.data!.products.pageInfo.hasNextPage).toBe(true);
    expect(res.data!.products.edges[0].node.price.currency).toBe('USD');
  });

  it('accepts first 0 and 100, refuses -1 and 101', async () => {
    const zero = await h.gql<ListData>(LIST, { first: 0 });
    expect(zero.data!.products.edges).toEqual([]);
    expect(zero.data!.products.totalCount).toBe(all.length);
    const hundred = await h.gql<ListData>(LIST, { first: 100 });
    expect(hundred.data!.products.edges).toHaveLength(all.length);
    expect(hundred.data!.products.pageInfo.hasNextPage).toBe(false);
    expect(codeOf(await h.gql(LIST, { first: -1 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await h.gql(LIST, { first: 101 }))).toBe('BAD_USER_INPUT');
  });

  it('refuses cursors that do not decode or belong to another sort', async () => {
    expect(codeOf(await h.gql(LIST, { after: 'not a cursor' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await h.gql(LIST, { after: Buffer.from('["NEWEST",1,"x"]').toString('base64url') }))).toBe('BAD_USER_INPUT');
    const page = await h.gql<ListData>(LIST, { first: 2, sort: 'PRICE_ASC' });
    const cursor = page.data!.products.pageInfo.endCursor;
    expect(codeOf(await h.gql(LIST, { first: 2, after: cursor, sort: 'NAME_ASC' }))).toBe('BAD_USER_INPUT');
  });
});

describe('search and filters', () => {
  const search = async (text: string) => {
    const res = await h.gql<ListData>(LIST, { first: 100, filter: { search: text } });
    expect(res.errors).toBeUndefined();
    return res.data!.products;
  };

  it('stems English words and needs every word to match', async () => {
    const shoes = await search('running shoes');
    expect(shoes.edges.map((e) => e.node.name)).toEqual(['Run Shoe Elite']);
    expect(shoes.totalCount).toBe(1);
    expect((await search('RUNNING')).edges.map((e) => e.node.name).sort()).toEqual(['Run Shoe Elite', 'Running Shorts']);
    expect((await search('trainer')).edges.map((e) => e.node.name)).toEqual(['Run Shoe Elite']);
    expect((await search('walk')).edges.map((e) => e.node.name)).toEqual(['Walking Boots']);
    expect((await search('running boots')).totalCount).toBe(0);
  });

  it('treats SQL and markup as plain text', async () => {
    expect((await search("'; DROP TABLE products; --")).totalCount).toBe(0);
    expect((await search('<script>alert(1)</script>')).edges.map((e) => e.node.name)).toEqual(['Script Tag Poster']);
    expect((await search("widget' OR '1'='1")).totalCount).toBe(0);
    expect((await search('   ')).totalCount).toBe(all.length);
    const [{ n }] = await h.service.dataSource.query(`SELECT count(*)::int AS n FROM products`);
    expect(n).toBe(all.length);
  });

  // Written into the document, an unpaired surrogate escape does not even parse (graphql-js
  // refuses it); a NUL escape parses, and the kit refuses it like the variable.
  it.each([
    ['a NUL character', 'widget\u0000', 'BAD_USER_INPUT'],
    ['an unpaired high surrogate', 'widget\uD83D', 'GRAPHQL_PARSE_FAILED'],
    ['an unpaired low surrogate', '\uDE00widget', 'GRAPHQL_PARSE_FAILED'],
  ])('refuses a search with %s as BAD_USER_INPUT before it reaches Postgres', async (_, text, literalCode) => {
    const res = await h.gql(LIST, { filter: { search: text } });
    expect(res.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^Argument filter\.search must not contain/),
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', argument: 'filter.search' }),
      }),
    ]);
    expect(res.data ?? null).toBeNull();
    const literal = await h.gql(`{ products(filter: { search: ${JSON.stringify(text)} }) { totalCount } }`);
    expect(literal.errors?.[0].extensions?.code).toBe(literalCode);
    // a well-formed pair (an emoji) is just text
    expect((await search('widget \uD83D\uDE00')).totalCount).toBeGreaterThan(0);
  });

  it.each(['NEWEST', 'PRICE_ASC', 'PRICE_DESC', 'NAME_ASC'])('combines search, category and price range under %s', async (sort) => {
    const filter = { search: 'widget', categorySlug: 'tools', minPrice: 2500, maxPrice: 4000 };
    const expected = all
      .filter((f) => /widget/i.test(f.name) && f.category === 'tools' && f.price >= 2500 && f.price <= 4000)
      .sort(ORDER[sort])
      .map((f) => f.id);
    expect(expected.length).toBeGreaterThan(3);
    const { ids, totalCount } = await walk({ sort, filter }, 3);
    expect(ids).toEqual(expected);
    expect(totalCount).toBe(expected.length);
  });

  it('filters by category alone and by price alone', async () => {
    const textiles = await h.gql<ListData>(LIST, { first: 100, filter: { categorySlug: 'textiles' } });
    expect(textiles.data!.products.totalCount).toBe(all.filter((f) => f.category === 'textiles').length);
    expect(textiles.data!.products.edges.every((e) => e.node.category.slug === 'textiles')).toBe(true);
    const cheap = await h.gql<ListData>(LIST, { first: 100, filter: { maxPrice: 1000 } });
    expect(cheap.data!.products.totalCount).toBe(all.filter((f) => f.price <= 1000).length);
  });

  it('refuses bad filters', async () => {
    expect(codeOf(await h.gql(LIST, { filter: { categorySlug: 'no-such-category' } }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await h.gql(LIST, { filter: { minPrice: -1 } }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await h.gql(LIST, { filter: { minPrice: 10, maxPrice: 5 } }))).toBe('BAD_USER_INPUT');
  });
});

describe('lookups', () => {
  const ONE = `query One($id: ID, $slug: String) { product(id: $id, slug: $slug) { id name slug category { name } } }`;

  it('finds a product by id or by slug, null when unknown', async () => {
    const list = await h.gql<ListData>(LIST, { first: 1 });
    const node = list.data!.products.edges[0].node;
    expect((await h.gql<{ product: Node }>(ONE, { id: node.id })).data!.product.slug).toBe(node.slug);
    expect((await h.gql<{ product: Node }>(ONE, { slug: node.slug })).data!.product.id).toBe(node.id);
    expect((await h.gql(ONE, { slug: 'no-such-product' })).data!.product).toBeNull();
    expect((await h.gql(ONE, { id: '00000000-0000-4000-8000-000000000000' })).data!.product).toBeNull();
    expect((await h.gql(ONE, { id: 'not-a-uuid' })).data!.product).toBeNull();
  });

  it('needs exactly one of id and slug', async () => {
    expect(codeOf(await h.gql(ONE, {}))).toBe('BAD_USER_INPUT');
    expect(codeOf(await h.gql(ONE, { id: all[0].id, slug: 'x' }))).toBe('BAD_USER_INPUT');
  });

  it('lists categories', async () => {
    const res = await h.gql<{ categories: { slug: string; name: string }[] }>(`{ categories { id slug name } }`);
    expect(res.data!.categories.map((c) => c.slug)).toEqual(['textiles', 'tools']);
  });
});
