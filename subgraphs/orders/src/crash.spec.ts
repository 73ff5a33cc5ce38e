/**
 * Crash recovery: inventory, payments and orders run as separate processes (built first),
 * products in this process. A test-only fault hook makes a process exit abruptly right after
 * a saga step is persisted (orders) or right after an internal call is applied but before it
 * is answered (payments); then the process comes back without the hook and the recovery loop
 * must restore the invariants: no PENDING order, no stock reserved for an order that is not
 * confirmed, no captured payment without a confirmed order, stock consistent.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Identity, RunningService } from '@shop/kit';
import {
  createTestKeys,
  freePort,
  postGraphQL,
  subgraphCaller,
  waitFor,
  type ServiceProcess,
  type TestKeys,
} from '@shop/kit/testing';
import { issueServiceToken, TokenSigner } from '@shop/kit';
import { startProducts } from '../../products/src/index';
import { seedProduct } from '../../products/src/seed';
import { SAGA_STEPS } from './env';
import { ADDRESS, admin, createDatabases, customer, internalClient, serviceEnv, SET_STOCK, type StartedDatabases } from './testing/platform';
import { FaultProxy } from './testing/fault-proxy';
import { ensureBuilt, exited, startProcess } from './testing/processes';

jest.setTimeout(180_000);

// Short calls and a fast recovery loop (a crashed owner's orders are free at once: its locks die with it).
const FAST_RECOVERY = { PAYMENT_TIMEOUT_MS: '1000', SERVICE_TIMEOUT_MS: '1000', RECOVERY_INTERVAL_MS: '300' };
const PRODUCT = seedProduct(1);
const INITIAL_STOCK = 1000;

let keys: TestKeys;
let dbs: StartedDatabases;
let products: RunningService;
let ports: { inventory: number; payments: number; orders: number };
const running: Partial<Record<'inventory' | 'payments' | 'orders', ServiceProcess>> = {};
let ordersDb: Client;
/** Orders reaches inventory through this proxy, which can lose an applied call's answer. */
let inventoryProxy: FaultProxy;
let inventoryProxyUrl: string;

const url = (name: keyof typeof ports) => `http://127.0.0.1:${ports[name]}`;
const internal = (target: 'inventory' | 'payments') => internalClient(keys, target, url(target));

function envFor(name: 'inventory' | 'payments' | 'orders', extra: Record<string, string> = {}) {
  const base = serviceEnv(keys, name, dbs[name].url, { PORT: String(ports[name]), HOST: '127.0.0.1' });
  delete (base as Record<string, string>).LOG_LEVEL;
  if (name === 'orders')
    Object.assign(base, { PRODUCTS_URL: products.url, INVENTORY_URL: inventoryProxyUrl, PAYMENTS_URL: url('payments'), ...FAST_RECOVERY });
  if (name === 'inventory') Object.assign(base, { PRODUCTS_URL: products.url });
  return { ...base, ...extra };
}

async function start(name: 'inventory' | 'payments' | 'orders', extra: Record<string, string> = {}) {
  running[name] = await startProcess(name, ports[name], envFor(name, extra));
  return running[name]!;
}
async function restart(name: 'inventory' | 'payments' | 'orders', extra: Record<string, string> = {}) {
  await running[name]?.kill('SIGKILL');
  return start(name, extra);
}

/** Calls the orders subgraph (or another replica of it) as the gateway would; a dropped connection is `{ dropped: true }`. */
async function ordersGql<T>(query: string, variables: Record<string, unknown>, who: Identity, baseUrl = url('orders')) {
  const signer = new TokenSigner(keys.services.gateway.privateKey, keys.services.gateway.kid);
  try {
    return await postGraphQL<T>(`${baseUrl}/graphql`, query, variables, {
      authorization: `Bearer ${issueServiceToken(signer, 'gateway', 'orders', who, 30)}`,
    });
  } catch {
    return { dropped: true as const };
  }
}

async function buyer(quantity = 1) {
  const who = customer();
  const result = await ordersGql(`mutation ($id: ID!, $q: Int!) { addToCart(productId: $id, quantity: $q) { itemCount } }`, { id: PRODUCT.id, q: quantity }, who);
  if (!('status' in result) || result.errors) throw new Error(`addToCart failed: ${JSON.stringify(result)}`);
  return who;
}
const CHECKOUT = `mutation ($input: CheckoutInput!) { checkout(input: $input) { id status } }`;
const checkoutInput = (idempotencyKey: string, paymentToken: string) => ({ idempotencyKey, paymentToken, shippingAddress: ADDRESS });
const checkout = (who: Identity, paymentToken = 'tok_visa', idempotencyKey = randomUUID()) =>
  ordersGql<{ checkout: { id: string; status: string } }>(CHECKOUT, { input: checkoutInput(idempotencyKey, paymentToken) }, who);

