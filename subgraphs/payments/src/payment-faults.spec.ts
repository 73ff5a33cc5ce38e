/**
 * Payments under a slow or late provider, and racing an undo: the test provider answers after
 * TEST_PROVIDER_DELAY_MS for the *_delayed tokens. One service answers within its provider
 * timeout ("answers after a delay"); the other gives up first, so the provider approves or
 * declines after its caller timed out. The provider remembers every hold it made, so the
 * tests can see that none is left behind.
 */
import { randomUUID } from 'node:crypto';
import { ServiceClient, TokenSigner } from '@shop/kit';
import { createTestDatabase, createTestKeys, waitFor, type TestDatabase } from '@shop/kit/testing';
import { startPayments, type PaymentsService } from './index';
import { testReference, type TestPaymentProvider } from './provider/test-provider';
import { PAYMENT_TRANSITIONS } from './services/payment-machine';

jest.setTimeout(60_000);

const keys = createTestKeys(['gateway', 'orders']);
const dbs: TestDatabase[] = [];
const services: PaymentsService[] = [];

interface Payment {
  id: string;
  orderId: string;
  status: string;
  failureReason: string | null;
}

async function start(env: Record<string, string>) {
  const db = await createTestDatabase('payfault');
  dbs.push(db);
  const service = await startPayments({ ...keys.envFor('payments'), DATABASE_URL: db.url, PORT: '0', NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env });
  services.push(service);
  const client = new ServiceClient({
    caller: 'orders',
    target: 'payments',
    baseUrl: service.url,
    signer: new TokenSigner(keys.services.orders.privateKey, keys.services.orders.kid),
    tokenTtlSeconds: 30,
    timeoutMs: 15_000,
  });
  return { service, provider: service.provider as TestPaymentProvider, call: <T>(route: string, body: unknown) => client.call<T>(`payments/${route}`, body) };
}

let patient: Awaited<ReturnType<typeof start>>;
let hasty: Awaited<ReturnType<typeof start>>;

beforeAll(async () => {
  patient = await start({ PROVIDER_TIMEOUT_MS: '5000', TEST_PROVIDER_DELAY_MS: '800' });
  hasty = await start({ PROVIDER_TIMEOUT_MS: '200', TEST_PROVIDER_DELAY_MS: '800' });
});
afterAll(async () => {
  for (const service of services) await service.stop();
  for (const db of dbs) await db.drop();
});

const body = (paymentToken: string) => ({
  idempotencyKey: `order:${randomUUID()}`,
  orderId: randomUUID(),
  userId: randomUUID(),
  amount: 1500,
  currency: 'USD',
  paymentToken,
});
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'no error',
    (error: { extensions?: { code?: string } }) => error.extensions?.code ?? String(error),
  );

describe('a provider that answers after a delay', () => {
  it('approves and declines in its own time, within the timeout', async () => {
    const approved = await patient.call<Payment>('authorize', body('tok_visa_delayed'));
    expect(approved.status).toBe('AUTHORIZED');
    expect(await patient.call<Payment>('authorize', body('tok_chargeDeclined_delayed'))).toMatchObject({ status: 'DECLINED', failureReason: 'card_declined' });
  });

  it('settle loses the race to a void (the order was undone meanwhile): the late approval is voided at the provider', async () => {
    const request = body('tok_visa_delayed');
    const authorizing = patient.call<Payment>('authorize', request);
    await waitFor(async () => (await patient.call<Payment | null>('get', { orderId: request.orderId }))?.status === 'PROCESSING', 'the authorization to be under way');
    expect((await patient.call<Payment>('void', { orderId: request.orderId })).status).toBe('VOIDED');
    expect((await authorizing).status).toBe('VOIDED');
    // The provider did approve; that hold was let go, not left on the card.
    expect(patient.provider.holdState(testReference(request.idempotencyKey))).toBe('voided');
    const events = await patient.service.dataSource.query(
      `SELECT e.event FROM payment_events e JOIN payments p ON p.id = e.payment_id WHERE p.order_id = $1 ORDER BY e.created_at, e.id`,
      [request.orderId],
    );
    expect(events.map((e: { event: string }) => e.event)).toEqual(['authorize_requested', 'voided']);
  });

  it('an authorization that arrives after its order was undone is never made', async () => {
    const request = body('tok_visa');
    expect(await patient.call('void', { orderId: request.orderId })).toBeNull();
    const holdsBefore = patient.provider.openHolds().length;
    expect(await patient.call<Payment>('authorize', request)).toMatchObject({ status: 'VOIDED', failureReason: 'order_undone' });
    expect(patient.provider.openHolds()).toHaveLength(holdsBefore);
  });
});

describe('a provider that answers after the caller timed out', () => {
  it('approves late: the payment stays PROCESSING (not FAILED), and asking again gets the approval', async () => {
    const request = body('tok_visa_delayed');
    expect(await codeOf(hasty.call('authorize', request))).toBe('SERVICE_UNAVAILABLE');
    expect(await hasty.call<Payment>('get', { orderId: request.orderId })).toMatchObject({ status: 'PROCESSING' });
    // Re-driving the idempotent authorize (what orders' recovery does) learns the provider's answer.
    await waitFor(async () => (await hasty.call<Payment>('authorize', request).catch(() => null))?.status === 'AUTHORIZED', 'the late approval to be learnt');
    const reference = testReference(request.idempotencyKey);
    expect(hasty.provider.holdState(reference)).toBe('held');
    await hasty.call('capture', { orderId: request.orderId });
    expect(hasty.provider.holdState(reference)).toBe('captured');
  });

  it('declines late: a retry learns DECLINED', async () => {
    const request = body('tok_chargeDeclined_delayed');
    expect(await codeOf(hasty.call('authorize', request))).toBe('SERVICE_UNAVAILABLE');
    await waitFor(async () => (await hasty.call<Payment>('authorize', request).catch(() => null))?.status === 'DECLINED', 'the late decline to be learnt');
  });
});

describe('the payments table', () => {
  it('every row is a path a payment really took in this suite', async () => {
    // The rows not walked above: provider failure, capture after a void attempt, refund, void of an authorization.
    const failed = body('tok_processingError');
    expect((await patient.call<Payment>('authorize', failed)).status).toBe('FAILED');
    const refunded = body('tok_visa');
    await patient.call('authorize', refunded);
    await patient.call('capture', { orderId: refunded.orderId });
    await patient.call('refund', { orderId: refunded.orderId });
    const voided = body('tok_visa');
    await patient.call('authorize', voided);
    await patient.call('void', { orderId: voided.orderId });
    const seen = new Set<string>();
    for (const s of [patient, hasty]) {
      const rows = (await s.service.dataSource.query(`SELECT DISTINCT from_status, event FROM payment_events`)) as { from_status: string | null; event: string }[];
      for (const row of rows) seen.add(`${row.from_status}:${row.event}`);
    }
    expect(PAYMENT_TRANSITIONS.map((t) => `${t.from}:${t.event}`).filter((edge) => !seen.has(edge))).toEqual([]);
  });
});
