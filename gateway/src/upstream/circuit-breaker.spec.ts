import { waitFor } from '@shop/kit/testing';
import { CircuitBreaker } from './circuit-breaker';
import { startCatalogStack, type CatalogStack } from '../testing/catalog-stack';

describe('CircuitBreaker', () => {
  it('opens after consecutive failures, lets one probe through after the open period, and closes on success', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 2, openMs: 1_000, now: () => now });
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onFailure();
    breaker.onSuccess(); // a success resets the count
    breaker.onFailure();
    expect(breaker.current).toBe('closed');
    breaker.onFailure();
    expect(breaker.current).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    now = 999;
    expect(breaker.tryAcquire()).toBe(false);
    now = 1_000;
    expect(breaker.tryAcquire()).toBe(true); // the probe
    expect(breaker.current).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(false); // only one probe at a time
    breaker.onFailure();
    expect(breaker.current).toBe('open');
    now = 2_000;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onSuccess();
    expect(breaker.current).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
  });
});

const QUERY = `query ProductById($id: ID!) { product(id: $id) { id name inStock } }`;
type Data = { product: { id: string; name: string; inStock: boolean | null } | null };

const TIMEOUT_MS = 400;
const OPEN_MS = 1_500;

describe('subgraph timeouts and circuit breaker (inventory stopped, then hanging)', () => {
  let stack: CatalogStack;
  let productId: string;

  const ask = async () => {
    const calls = stack.inventoryProxy.requests;
    const started = Date.now();
    const result = await stack.gql<Data>(QUERY, { id: productId });
    return {
      ...result,
      elapsedMs: Date.now() - started,
      inventoryCalls: stack.inventoryProxy.requests - calls,
    };
  };
  const expectPartial = (result: Awaited<ReturnType<typeof ask>>) => {
    expect(result.status).toBe(200);
    expect(result.data?.product).toMatchObject({ id: productId, inStock: null });
    expect(result.data?.product?.name).toBeTruthy();
    expect(result.errors?.length).toBeGreaterThan(0);
  };
  const fetches = async (outcome: string) => {
    const text = await (await fetch(`${stack.gateways[0].url}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('gateway_subgraph_fetch_duration_seconds_count{') &&
          l.includes('subgraph="inventory"') &&
          l.includes(`outcome="${outcome}"`),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const recovers = async () => {
    // While open, answers are immediate failures; once the open period passes a probe succeeds.
    await waitFor(async () => (await ask()).data?.product?.inStock === true, 'the circuit to close', 10_000);
    const closed = await ask();
    expect(closed.errors).toBeUndefined();
    expect(closed.inventoryCalls).toBe(1);
  };

  beforeAll(async () => {
    stack = await startCatalogStack({
      gatewayEnv: {
        SUBGRAPH_TIMEOUT_MS: String(TIMEOUT_MS),
        CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2',
        CIRCUIT_BREAKER_OPEN_MS: String(OPEN_MS),
        // every request reaches the subgraphs, so calls can be counted
        RESPONSE_CACHE_ENABLED: 'false',
      },
    });
    const token = { token: stack.adminToken };
    expect(
      (await stack.gql('mutation { createCategory(input: { slug: "cb", name: "CB" }) { id } }', {}, token))
        .errors,
    ).toBeUndefined();
    const created = await stack.gql<{ createProduct: { id: string } }>(
      `mutation { createProduct(input: { sku: "CB-1", slug: "cb-1", name: "Breaker", description: "d", price: { amount: 100, currency: "USD" }, categorySlug: "cb" }) { id } }`,
      {},
      token,
    );
    productId = created.data!.createProduct.id;
    expect(
      (
        await stack.gql(
          'mutation($p: ID!) { setStock(productId: $p, onHand: 2) { id } }',
          { p: productId },
          token,
        )
      ).errors,
    ).toBeUndefined();
  });
  afterAll(() => stack?.stop());

  it('a stopped subgraph (connection refused): partial data with an error, then the circuit opens and closes on recovery', async () => {
    expect((await ask()).data?.product?.inStock).toBe(true);
    await stack.inventoryProxy.stop();
    const failedBefore = await fetches('failed');
    for (let i = 0; i < 2; i += 1) expectPartial(await ask());
    expect(await fetches('failed')).toBe(failedBefore + 2);
    // open: the gateway does not even try to connect
    const openBefore = await fetches('circuit_open');
    const open = await ask();
    expectPartial(open);
    expect(open.errors!.map((e) => e.message).join(' ')).toMatch(/circuit open/);
    expect(await fetches('failed')).toBe(failedBefore + 2);
    expect(await fetches('circuit_open')).toBe(openBefore + 1);
    await stack.inventoryProxy.start();
    await recovers();
  });

  it('a subgraph that accepts but never answers: partial data after the timeout, then fast failures without calling it, then recovery', async () => {
    stack.inventoryProxy.setMode('hang');
    for (let i = 0; i < 2; i += 1) {
      const hung = await ask();
      expectPartial(hung);
      expect(hung.inventoryCalls).toBe(1);
      expect(hung.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50); // it waited for the timeout, not for ever
    }
    const open = await ask();
    expectPartial(open);
    expect(open.inventoryCalls).toBe(0);
    expect(open.errors!.map((e) => e.message).join(' ')).toMatch(/circuit open/);
    // half-open probe while still hanging: one call, and the circuit opens again
    await new Promise((r) => setTimeout(r, OPEN_MS));
    const probe = await ask();
    expectPartial(probe);
    expect(probe.inventoryCalls).toBe(1);
    expect((await ask()).inventoryCalls).toBe(0);

    stack.inventoryProxy.setMode('pass');
    await recovers();
  });
});