interface OrderRow {
  id: string;
  status: string;
  saga_state: string;
  quantity: number;
}

/** Every invariant the contract promises after a crash; returns what is still wrong (empty when all hold). */
async function violations(): Promise<string[]> {
  const { rows } = await ordersDb.query<OrderRow>(
    `SELECT o.id, o.status, o.saga_state, COALESCE(sum(l.quantity), 0)::int AS quantity
       FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id GROUP BY o.id`,
  );
  const problems: string[] = [];
  let confirmedUnits = 0;
  for (const order of rows) {
    const [reservation, payment] = await Promise.all([
      internal('inventory').call<{ status: string }>('reservations/get', { orderId: order.id }),
      internal('payments').call<{ status: string } | null>('payments/get', { orderId: order.id }),
    ]);
    const state = `${order.id}: ${order.status}/${order.saga_state} reservation ${reservation.status} payment ${payment?.status ?? 'none'}`;
    if (order.saga_state !== 'completed' && order.saga_state !== 'failed') problems.push(`unfinished saga ${state}`);
    if (order.status === 'PENDING') problems.push(`pending ${state}`);
    if (order.status === 'CONFIRMED') {
      confirmedUnits += order.quantity;
      if (reservation.status !== 'COMMITTED' || payment?.status !== 'CAPTURED') problems.push(`confirmed but not settled ${state}`);
    } else if (order.status === 'CANCELLED' && payment?.status === 'REFUNDED') {
      // a cancelled order: its stock came back (checked by the stock total below)
    } else {
      if (reservation.status === 'RESERVED' || reservation.status === 'COMMITTED') problems.push(`stock held for a dead order ${state}`);
      if (payment && ['AUTHORIZED', 'CAPTURED', 'PROCESSING'].includes(payment.status)) problems.push(`money held for a dead order ${state}`);
    }
  }
  const { items } = await internal('inventory').call<{ items: { available: number }[] }>('stock/availability', { productIds: [PRODUCT.id] });
  if (items[0].available !== INITIAL_STOCK - confirmedUnits)
    problems.push(`stock: available ${items[0].available}, expected ${INITIAL_STOCK} - ${confirmedUnits} confirmed`);
  return problems;
}

async function expectRecovered() {
  let last: string[] = [];
  await waitFor(async () => (last = await violations()).length === 0, 'recovery to restore the invariants', 60_000).catch((error) => {
    throw new Error(`${error.message}\n${last.join('\n')}\n--- orders output:\n${running.orders?.output().slice(-3000)}`);
  });
}

const statusOf = async (orderId: string) =>
  (await ordersDb.query<{ status: string; failure_reason: string | null }>('SELECT status, failure_reason FROM orders WHERE id = $1', [orderId])).rows[0];
const newestOrderOf = async (who: Identity) =>
  (await ordersDb.query<{ id: string }>('SELECT id FROM orders WHERE user_id = $1', [who.userId])).rows[0]?.id;

beforeAll(async () => {
  for (const workspace of ['kit', 'inventory', 'payments', 'orders'] as const) ensureBuilt(workspace);
  keys = createTestKeys(['gateway', 'orders', 'inventory']);
  dbs = await createDatabases();
  ports = { inventory: await freePort(), payments: await freePort(), orders: await freePort() };
  products = await startProducts(serviceEnv(keys, 'products', dbs.products.url), { seedProducts: 2 });
  inventoryProxy = new FaultProxy(() => url('inventory'));
  inventoryProxyUrl = await inventoryProxy.start();
  await start('inventory');
  await start('payments');
  await start('orders');
  const setStock = subgraphCaller({ url: url('inventory'), audience: 'inventory', key: keys.services.gateway });
  const result = await setStock(SET_STOCK, { productId: PRODUCT.id, onHand: INITIAL_STOCK }, admin());
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  ordersDb = new Client({ connectionString: dbs.orders.url });
  await ordersDb.connect();
}, 300_000);

afterAll(async () => {
  await ordersDb?.end().catch(() => undefined);
  for (const service of Object.values(running)) await service?.kill('SIGKILL');
  await products?.stop();
  await inventoryProxy?.stop();
  if (dbs) await Promise.all(Object.values(dbs).map((db) => db.drop().catch(() => undefined)));
});

