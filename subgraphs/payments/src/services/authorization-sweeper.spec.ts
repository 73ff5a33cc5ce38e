/**
 * Issue 11: work done later on behalf of a request starts its own trace, linked to the
 * original. The authorization sweeper voids a hold its order will never capture; the
 * 'authorization void' span belongs to the sweep's trace and links to the authorize request
 * that made the hold (its traceparent is stored in payments.trace_parent).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { currentTraceparent, ServiceClient, TokenSigner, withSpan } from '@shop/kit';
import { createTestDatabase, createTestKeys, startTestTracing, waitFor, type TestDatabase, type TestTracing } from '@shop/kit/testing';
import { startPayments, type PaymentsService } from '../index';

const SERVER = 2;
const keys = createTestKeys(['orders', 'payments']);
let tracing: TestTracing;
let db: TestDatabase;
let service: PaymentsService;
let orders: Server;

/** Orders' internal API as the sweeper asks it: every order it is asked about will never capture. */
function startOrdersThatCaptureNothing(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url !== '/internal/orders/payment-fates') {
        res.writeHead(404).end();
        return;
      }
      const { orderIds } = JSON.parse(body) as { orderIds: string[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { orders: orderIds.map((orderId) => ({ orderId, willCapture: false })) } }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  // Before the service: the API's tracers keep the first provider they delegate to.
  tracing = startTestTracing('payments');
  orders = await startOrdersThatCaptureNothing();
  db = await createTestDatabase('paytrace');
  service = await startPayments({
    ...keys.envFor('payments'),
    DATABASE_URL: db.url,
    PORT: '0',
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    ORDERS_URL: `http://127.0.0.1:${(orders.address() as AddressInfo).port}`,
    AUTHORIZATION_SWEEP_INTERVAL_MS: '200',
    AUTHORIZATION_SWEEP_GRACE_MS: '0',
  });
});

afterAll(async () => {
  await service?.stop();
  await new Promise((resolve) => orders?.close(resolve));
  await db?.drop();
  await tracing?.stop();
});

it("voids an abandoned authorization in the sweep's own trace, linked to the authorize request", async () => {
  const asOrders = new ServiceClient({
    caller: 'orders',
    target: 'payments',
    baseUrl: service.url,
    signer: new TokenSigner(keys.services.orders.privateKey, keys.services.orders.kid),
    tokenTtlSeconds: 30,
    timeoutMs: 10_000,
  });
  const orderId = randomUUID();
  // The checkout's trace: the authorize call carries its traceparent to payments.
  const checkoutTraceparent = await withSpan('checkout', { root: true }, async () => {
    const payment = await asOrders.call<{ status: string }>('payments/authorize', {
      idempotencyKey: `order:${orderId}`,
      orderId,
      userId: randomUUID(),
      amount: 1200,
      currency: 'USD',
      paymentToken: 'tok_visa',
    });
    expect(payment.status).toBe('AUTHORIZED');
    return currentTraceparent()!;
  });
  const checkoutTrace = checkoutTraceparent.split('-')[1];

  const voidSpan = () => tracing.spans().find((s) => s.name === 'authorization void' && s.attributes['order.id'] === orderId);
  await waitFor(() => Boolean(voidSpan()), 'the sweeper to void the abandoned authorization');
  const voided = voidSpan()!;
  const [{ status }] = await service.dataSource.query('SELECT status FROM payments WHERE order_id = $1', [orderId]);
  expect(status).toBe('VOIDED');

  // A trace of its own: the void hangs under the sweep pass, which has no parent.
  expect(voided.traceId).not.toBe(checkoutTrace);
  await waitFor(() => tracing.spans().some((s) => s.spanId === voided.parentSpanId), 'the sweep pass to end');
  const pass = tracing.spans().find((s) => s.spanId === voided.parentSpanId)!;
  expect(pass).toMatchObject({ name: 'authorization sweep', traceId: voided.traceId, parentSpanId: undefined });

  // Linked to the span of the checkout's trace that authorized: payments' server span of the call.
  const authorizeRequest = tracing
    .spans()
    .find((s) => s.kind === SERVER && s.traceId === checkoutTrace && s.name === 'POST /internal/payments/authorize');
  expect(authorizeRequest).toBeDefined();
  expect(voided.links).toEqual([{ traceId: checkoutTrace, spanId: authorizeRequest!.spanId }]);
});
