/**
 * Issue 11: work done later on behalf of a request starts its own trace, linked to the
 * original. A catalog write whose cache-version bump the store refused leaves its
 * invalidation to the publisher; the pass that publishes it is a trace of its own and links
 * to the write (whose traceparent is stored in cache_invalidations.trace_parent).
 */
import Redis from 'ioredis';
import { issueServiceToken, TokenSigner } from '@shop/kit';
import { postGraphQL, startTestTracing, TestRedisServer, waitFor, type TestTracing } from '@shop/kit/testing';
import { admin, startProductsHarness, type ProductsHarness } from '../testing/harness';

const SERVER = 2;
const WRITE_TRACE = '5c2a8e1f9d3b4a6c8e0f1a2b3c4d5e6f';
const GATEWAY_SPAN = '1a2b3c4d5e6f7a8b';

let tracing: TestTracing;
let redis: TestRedisServer;
let h: ProductsHarness;

beforeAll(async () => {
  // Before the service: the API's tracers keep the first provider they delegate to.
  tracing = startTestTracing('products');
  // A Redis of this test's own: it is made to refuse writes for a while.
  redis = await TestRedisServer.start();
  h = await startProductsHarness({ REDIS_URL: redis.url, PRODUCTS_CACHE_PUBLISH_INTERVAL_MS: '100' });
});

afterAll(async () => {
  await h?.close();
  await redis?.stop();
  await tracing?.stop();
});

/** Has the store refuse (or take again) every SET, as product-cache.spec.ts does: the write's version bump fails. */
async function refuseWrites(refuse: boolean) {
  const client = new Redis(redis.url);
  try {
    await client.acl('SETUSER', 'default', refuse ? '-set' : '+set');
  } finally {
    client.disconnect();
  }
}

const pending = async () => (await h.service.dataSource.query('SELECT count(*)::int AS n FROM cache_invalidations'))[0].n as number;
/** Publisher passes that linked to anything (an idle pass, or one the store refused, links nothing). */
const passesActingFor = () => tracing.spans().filter((s) => s.name === 'cache invalidation publisher' && s.links.length > 0);

it('publishes an invalidation the write could not, in a trace of its own linked to the write', async () => {
  // The gateway forwards an admin's write with its traceparent; the store refuses the bump meanwhile.
  await refuseWrites(true);
  const gateway = h.keys.services.gateway;
  const created = await postGraphQL(
    `${h.service.url}/graphql`,
    `mutation CreateCategory { createCategory(input: { slug: "traced", name: "Traced" }) { id } }`,
    {},
    {
      authorization: `Bearer ${issueServiceToken(new TokenSigner(gateway.privateKey, gateway.kid), 'gateway', 'products', admin(), 30)}`,
      traceparent: `00-${WRITE_TRACE}-${GATEWAY_SPAN}-01`,
    },
  );
  expect(created.errors).toBeUndefined();
  expect(await pending()).toBe(1);

  await refuseWrites(false);
  await waitFor(async () => (await pending()) === 0, 'the publisher to bump the cache version');

  // The span the write recorded its invalidation in: products' server span of the request.
  const write = tracing.spans().find((s) => s.kind === SERVER && s.traceId === WRITE_TRACE);
  expect(write).toMatchObject({ name: 'mutation CreateCategory', parentSpanId: GATEWAY_SPAN });
  // The invalidation is gone: the pass that published it ends within moments.
  await waitFor(() => passesActingFor().length > 0, 'a publisher pass linked to the write');
  const passes = passesActingFor();
  expect(passes).toHaveLength(1); // one pass published it; the refused bumps linked nothing
  const [pass] = passes;
  expect(pass.parentSpanId).toBeUndefined();
  expect(pass.traceId).not.toBe(WRITE_TRACE);
  expect(pass.links).toEqual([{ traceId: WRITE_TRACE, spanId: write!.spanId }]);
});
