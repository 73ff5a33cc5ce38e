import { TestRedisServer, waitFor } from '@shop/kit/testing';
import { startCatalogStack, type CatalogStack } from '../testing/catalog-stack';
import { TestProxy } from '../testing/proxy';

const PAGE = `query ProductPage($slug: String!) { product(slug: $slug) { id name price { amount currency } inStock } }`;
const UPDATE = `mutation UpdateProduct($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id price { amount } } }`;
type Page = { product: { id: string; price: { amount: number } } | null };

const metric = async (url: string, name: string, label: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return match ? Number(match.split(' ').pop()) : 0;
};

describe('response cache while Redis is away (a test-owned Redis stopped and started)', () => {
  let redis: TestRedisServer;
  /** Gateway 1 reaches Redis through this, so it alone can be cut off. */
  let redisLink: TestProxy;
  let stack: CatalogStack;
  let product: { id: string; slug: string };
  let price = 1000;

  const page = async (gateway: number) => {
    const before = stack.productsProxy.requests;
    const result = await stack.gql<Page>(PAGE, { slug: product.slug }, { gateway });
    return { ...result, productsCalls: stack.productsProxy.requests - before };
  };
  const setPrice = async (gateway: number) => {
    price += 100;
    const result = await stack.gql(
      UPDATE,
      { id: product.id, input: { price: { amount: price, currency: 'USD' } } },
      { token: stack.adminToken, gateway },
    );
    expect(result.errors).toBeUndefined();
    return price;
  };

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    redisLink = await TestProxy.start(redis.url);
    stack = await startCatalogStack({
      gatewayCount: 2,
      redisUrl: redis.url,
      gatewayRedisUrls: [redis.url, `redis://127.0.0.1:${redisLink.port}`],
    });
    const slug = `outage-${process.pid}-${Date.now().toString(36)}`;
    expect(
      (
        await stack.gql(
          'mutation { createCategory(input: { slug: "outage", name: "Outage" }) { id } }',
          {},
          { token: stack.adminToken },
        )
      ).errors,
    ).toBeUndefined();
    const created = await stack.gql<{ createProduct: { id: string; slug: string } }>(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { id slug } }`,
      {
        input: {
          sku: 'OUTAGE-1',
          slug,
          name: 'Outage',
          description: 'd',
          price: { amount: price, currency: 'USD' },
          categorySlug: 'outage',
        },
      },
      { token: stack.adminToken },
    );
    expect(created.errors).toBeUndefined();
    product = created.data!.createProduct;
  });
  afterAll(async () => {
    await stack?.stop();
    await redisLink?.stop();
    await redis?.stop();
  });

  it('a replica cut off from Redis serves fresh data, and replays its invalidations when it is back', async () => {
    for (const gateway of [0, 1]) {
      await page(gateway);
      expect((await page(gateway)).productsCalls).toBe(0);
    }
    await redisLink.stop();
    // gateway 1 writes while it cannot reach Redis: it shows its write (bypassing the cache)...
    const newPrice = await setPrice(1);
    const fresh = await page(1);
    expect(fresh.data?.product?.price.amount).toBe(newPrice);
    expect(fresh.headers.get('x-cache')).toBe('BYPASS');
    expect((await fetch(`${stack.gateways[1].url}/ready`)).status).toBe(200);
    // ...and once back, it marks the write in Redis before using the cache again, for every replica
    await redisLink.start();
    await waitFor(
      async () => (await page(1)).headers.get('x-cache') !== 'BYPASS',
      'gateway 1 to use Redis again',
      10_000,
    );
    // the other replica may serve a hit it confirmed in the last 500 ms from memory (the
    // contract allows one second for other replicas), then shows the write
    await waitFor(
      async () => (await page(0)).data?.product?.price.amount === newPrice,
      'gateway 0 to show the write replayed by gateway 1',
      1_000,
    );
    expect((await page(1)).data?.product?.price.amount).toBe(newPrice);
  });

  it('keeps serving while Redis is stopped (bypassing, counted, ready) and caches again when it returns', async () => {
    const gateway = stack.gateways[0];
    await page(0);
    expect((await page(0)).productsCalls).toBe(0);
    const bypassBefore = await metric(gateway.url, 'gateway_cache_requests_total', 'result="bypass"');

    await redis.stop();
    for (let i = 0; i < 2; i += 1) {
      const result = await page(0);
      expect(result.status).toBe(200);
      expect(result.errors).toBeUndefined();
      expect(result.data?.product?.id).toBe(product.id);
      expect(result.headers.get('x-cache')).toBe('BYPASS');
      expect(result.productsCalls).toBeGreaterThan(0);
    }
    expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
    expect(
      await metric(gateway.url, 'gateway_cache_requests_total', 'result="bypass"'),
    ).toBeGreaterThanOrEqual(bypassBefore + 2);
    expect(await metric(gateway.url, 'store_errors_total', 'operation="response_cache_get"')).toBeGreaterThan(
      0,
    );
    // admin writes still work (the session is checked with the users service) and show at once
    const newPrice = await setPrice(0);
    expect((await page(0)).data?.product?.price.amount).toBe(newPrice);

    await redis.start();
    await waitFor(
      async () => (await page(0)).headers.get('x-cache') === 'HIT',
      'the cache to serve again',
      15_000,
    );
    const cached = await page(0);
    expect(cached.productsCalls).toBe(0);
    expect(cached.data?.product?.price.amount).toBe(newPrice);
  });
});
