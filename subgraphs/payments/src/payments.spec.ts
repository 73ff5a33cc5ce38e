import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { recordStatements, ServiceClient, statementKind, TokenSigner, type RunningService } from '@shop/kit';
import { createTestDatabase, createTestKeys, metricValue, subgraphCaller, type TestDatabase } from '@shop/kit/testing';
import { startPayments } from './index';

const keys = createTestKeys(['gateway', 'orders']);
let db: TestDatabase;
let service: RunningService;
let pg: Client;
let asOrders: ServiceClient;
let asGateway: ServiceClient;
let graphql: ReturnType<typeof subgraphCaller>;

const clientAs = (caller: 'orders' | 'gateway') =>
  new ServiceClient({
    caller,
    target: 'payments',
    baseUrl: service.url,
    signer: new TokenSigner(keys.services[caller].privateKey, keys.services[caller].kid),
    tokenTtlSeconds: 30,
    timeoutMs: 10_000,
  });

interface Payment {
  id: string;
  orderId: string;
  status: string;
  amount: { amount: number; currency: string };
  cardBrand: string | null;
  cardLast4: string | null;
  failureReason: string | null;
}

const authorizeBody = (overrides: Record<string, unknown> = {}) => ({
  idempotencyKey: `key-${randomUUID()}`,
  orderId: randomUUID(),
  userId: randomUUID(),
  amount: 2599,
  currency: 'USD',
  paymentToken: 'tok_visa',
  ...overrides,
});

const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return (error as { extensions?: { code?: string } }).extensions?.code ?? String(error);
  }
};

async function events(paymentId: string) {
  const { rows } = await pg.query(
    'SELECT from_status, to_status, reason FROM payment_events WHERE payment_id = $1 ORDER BY created_at, to_status',
    [paymentId],
  );
  return rows.map((r) => `${r.from_status ?? '-'}>${r.to_status}`);
}

beforeAll(async () => {
  db = await createTestDatabase('payments');
  service = await startPayments({ ...keys.envFor('payments'), DATABASE_URL: db.url, PORT: '0', NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  pg = new Client({ connectionString: db.url });
  await pg.connect();
  asOrders = clientAs('orders');
  asGateway = clientAs('gateway');
  graphql = subgraphCaller({ url: service.url, audience: 'payments', key: keys.services.gateway });
});

afterAll(async () => {
  await pg?.end();
  await service?.stop();
  await db?.drop();
});

describe('test-mode provider tokens', () => {
  it.each([
    ['tok_visa', 'AUTHORIZED', 'visa', '4242', null],
    ['tok_mastercard', 'AUTHORIZED', 'mastercard', '4444', null],
    ['tok_chargeDeclined', 'DECLINED', 'visa', expect.any(String), 'card_declined'],
    ['tok_insufficientFunds', 'DECLINED', 'visa', expect.any(String), 'insufficient_funds'],
    ['tok_processingError', 'FAILED', null, null, 'processing_error'],
  ])('%s → %s', async (paymentToken, status, cardBrand, cardLast4, failureReason) => {
    const body = authorizeBody({ paymentToken });
    const payment = await asOrders.call<Payment>('payments/authorize', body);
    expect(payment).toMatchObject({
      orderId: body.orderId,
      status,
      amount: { amount: 2599, currency: 'USD' },
      cardBrand,
      cardLast4,
      failureReason,
    });
    expect(await events(payment.id)).toEqual(['->PROCESSING', `PROCESSING>${status}`]);
  });

  it('refuses an unknown token with BAD_USER_INPUT and stores nothing', async () => {
    const body = authorizeBody({ paymentToken: 'tok_unknown' });
    expect(await codeOf(asOrders.call('payments/authorize', body))).toBe('BAD_USER_INPUT');
    expect(await asOrders.call('payments/get', { orderId: body.orderId })).toBeNull();
  });

  it('refuses malformed input and another currency', async () => {
    expect(await codeOf(asOrders.call('payments/authorize', authorizeBody({ amount: -1 })))).toBe('BAD_USER_INPUT');
    expect(await codeOf(asOrders.call('payments/authorize', authorizeBody({ orderId: 'nope' })))).toBe('BAD_USER_INPUT');
    expect(await codeOf(asOrders.call('payments/authorize', authorizeBody({ currency: 'EUR' })))).toBe('BAD_USER_INPUT');
  });

  it('never stores the token or anything of the card beyond brand and last 4', async () => {
    const body = authorizeBody({ paymentToken: 'tok_mastercard' });
    await asOrders.call('payments/authorize', body);
    const { rows } = await pg.query('SELECT * FROM payments WHERE order_id = $1', [body.orderId]);
    expect(JSON.stringify(rows[0])).not.toContain('tok_mastercard');
    const { rows: columns } = await pg.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'payments' AND column_name ~ '(token|card)'",
    );
    expect(columns.map((c) => c.column_name).sort()).toEqual(['card_brand', 'card_last4']);
  });
});

describe('idempotency', () => {
  it('replays the first result for the same key and body, however concurrently', async () => {
    const body = authorizeBody();
    const results = await Promise.all(Array.from({ length: 10 }, () => asOrders.call<Payment>('payments/authorize', body)));
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(results.every((r) => r.status === 'AUTHORIZED')).toBe(true);
    const { rows } = await pg.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [body.orderId]);
    expect(rows[0].n).toBe(1);
    expect(await events(results[0].id)).toEqual(['->PROCESSING', 'PROCESSING>AUTHORIZED']);
  });

  it('refuses the same key with a different body (CONFLICT)', async () => {
    const body = authorizeBody();
    await asOrders.call('payments/authorize', body);
    expect(await codeOf(asOrders.call('payments/authorize', { ...body, amount: 1 }))).toBe('CONFLICT');
    expect(await codeOf(asOrders.call('payments/authorize', { ...body, paymentToken: 'tok_mastercard' }))).toBe('CONFLICT');
  });

  it('allows one payment per order (another key for the same order is CONFLICT)', async () => {
    const body = authorizeBody();
    await asOrders.call('payments/authorize', body);
    expect(await codeOf(asOrders.call('payments/authorize', { ...body, idempotencyKey: 'another' }))).toBe('CONFLICT');
  });

  it('replays a declined result', async () => {
    const body = authorizeBody({ paymentToken: 'tok_chargeDeclined' });
    const first = await asOrders.call<Payment>('payments/authorize', body);
    const second = await asOrders.call<Payment>('payments/authorize', body);
    expect(second).toEqual(first);
  });
});

