import { waitFor } from '@shop/kit/testing';
import { CircuitBreaker, type CircuitState, type ProbeResult } from './circuit-breaker';
import { startCatalogStack, type CatalogStack } from '../testing/catalog-stack';

/** A breaker whose readiness probe answers what the test says, and which reports each state it enters. */
function breakerWithProbe(options: { openMs?: number } = {}) {
  let answer: ProbeResult = 'unreachable';
  let probes = 0;
  const entered: { state: CircuitState; resolve: () => void }[] = [];
  const breaker = new CircuitBreaker({
    failureThreshold: 2,
    openMs: options.openMs ?? 60_000,
    probeIntervalMs: 10,
    probe: async () => {
      probes += 1;
      return answer;
    },
    onStateChange: (state) => {
      for (const waiter of entered.filter((w) => w.state === state)) waiter.resolve();
    },
  });
  return {
    breaker,
    answer: (next: ProbeResult) => (answer = next),
    probes: () => probes,
    /** Resolves when the breaker next enters `state`. */
    enters: (state: CircuitState) => new Promise<void>((resolve) => entered.push({ state, resolve })),
  };
}

describe('CircuitBreaker', () => {
  it('opens after consecutive failures, fails fast while open, and is half-open once /ready answers', async () => {
    const { breaker, answer, probes, enters } = breakerWithProbe();
    try {
      breaker.onFailure(breaker.tryAcquire()!);
      breaker.onSuccess(breaker.tryAcquire()!); // a success resets the count
      breaker.onFailure(breaker.tryAcquire()!);
      expect(breaker.current).toBe('closed');
      breaker.onFailure(breaker.tryAcquire()!);
      expect(breaker.current).toBe('open');
      expect(breaker.tryAcquire()).toBeUndefined();
      expect(breaker.retryAfterSeconds()).toBe(1);

      // not ready, or not answering at all: it stays open and keeps asking
      const asked = probes();
      await waitFor(() => probes() >= asked + 3, 'three probes');
      answer('not-ready');
      await waitFor(() => probes() >= asked + 6, 'three more probes');
      expect(breaker.current).toBe('open');

      const halfOpen = enters('half-open');
      answer('ready');
      await halfOpen;
      // every fetch goes through now; the first success closes the circuit
      const a = breaker.tryAcquire()!;
      const b = breaker.tryAcquire()!;
      expect(b).toBeDefined();
      breaker.onSuccess(a);
      expect(breaker.current).toBe('closed');
      breaker.onSuccess(b);
      expect(breaker.current).toBe('closed');
    } finally {
      breaker.stop();
    }
  });

  it('counts only fetches admitted since the last change of state', async () => {
    const { breaker, answer, enters } = breakerWithProbe();
    try {
      const startedWhileClosed = breaker.tryAcquire()!;
      const alsoWhileClosed = breaker.tryAcquire()!;
      breaker.onFailure(breaker.tryAcquire()!);
      breaker.onFailure(breaker.tryAcquire()!);
      expect(breaker.current).toBe('open');
      // a slow fetch started before the circuit opened answers now: it closes nothing
      breaker.onSuccess(startedWhileClosed);
      expect(breaker.current).toBe('open');

      const halfOpen = enters('half-open');
      answer('ready');
      await halfOpen;
      // started before half-open: neither its failure nor its success decides
      breaker.onFailure(alsoWhileClosed);
      expect(breaker.current).toBe('half-open');
      breaker.onSuccess(startedWhileClosed);
      expect(breaker.current).toBe('half-open');

      // a fetch started in half-open that fails opens it again (one failure is enough)
      answer('unreachable');
      breaker.onFailure(breaker.tryAcquire()!);
      expect(breaker.current).toBe('open');
    } finally {
      breaker.stop();
    }
  });

  it('a subgraph without /ready (404) is tried again after openMs instead', async () => {
    const { breaker, answer, enters } = breakerWithProbe({ openMs: 50 });
    try {
      answer('no-endpoint');
      const halfOpen = enters('half-open');
      const opened = Date.now();
      breaker.onFailure(breaker.tryAcquire()!);
      breaker.onFailure(breaker.tryAcquire()!);
      await halfOpen;
      expect(Date.now() - opened).toBeGreaterThanOrEqual(50);
    } finally {
      breaker.stop();
    }
  });
});