describe('orders crashes right after each saga step', () => {
  const expected: Record<(typeof SAGA_STEPS)[number], string> = {
    // Rolled forward: the order kept its payment token, so recovery can still authorize it.
    order_created: 'CONFIRMED',
    stock_reserved: 'CONFIRMED',
    payment_authorized: 'CONFIRMED',
    order_confirmed: 'CONFIRMED',
    reservation_committed: 'CONFIRMED',
    payment_captured: 'CONFIRMED',
  };

  it.each(SAGA_STEPS.map((step) => [step, expected[step]]))('after %s → %s', async (step, outcome) => {
    await restart('orders', { FAULT_CRASH_AFTER: step });
    const who = await buyer(2);
    const answer = await checkout(who);
    expect(answer).toEqual({ dropped: true });
    expect(await exited(running.orders!)).toBe(137);
    const orderId = await newestOrderOf(who);
    expect(orderId).toBeDefined();
    await start('orders');
    await expectRecovered();
    expect((await statusOf(orderId)).status).toBe(outcome);
    // The customer's view: the order is final, and a confirmed one emptied the cart.
    const cart = await ordersGql<{ cart: { itemCount: number } }>(`{ cart { itemCount } }`, {}, who);
    expect('data' in cart && cart.data!.cart.itemCount).toBe(outcome === 'CONFIRMED' ? 0 : 2);
  });
});