describe('transitions', () => {
  it('authorize → capture → refund, each repeatable, with an event per change', async () => {
    const body = authorizeBody();
    const authorized = await asOrders.call<Payment>('payments/authorize', body);
    const captured = await Promise.all([1, 2, 3].map(() => asOrders.call<Payment>('payments/capture', { orderId: body.orderId })));
    expect(captured.map((p) => p.status)).toEqual(['CAPTURED', 'CAPTURED', 'CAPTURED']);
    expect(await codeOf(asOrders.call('payments/void', { orderId: body.orderId }))).toBe('BAD_USER_INPUT');
    const refunded = await asOrders.call<Payment>('payments/refund', { orderId: body.orderId });
    expect(refunded.status).toBe('REFUNDED');
    expect((await asOrders.call<Payment>('payments/refund', { orderId: body.orderId })).status).toBe('REFUNDED');
    expect(await codeOf(asOrders.call('payments/capture', { orderId: body.orderId }))).toBe('BAD_USER_INPUT');
    expect(await events(authorized.id)).toEqual([
      '->PROCESSING',
      'PROCESSING>AUTHORIZED',
      'AUTHORIZED>CAPTURED',
      'CAPTURED>REFUNDED',
    ]);
    expect(await asOrders.call<Payment>('payments/get', { orderId: body.orderId })).toMatchObject({ status: 'REFUNDED' });
  });

  it('round trips of a checkout: authorize in one short transaction plus one statement, capture in two statements', async () => {
    const body = authorizeBody();
    const recorded = recordStatements(service.dataSource);
    try {
      await asOrders.call<Payment>('payments/authorize', body);
      const authorizeStatements = recorded.statements.length;
      expect((await asOrders.call<Payment>('payments/capture', { orderId: body.orderId })).status).toBe('CAPTURED');
      // authorize: the lookup of a replay, then BEGIN, the per-order lock, the insert with its event, COMMIT, then approved with its event.
      expect(recorded.statements.slice(0, authorizeStatements).map(statementKind)).toEqual(['select', 'start', 'select', 'with', 'commit', 'with']);
      // capture: the payment, then captured with its event.
      expect(recorded.statements.slice(authorizeStatements).map(statementKind)).toEqual(['select', 'with']);
    } finally {
      recorded.stop();
    }
    // Each event row was written by the statement that made its change.
    for (const text of recorded.statements.filter((t) => /INSERT INTO payment_events/i.test(t))) expect(text).toMatch(/(INSERT INTO|UPDATE) payments/i);
  });

  it('authorize → void; a voided payment cannot be captured or refunded', async () => {
    const body = authorizeBody();
    const authorized = await asOrders.call<Payment>('payments/authorize', body);
    expect((await asOrders.call<Payment>('payments/void', { orderId: body.orderId })).status).toBe('VOIDED');
    expect((await asOrders.call<Payment>('payments/void', { orderId: body.orderId })).status).toBe('VOIDED');
    expect(await codeOf(asOrders.call('payments/capture', { orderId: body.orderId }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(asOrders.call('payments/refund', { orderId: body.orderId }))).toBe('BAD_USER_INPUT');
    expect(await events(authorized.id)).toEqual(['->PROCESSING', 'PROCESSING>AUTHORIZED', 'AUTHORIZED>VOIDED']);
  });

  it('void of a declined payment or of no payment changes nothing', async () => {
    const body = authorizeBody({ paymentToken: 'tok_insufficientFunds' });
    const declined = await asOrders.call<Payment>('payments/authorize', body);
    expect((await asOrders.call<Payment>('payments/void', { orderId: body.orderId })).status).toBe('DECLINED');
    expect(await asOrders.call('payments/void', { orderId: randomUUID() })).toBeNull();
    expect(await codeOf(asOrders.call('payments/capture', { orderId: body.orderId }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(asOrders.call('payments/refund', { orderId: randomUUID() }))).toBe('NOT_FOUND');
    expect(await events(declined.id)).toEqual(['->PROCESSING', 'PROCESSING>DECLINED']);
  });
});

describe('access', () => {
  it('accepts internal calls only from orders', async () => {
    expect(await codeOf(asGateway.call('payments/get', { orderId: randomUUID() }))).toBe('FORBIDDEN');
    expect(await codeOf(asGateway.call('payments/authorize', authorizeBody()))).toBe('FORBIDDEN');
    const response = await fetch(`${service.url}/internal/payments/get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: randomUUID() }),
    });
    expect(response.status).toBe(401);
  });
});

describe('GraphQL', () => {
  const query = `query ($reps: [_Any!]!) { _entities(representations: $reps) {
    ... on Order { id payment { id status amount { amount currency } cardBrand cardLast4 failureReason createdAt } }
    ... on Payment { id status }
  } }`;

  it('contributes Order.payment (null when the order has none) and resolves Payment by id', async () => {
    const body = authorizeBody({ paymentToken: 'tok_chargeDeclined', amount: 1200 });
    const payment = await asOrders.call<Payment>('payments/authorize', body);
    const none = randomUUID();
    const result = await graphql(query, {
      reps: [
        { __typename: 'Order', id: body.orderId },
        { __typename: 'Order', id: none },
        { __typename: 'Payment', id: payment.id },
      ],
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      _entities: [
        {
          id: body.orderId,
          payment: {
            id: payment.id,
            status: 'DECLINED',
            amount: { amount: 1200, currency: 'USD' },
            cardBrand: 'visa',
            cardLast4: expect.any(String),
            failureReason: 'card_declined',
            createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
          },
        },
        { id: none, payment: null },
        { id: payment.id, status: 'DECLINED' },
      ],
    });
  });

  it('refuses GraphQL without a platform token', async () => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ _service { sdl } }' }),
    });
    expect(response.status).toBe(401);
  });

  it('counts declines by reason and refunded money by currency', async () => {
    const declines = () => metricValue(service.url, 'payments_declines_total', { outcome: 'declined', reason: 'card_declined' });
    const refunded = () => metricValue(service.url, 'payments_refunded_amount_total', { currency: 'USD' });
    const [declinesBefore, refundedBefore] = [await declines(), await refunded()];
    await asOrders.call<Payment>('payments/authorize', authorizeBody({ paymentToken: 'tok_chargeDeclined' }));
    const body = authorizeBody({ amount: 4321 });
    await asOrders.call<Payment>('payments/authorize', body);
    await asOrders.call<Payment>('payments/capture', { orderId: body.orderId });
    await asOrders.call<Payment>('payments/refund', { orderId: body.orderId });
    await asOrders.call<Payment>('payments/refund', { orderId: body.orderId }); // a repeat refunds nothing more
    expect({ declines: (await declines()) - declinesBefore, refunded: (await refunded()) - refundedBefore }).toEqual({ declines: 1, refunded: 4321 });
  });

  it('counts outcomes on /metrics', async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(text).toMatch(/payments_authorizations_total\{outcome="authorized",service="payments"\} [1-9]/);
    expect(text).toMatch(/payments_authorizations_total\{outcome="declined",service="payments"\} [1-9]/);
    expect(text).toMatch(/payments_refunds_total\{service="payments"\} [1-9]/);
  });
});