const QUERY = `query ProductById($id: ID!) { product(id: $id) { id name inStock } }`;
type Data = { product: { id: string; name: string; inStock: boolean | null } | null };

const TIMEOUT_MS = 400;

describe('subgraph outages through the gateway (inventory stopped, restarted, hanging)', () => {
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
  /** Products' fields still come back; inventory's is null with one SERVICE_UNAVAILABLE error. */
  const expectUnavailable = (result: Awaited<ReturnType<typeof ask>>) => {
    expect(result.status).toBe(200);
    expect(result.data?.product).toMatchObject({ id: productId, inStock: null });
    expect(result.data?.product?.name).toBeTruthy();
    expect(result.errors).toEqual([
      expect.objectContaining({
        message: 'The inventory service is unavailable right now; retry in a moment',
        extensions: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE', retryable: true }),
      }),
    ]);
    // nothing of the transport's own words (no address, port or errno); stack traces are a
    // development-only extra, absent in production
    const { stacktrace: _stacktrace, ...extensions } = result.errors![0].extensions!;
    expect(JSON.stringify(extensions)).not.toMatch(/127\.0\.0\.1|ECONN|socket|:\d{2,5}\b/);
    return extensions;
  };
  /** The gateway's metric `name` for inventory with `label`, 0 before its first count. */
  const metric = async (name: string, label: string) => {
    const text = await (await fetch(`${stack.gateways[0].url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && l.includes('subgraph="inventory"') && l.includes(label));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const fetches = (outcome: string) =>
    metric('gateway_subgraph_fetch_duration_seconds_count', `outcome="${outcome}"`);
  /** Asks until inventory's field is back; resolves with how long that took. */
  const untilServed = async () => {
    const since = Date.now();
    await waitFor(async () => (await ask()).data?.product?.inStock === true, 'inventory to be served again', 10_000);
    return Date.now() - since;
  };
  const openCircuit = async () => {
    for (let i = 0; i < 2; i += 1) expectUnavailable(await ask());
    const open = await ask();
    expect(open.inventoryCalls).toBe(0);
    return expectUnavailable(open);
  };

  beforeAll(async () => {
    stack = await startCatalogStack({
      gatewayEnv: {
        INVENTORY_TIMEOUT_MS: String(TIMEOUT_MS),
        CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2',
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

  it('a subgraph that restarts: SERVICE_UNAVAILABLE with partial data, fast failures while open, served again within 2 s of being ready', async () => {
    expect((await ask()).data?.product?.inStock).toBe(true);
    await stack.stopInventory();
    const failedBefore = await fetches('failed');
    const openBefore = await fetches('circuit_open');
    const open = await openCircuit();
    expect(open.retryAfter).toBe(1);
    expect(await fetches('failed')).toBe(failedBefore + 2);
    expect(await fetches('circuit_open')).toBe(openBefore + 1);

    await stack.startInventory();
    // The bound: a restarted subgraph is served again within 2 s of answering /ready
    // (it used to take the whole open period and a lucky single probe: 10-25 s).
    expect(await untilServed()).toBeLessThan(2_000);
    const closed = await ask();
    expect(closed.errors).toBeUndefined();
    expect(closed.inventoryCalls).toBe(1);
  });

  it('a subgraph that accepts but never answers: SERVICE_UNAVAILABLE after its timeout, then no calls until it answers again', async () => {
    stack.inventoryProxy.setMode('hang');
    for (let i = 0; i < 2; i += 1) {
      const hung = await ask();
      expectUnavailable(hung);
      expect(hung.inventoryCalls).toBe(1);
      expect(hung.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50); // it waited for the timeout, not for ever
    }
    const open = await ask();
    expectUnavailable(open);
    expect(open.inventoryCalls).toBe(0);
    // /ready hangs too: the probe gets no answer and the circuit stays open, still no GraphQL calls
    const unanswered = await metric('gateway_subgraph_readiness_probes_total', 'result="unreachable"');
    await waitFor(
      async () => (await metric('gateway_subgraph_readiness_probes_total', 'result="unreachable"')) > unanswered,
      'a probe of the hanging /ready',
    );
    expect((await ask()).inventoryCalls).toBe(0);

    stack.inventoryProxy.setMode('pass');
    expect(await untilServed()).toBeLessThan(2_000);
  });
});