describe('payments crashes after applying a call, before answering', () => {
  afterEach(async () => {
    if (running.payments?.child.exitCode !== null) await start('payments');
  });

  it('payments/authorize: the order is confirmed by recovery', async () => {
    await restart('payments', { FAULT_CRASH_AFTER_APPLY: 'payments/authorize' });
    const who = await buyer(1);
    const answer = await checkout(who);
    expect('errors' in answer && answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(await exited(running.payments!)).toBe(137);
    await start('payments');
    await expectRecovered();
    expect((await statusOf((await newestOrderOf(who))!)).status).toBe('CONFIRMED');
  });

  it('payments/authorize of a declined card: PAYMENT_FAILED by recovery, stock released', async () => {
    await restart('payments', { FAULT_CRASH_AFTER_APPLY: 'payments/authorize' });
    const who = await buyer(1);
    await checkout(who, 'tok_insufficientFunds');
    expect(await exited(running.payments!)).toBe(137);
    await start('payments');
    await expectRecovered();
    expect(await statusOf((await newestOrderOf(who))!)).toEqual({ status: 'PAYMENT_FAILED', failure_reason: 'insufficient_funds' });
  });

  it('payments/capture: the confirmed order is returned and recovery captures', async () => {
    await restart('payments', { FAULT_CRASH_AFTER_APPLY: 'payments/capture' });
    const who = await buyer(1);
    const answer = await checkout(who);
    expect('data' in answer && answer.data?.checkout.status).toBe('CONFIRMED');
    expect(await exited(running.payments!)).toBe(137);
    await start('payments');
    await expectRecovered();
  });

  it('payments/refund during cancelOrder: recovery finishes the cancel', async () => {
    const who = await buyer(3);
    const placed = await checkout(who);
    const orderId = 'data' in placed ? placed.data!.checkout.id : '';
    await expectRecovered();
    await restart('payments', { FAULT_CRASH_AFTER_APPLY: 'payments/refund' });
    const cancel = await ordersGql(`mutation ($id: ID!) { cancelOrder(id: $id) { status } }`, { id: orderId }, who);
    expect('errors' in cancel && cancel.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(await exited(running.payments!)).toBe(137);
    await start('payments');
    await expectRecovered();
    expect((await statusOf(orderId)).status).toBe('CANCELLED');
  });
});

describe('inventory crashes after applying a call, before answering', () => {
  // Inventory has no fault hook of its own: the proxy lets the call through, kills inventory,
  // and drops the answer, which is what orders would see if inventory died at that moment.
  const crashInventoryAfter = (route: string) =>
    inventoryProxy.crashAfterApply(route, async () => {
      await running.inventory!.kill('SIGKILL');
    });

  it('reservations/reserve: recovery rolls the order forward and confirms it', async () => {
    const who = await buyer(2);
    crashInventoryAfter('reservations/reserve');
    const answer = await checkout(who);
    expect('errors' in answer && answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    await start('inventory');
    await expectRecovered();
    expect(await statusOf((await newestOrderOf(who))!)).toEqual({ status: 'CONFIRMED', failure_reason: null });
  });

  it('reservations/commit: the confirmed order is returned and recovery commits', async () => {
    const who = await buyer(1);
    crashInventoryAfter('reservations/commit');
    const answer = await checkout(who);
    expect('data' in answer && answer.data?.checkout.status).toBe('CONFIRMED');
    await start('inventory');
    await expectRecovered();
  });

  it('reservations/release after a declined payment: PAYMENT_FAILED, recovery releases', async () => {
    const who = await buyer(1);
    crashInventoryAfter('reservations/release');
    const answer = await checkout(who, 'tok_chargeDeclined');
    expect('data' in answer && answer.data?.checkout.status).toBe('PAYMENT_FAILED');
    await start('inventory');
    await expectRecovered();
  });

  it('stock/restock during cancelOrder: recovery finishes the cancel', async () => {
    const who = await buyer(2);
    const placed = await checkout(who);
    const orderId = 'data' in placed ? placed.data!.checkout.id : '';
    await expectRecovered();
    crashInventoryAfter('stock/restock');
    const cancel = await ordersGql(`mutation ($id: ID!) { cancelOrder(id: $id) { status } }`, { id: orderId }, who);
    expect('errors' in cancel && cancel.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    await start('inventory');
    await expectRecovered();
    expect((await statusOf(orderId)).status).toBe('CANCELLED');
  });
});

describe('two orders replicas: the owner of a checkout dies', () => {
  let replica: ServiceProcess | undefined;
  const startReplica = async (extra: Record<string, string>) => {
    const port = await freePort();
    replica = await startProcess('orders', port, envFor('orders', { PORT: String(port), ...extra }));
    return `http://127.0.0.1:${port}`;
  };
  afterEach(async () => {
    await replica?.kill('SIGKILL');
    replica = undefined;
    if (running.orders?.child.exitCode !== null) await start('orders');
  });

  it('a retry with the same key on the other replica takes the order over at once and confirms it', async () => {
    // The other replica's recovery loop has done its first pass and will not run again during the test.
    const other = await startReplica({ RECOVERY_INTERVAL_MS: '59000' });
    await restart('orders', { FAULT_CRASH_AFTER: 'stock_reserved' });
    const who = await buyer(1);
    const key = randomUUID();
    expect(await checkout(who, 'tok_visa', key)).toEqual({ dropped: true });
    expect(await exited(running.orders!)).toBe(137);
    const retry = await ordersGql<{ checkout: { id: string; status: string } }>(CHECKOUT, { input: checkoutInput(key, 'tok_visa') }, who, other);
    expect('data' in retry && retry.data?.checkout).toEqual({ id: await newestOrderOf(who), status: 'CONFIRMED' });
  });

  it('the other replica takes the orphaned checkout over within 10 s of the crash (default recovery interval)', async () => {
    await startReplica({ RECOVERY_INTERVAL_MS: '3000' });
    await restart('orders', { FAULT_CRASH_AFTER: 'payment_authorized' });
    const who = await buyer(1);
    expect(await checkout(who)).toEqual({ dropped: true });
    expect(await exited(running.orders!)).toBe(137);
    const crashedAt = Date.now();
    const orderId = (await newestOrderOf(who))!;
    const done = async () =>
      (await ordersDb.query<{ saga_state: string }>('SELECT saga_state FROM orders WHERE id = $1', [orderId])).rows[0].saga_state === 'completed';
    await waitFor(done, 'the other replica to finish the order', 30_000);
    // The issue's promise, measured: taken over and finished within 10 s of the owner's death.
    expect(Date.now() - crashedAt).toBeLessThan(10_000);
    expect((await statusOf(orderId)).status).toBe('CONFIRMED');
  });
});

describe('a random service is SIGKILLed while checkouts are in flight', () => {
  it('every checkout ends confirmed or undone, and stock adds up', async () => {
    const victim = (['orders', 'inventory', 'payments'] as const)[Math.floor(Math.random() * 3)];
    const buyers = await Promise.all(Array.from({ length: 20 }, () => buyer(1)));
    const tokens = ['tok_visa', 'tok_visa', 'tok_visa', 'tok_chargeDeclined'];
    const inFlight = buyers.map((who, i) => checkout(who, tokens[i % tokens.length]));
    // Kill once the first orders exist, while the rest are still on their way.
    await waitFor(async () => {
      const { rows } = await ordersDb.query('SELECT count(*)::int AS n FROM orders WHERE user_id = ANY($1)', [buyers.map((b) => b.userId)]);
      return rows[0].n >= 3;
    }, 'the first checkouts to start', 30_000);
    await running[victim]!.kill('SIGKILL');
    await Promise.all(inFlight);
    await start(victim);
    await expectRecovered();
    const { rows } = await ordersDb.query<{ status: string }>('SELECT status FROM orders WHERE user_id = ANY($1)', [buyers.map((b) => b.userId)]);
    expect(rows.every((row) => ['CONFIRMED', 'PAYMENT_FAILED', 'CANCELLED'].includes(row.status))).toBe(true);
  });
});
