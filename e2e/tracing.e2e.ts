import { Client } from 'pg';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@shop/kit/testing';
import { startPlatform, type Platform } from './support/platform';
import { ADDRESS, customerReadyToCheckOut, PLATFORM_ADMIN, storefront } from './support/shopper';

const SERVER = 2;
const CLIENT = 3;

/**
 * Distributed tracing, every service its own process exporting OTLP/HTTP JSON to a receiver
 * inside the test: one checkout through the gateway is one trace, hop by hop, with nothing
 * secret in it.
 */
describe('distributed tracing of a checkout (every service its own process, OTLP to a receiver in the test)', () => {
  let receiver: OtlpReceiver;
  let platform: Platform;
  const run = `${process.pid}${Date.now() % 100000}`;
  const requestId = `trace-e2e-${run}`;
  const secrets: Record<string, string> = {
    adminPassword: PLATFORM_ADMIN.password,
    customerPassword: `tracing password ${run}`,
    paymentToken: 'tok_visa',
    idempotencyKey: `trace-checkout-${run}`,
    addressLine: ADDRESS.line1,
  };
  let trace: ReceivedSpan[];
  let orderId: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    platform = await startPlatform({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, startTimeoutMs: 120_000 });
    const ready = await customerReadyToCheckOut(platform, run, { customerPassword: secrets.customerPassword });
    secrets.adminToken = ready.adminToken;
    secrets.customerToken = ready.customerToken;

    const checkout = await platform.query<{ checkout: { id: string; status: string } }>(
      storefront('Checkout'),
      { input: { idempotencyKey: secrets.idempotencyKey, paymentToken: secrets.paymentToken, shippingAddress: ADDRESS } },
      { token: secrets.customerToken, headers: { 'x-request-id': requestId } },
    );
    expect(checkout.errors).toBeUndefined();
    expect(checkout.data?.checkout.status).toBe('CONFIRMED');
    orderId = checkout.data!.checkout.id;
    // The cart is empty now: checking out again is refused with the contract's BAD_USER_INPUT.
    const refused = await platform.query(
      storefront('Checkout'),
      { input: { idempotencyKey: `${secrets.idempotencyKey}-again`, paymentToken: secrets.paymentToken, shippingAddress: ADDRESS } },
      { token: secrets.customerToken, headers: { 'x-request-id': `${requestId}-refused` } },
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    // A graceful stop flushes every process's batched spans (runMain): after it, the receiver
    // holds everything the request produced.
    await platform.stop();
    const root = receiver.spans.find((s) => s.service === 'gateway' && s.kind === SERVER && s.attributes['request.id'] === requestId);
    expect(root).toBeDefined();
    trace = receiver.spans.filter((s) => s.traceId === root!.traceId);
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await receiver?.close();
  });

  const spansOf = (service: string) => trace.filter((s) => s.service === service);
  const parentOf = (span: ReceivedSpan) => trace.find((s) => s.spanId === span.parentSpanId);

  it('makes one trace of the request, with spans from the gateway, orders, inventory and payments', () => {
    const traceIds = new Set(receiver.spans.filter((s) => s.attributes['request.id'] === requestId).map((s) => s.traceId));
    expect(traceIds.size).toBe(1);
    expect([...new Set(trace.map((s) => s.service))]).toEqual(expect.arrayContaining(['gateway', 'orders', 'inventory', 'payments']));
  });

  it('links every span to a parent in the same trace, up to the gateway server span', () => {
    const roots = trace.filter((s) => !s.parentSpanId);
    expect(roots).toHaveLength(1);
    expect(roots[0]).toMatchObject({
      service: 'gateway',
      kind: SERVER,
      name: 'mutation Checkout',
      attributes: { 'graphql.operation.name': 'Checkout', 'graphql.operation.type': 'mutation', 'request.id': requestId },
    });
    for (const span of trace) if (span.parentSpanId) expect(parentOf(span)).toBeDefined();
  });

  it('hangs each subgraph request under the gateway fetch for it, and each internal call under the orders client span', () => {
    // The gateway names each subgraph operation after the client's (Checkout__orders__0).
    const ordersServer = spansOf('orders').find((s) => s.kind === SERVER && s.name === 'mutation Checkout__orders__0')!;
    expect(ordersServer).toBeDefined();
    expect(parentOf(ordersServer)).toMatchObject({ service: 'gateway', name: 'gateway.fetch', attributes: { service: 'orders' } });
    expect(ordersServer.attributes['request.id']).toBe(requestId);
    for (const [service, path] of [
      ['products', 'products/lookup'],
      ['inventory', 'reservations/reserve'],
      ['payments', 'payments/authorize'],
      ['inventory', 'reservations/commit'],
      ['payments', 'payments/capture'],
    ]) {
      const server = spansOf(service).find((s) => s.kind === SERVER && s.name === `POST /internal/${path}`);
      expect(server).toBeDefined();
      expect(parentOf(server!)).toMatchObject({ service: 'orders', kind: CLIENT, name: `${service} ${path}` });
    }
  });

  it('shows SQL statements and Redis commands without their values', () => {
    const sql = trace.filter((s) => s.attributes['db.system.name'] === 'postgresql');
    expect([...new Set(sql.map((s) => s.service))]).toEqual(expect.arrayContaining(['orders', 'inventory', 'payments']));
    // The order's INSERT, wherever it sits in the statement (orders writes it with its lines and event in one).
    const insert = sql.find((s) => /INSERT INTO "?orders"? \(/.test(String(s.attributes['db.query.text'])));
    const text = String(insert?.attributes['db.query.text']);
    expect(text).toMatch(/\$1\b[\s\S]*\$2\b/); // placeholders, never the values bound to them
    for (const value of [secrets.idempotencyKey, secrets.paymentToken, ADDRESS.line1]) expect(text).not.toContain(value);
    const redis = trace.filter((s) => s.attributes['db.system.name'] === 'redis');
    expect(redis.length).toBeGreaterThan(0);
    for (const span of redis) expect(span.attributes['db.query.text']).toMatch(/^[a-z]+$/);
  });

  it('puts no access token, password, payment token or checkout input into any span', () => {
    expect(receiver.bodies.length).toBeGreaterThan(0);
    for (const [name, secret] of Object.entries(secrets))
      for (const body of receiver.bodies) expect({ name, found: body.includes(secret) }).toEqual({ name, found: false });
  });

  it("records a refused request's error on its spans with the contract's code", () => {
    const refused = receiver.spans.filter((s) => s.kind === SERVER && s.attributes['request.id'] === `${requestId}-refused`);
    const gateway = refused.find((s) => s.service === 'gateway');
    const orders = refused.find((s) => s.service === 'orders');
    for (const span of [gateway, orders]) {
      expect(span?.status?.code).toBe(2); // ERROR
      expect(span?.attributes['error.code']).toBe('BAD_USER_INPUT');
    }
    expect(gateway?.traceId).toBe(orders?.traceId);
  });

  it('writes trace_id and span_id beside the request id in the log lines of the request', () => {
    const traceId = trace[0].traceId;
    for (const service of ['gateway', 'orders', 'payments'] as const) {
      const process = service === 'gateway' ? platform.gateway : platform.services[service]!;
      const lines = process
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.requestId === requestId);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        expect(line.trace_id).toBe(traceId);
        expect(trace.map((s) => s.spanId)).toContain(line.span_id);
      }
    }
    expect(orderId).toBeDefined();
  });
});

