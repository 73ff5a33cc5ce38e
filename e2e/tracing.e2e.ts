import { contractOperation, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@shop/kit/testing';
import { startPlatform, type Platform } from './support/platform';

const storefront = (name: string) => contractOperation(name, 'storefront.graphql');
const admin = (name: string) => contractOperation(name, 'admin.graphql');
const SERVER = 2;
const CLIENT = 3;
const ADDRESS = { name: 'Ada Lovelace', line1: '12 Analytical Row', city: 'London', postalCode: 'W1 1AA', country: 'GB' };

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
    adminPassword: 'admin-password-e2e',
    customerPassword: `tracing password ${run}`,
    paymentToken: 'tok_visa',
    idempotencyKey: `trace-checkout-${run}`,
    addressLine: ADDRESS.line1,
  };
  let trace: ReceivedSpan[];
  let orderId: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    platform = await startPlatform({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    const login = await platform.query<{ login: { accessToken: string } }>(storefront('Login'), {
      input: { email: 'admin@e2e.test', password: secrets.adminPassword },
    });
    secrets.adminToken = login.data!.login.accessToken;
    const customer = await platform.query<{ register: { accessToken: string } }>(storefront('Register'), {
      input: { email: `tracer-${run}@example.com`, password: secrets.customerPassword },
    });
    secrets.customerToken = customer.data!.register.accessToken;
    const asAdmin = { token: secrets.adminToken };
    await platform.query(admin('CreateCategory'), { input: { slug: `trace-${run}`, name: 'Traced' } }, asAdmin);
    const product = await platform.query<{ createProduct: { id: string } }>(
      admin('CreateProduct'),
      {
        input: {
          sku: `TRACE-${run}`,
          name: 'Traced Lamp',
          slug: `trace-lamp-${run}`,
          description: 'A lamp that leaves a trace',
          price: { amount: 1999, currency: 'USD' },
          categorySlug: `trace-${run}`,
        },
      },
      asAdmin,
    );
    const productId = product.data!.createProduct.id;
    await platform.query(admin('SetStock'), { productId, onHand: 3 }, asAdmin);
    await platform.query(storefront('AddToCart'), { productId, quantity: 2 }, { token: secrets.customerToken });

    const checkout = await platform.query<{ checkout: { id: string; status: string } }>(
      storefront('Checkout'),
      { input: { idempotencyKey: secrets.idempotencyKey, paymentToken: secrets.paymentToken, shippingAddress: ADDRESS } },
      { token: secrets.customerToken, headers: { 'x-request-id': requestId } },
    );
    expect(checkout.errors).toBeUndefined();
    expect(checkout.data?.checkout.status).toBe('CONFIRMED');
    orderId = checkout.data!.checkout.id;

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
    const insert = sql.find((s) => String(s.attributes['db.query.text']).startsWith('INSERT INTO "orders"'));
    expect(insert?.attributes['db.query.text']).toMatch(/VALUES \(\$1, \$2/);
    const redis = trace.filter((s) => s.attributes['db.system.name'] === 'redis');
    expect(redis.length).toBeGreaterThan(0);
    for (const span of redis) expect(span.attributes['db.query.text']).toMatch(/^[a-z]+$/);
  });

  it('puts no access token, password, payment token or checkout input into any span', () => {
    expect(receiver.bodies.length).toBeGreaterThan(0);
    for (const [name, secret] of Object.entries(secrets))
      for (const body of receiver.bodies) expect({ name, found: body.includes(secret) }).toEqual({ name, found: false });
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