/**
 * Work done later on behalf of a request starts its own trace linked to it: a checkout whose
 * orders process dies half-way is finished by the recovery loop of the next orders process,
 * in a trace of its own whose recovery span links to the checkout's.
 */
describe('a checkout interrupted and recovered (recovery traces link to the checkout they finish)', () => {
  let receiver: OtlpReceiver;
  let platform: Platform;
  const run = `${process.pid}${Date.now() % 100000}r`;
  const requestId = `trace-recovery-e2e-${run}`;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // Spans leave each process every 200 ms, so the test waits for them instead of stopping
    // everything; inventory's sweeper looks for expired reservations every 200 ms.
    platform = await startPlatform({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200', RESERVATION_SWEEP_INTERVAL_MS: '200' },
      startTimeoutMs: 120_000,
    });
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await receiver?.close();
  });

  it('finishes the order in a recovery trace whose span links to the checkout request', async () => {
    const { customerToken } = await customerReadyToCheckOut(platform, run, { customerPassword: `recovery password ${run}`, quantity: 1 });
    const asCustomer = { token: customerToken };

    // Orders exits right after the stock is reserved: the checkout request fails half-way.
    await platform.restart('orders', { FAULT_CRASH_AFTER: 'stock_reserved' });
    const interrupted = await platform.query<{ checkout: { status: string } }>(
      storefront('Checkout'),
      { input: { idempotencyKey: `recover-${run}`, paymentToken: 'tok_visa', shippingAddress: ADDRESS } },
      { ...asCustomer, headers: { 'x-request-id': requestId } },
    );
    expect(interrupted.data?.checkout ?? null).toBeNull();
    const checkoutRoot = await receiver.waitFor(
      (spans) => spans.find((s) => s.service === 'gateway' && s.kind === SERVER && s.attributes['request.id'] === requestId),
      "the interrupted checkout's gateway span",
    );

    // While orders is down the reservation runs out (its expiry moved to the past, as if its
    // TTL had passed): inventory's sweeper returns the stock in its own trace, linked to the
    // checkout whose reserve call held it.
    const inventoryDb = new Client({ connectionString: platform.databases.inventory!.url });
    await inventoryDb.connect();
    try {
      const held = await inventoryDb.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE status = 'RESERVED' RETURNING order_id`);
      expect(held.rowCount).toBe(1);
    } finally {
      await inventoryDb.end();
    }
    const expiry = await receiver.waitFor(
      (spans) =>
        spans.find((s) => s.service === 'inventory' && s.name === 'reservation expiry' && s.links.some((l) => l.traceId === checkoutRoot.traceId)),
      'a reservation expiry span linked to the checkout',
    );
    expect(expiry.traceId).not.toBe(checkoutRoot.traceId);

    // The next orders process finds the unfinished order (its owner is gone), holds the stock
    // again and finishes it.
    await platform.restart('orders');
    const recovery = await receiver.waitFor(
      (spans) => spans.find((s) => s.service === 'orders' && s.name === 'checkout recovery' && s.links.some((l) => l.traceId === checkoutRoot.traceId)),
      'a recovery span linked to the checkout',
      60_000,
    );
    expect(recovery.attributes['order.status']).toBe('CONFIRMED');
    // Its own trace: the recovery pass is its root, and the calls that finish the order hang under it.
    expect(recovery.traceId).not.toBe(checkoutRoot.traceId);
    const pass = await receiver.waitFor(
      (spans) => spans.find((s) => s.traceId === recovery.traceId && s.spanId === recovery.parentSpanId),
      'the recovery pass span',
    );
    expect(pass).toMatchObject({ service: 'orders', name: 'recovery pass', parentSpanId: undefined, attributes: { 'background.loop': 'recovery pass' } });
    const authorize = await receiver.waitFor(
      (spans) => spans.find((s) => s.traceId === recovery.traceId && s.service === 'payments' && s.name === 'POST /internal/payments/authorize'),
      "payments' authorization in the recovery trace",
    );
    expect(authorize.traceId).toBe(recovery.traceId);
    // The link names a span of the checkout's trace: the orders span that created the order.
    const link = recovery.links.find((l) => l.traceId === checkoutRoot.traceId)!;
    expect(link.spanId).toMatch(/^[0-9a-f]{16}$/);

    const orders = await platform.query<{ me: { orders: { edges: { node: { status: string } }[] } } }>(storefront('MyOrders'), {}, asCustomer);
    expect(orders.data?.me.orders.edges.map((e) => e.node.status)).toEqual(['CONFIRMED']);
  }, 180_000);
});

