/**
 * The checkout saga as a table, driven on the real services (products, inventory, payments,
 * orders on their own databases). Faults are injected where they really happen: a trigger
 * that makes one write of one customer's order fail in the orders database, or a
 * reservation's commit fail in the inventory database, a reservation that expires.
 * Recovery is run by hand (its loop is slowed down) so each test decides when it runs.
 */
import { randomUUID } from 'node:crypto';
import type { Identity } from '@shop/kit';
import { waitFor } from '@shop/kit/testing';
import type { DataSource } from 'typeorm';
import { SAGA_TRANSITIONS, stepIn, TERMINAL_STATES, transitionFor } from './services/saga-machine';
import { ADDRESS, admin, catalogProduct, customer, errorCode, startPlatform, type Platform } from './testing/platform';
import type { SagaState } from './entities/order.entity';

jest.setTimeout(120_000);

let p: Platform;

beforeAll(async () => {
  p = await startPlatform({
    seedProducts: 8,
    ordersEnv: { RECOVERY_INTERVAL_MS: '59000' },
    // The provider answers *_delayed tokens after 1 s, past payments' 300 ms provider timeout; the sweeper runs by hand.
    paymentsEnv: { PROVIDER_TIMEOUT_MS: '300', TEST_PROVIDER_DELAY_MS: '1000', AUTHORIZATION_SWEEP_GRACE_MS: '0', AUTHORIZATION_SWEEP_INTERVAL_MS: '600000' },
  });
  for (let n = 1; n <= 8; n++) await p.setStock(catalogProduct(n).id, 50);
});
afterAll(async () => {
  await p?.close();
});

interface OrderRow {
  id: string;
  status: string;
  saga_state: string;
  failure_reason: string | null;
  payment_token: string | null;
}

async function buyer(n: number, quantity: number) {
  const who = customer();
  const result = await p.gql(`mutation ($id: ID!, $q: Int!) { addToCart(productId: $id, quantity: $q) { itemCount } }`, { id: catalogProduct(n).id, q: quantity }, who);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return who;
}
const checkout = (who: Identity, idempotencyKey: string, paymentToken = 'tok_visa') =>
  p.gql<{ checkout: { id: string; status: string } }>(
    `mutation ($input: CheckoutInput!) { checkout(input: $input) { id status } }`,
    { input: { idempotencyKey, paymentToken, shippingAddress: ADDRESS } },
    who,
  );
const orderOf = async (who: Identity) =>
  (await p.ordersDb.query<OrderRow>(`SELECT id, status, saga_state, failure_reason, payment_token FROM orders WHERE user_id = $1`, [who.userId])).rows[0];
const reservation = async (orderId: string) => (await p.internal('inventory').call<{ status: string }>('reservations/get', { orderId })).status;
const payment = async (orderId: string) => (await p.internal('payments').call<{ status: string } | null>('payments/get', { orderId }))?.status ?? 'none';
const cartCount = async (who: Identity) => (await p.gql<{ cart: { itemCount: number } }>(`{ cart { itemCount } }`, {}, who)).data!.cart.itemCount;
const history = async (orderId: string) =>
  (await p.ordersDb.query<{ event: string; to_state: string }>(`SELECT event, to_state FROM order_events WHERE order_id = $1 ORDER BY id`, [orderId])).rows.map(
    (r) => `${r.event}→${r.to_state}`,
  );
const available = async (n: number) =>
  (await p.internal('inventory').call<{ items: { available: number }[] }>('stock/availability', { productIds: [catalogProduct(n).id] })).items[0].available;

/** Makes one kind of write fail (a trigger raising an error) until the returned function is called. */
async function failWrites(db: { query: (sql: string) => Promise<unknown> }, table: string, when: string): Promise<() => Promise<void>> {
  const name = `fault_${randomUUID().replace(/-/g, '')}`;
  await db.query(`CREATE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN IF ${when} THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
  await db.query(`CREATE TRIGGER ${name} BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  return async () => {
    await db.query(`DROP TRIGGER ${name} ON ${table}`);
    await db.query(`DROP FUNCTION ${name}()`);
  };
}
/** The orders database refuses to move this customer's order into `state`. */
const failOrderMove = (who: Identity, state: SagaState) =>
  failWrites(p.ordersDb, 'orders', `NEW.user_id = '${who.userId}' AND NEW.saga_state = '${state}' AND OLD.saga_state <> '${state}'`);

/** Expires the order's reservation now, as the sweeper would after the TTL (its units go back on sale). */
async function expireReservation(inventoryDb: DataSource, orderId: string) {
  await inventoryDb.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE order_id = $1`, [orderId]);
  await waitFor(async () => (await reservation(orderId)) === 'EXPIRED', 'the sweeper to expire the reservation', 20_000);
}

/** A confirmed order whose commit failed once (inventory refused the write): left at order_confirmed. */
async function confirmedNotCommitted(n: number, quantity: number) {
  const who = await buyer(n, quantity);
  const heal = await failWrites(
    p.inventory.dataSource,
    'reservations',
    `NEW.status = 'COMMITTED' AND EXISTS (SELECT 1 FROM reservation_lines WHERE order_id = NEW.order_id AND product_id = '${catalogProduct(n).id}')`,
  );
  const placed = await checkout(who, randomUUID());
  await heal();
  // The customer has their confirmed order; committing it is recovery's job now.
  expect(placed.data!.checkout.status).toBe('CONFIRMED');
  const order = await orderOf(who);
  expect(order.saga_state).toBe('order_confirmed');
  return { who, order };
}

describe('the saga table', () => {
  it('has one row per (state, event), a step in every state that is not terminal, and every state reachable and able to end', () => {
    const keys = SAGA_TRANSITIONS.map((t) => `${t.from}:${t.event}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const t of SAGA_TRANSITIONS) expect(transitionFor(t.from, t.event)).toBe(t);
    const states = new Set<SagaState>(SAGA_TRANSITIONS.map((t) => t.to));
    for (const state of states) {
      const into = SAGA_TRANSITIONS.filter((t) => t.to === state);
      expect(new Set(into.map((t) => t.then)).size).toBe(1); // a state runs one step, however it was entered
      const out = SAGA_TRANSITIONS.filter((t) => t.from === state);
      if (TERMINAL_STATES.includes(state)) expect(stepIn(state)).toBeNull();
      else expect(out.length).toBeGreaterThan(0);
      if (stepIn(state) === null && !TERMINAL_STATES.includes(state)) throw new Error(`${state} has no step`);
    }
    // From every state some path leads to a terminal state.
    const ends = (state: SagaState, seen = new Set<SagaState>()): boolean =>
      TERMINAL_STATES.includes(state) ||
      SAGA_TRANSITIONS.some((t) => t.from === state && !seen.has(t.to) && ends(t.to, new Set([...seen, state])));
    for (const state of states) expect(ends(state)).toBe(true);
  });
});

describe('a first checkout never answers PENDING; the same key again finishes the order (findings 4 and 2)', () => {
  it('the confirm write fails: an error, not PENDING; the retry takes the order over at once and confirms it', async () => {
    const who = await buyer(1, 2);
    const key = randomUUID();
    const heal = await failOrderMove(who, 'order_confirmed');
    const first = await checkout(who, key);
    expect(first.data?.checkout ?? null).toBeNull();
    expect(errorCode(first)).toBe('INTERNAL_SERVER_ERROR');
    const stuck = await orderOf(who);
    expect([stuck.status, stuck.saga_state]).toEqual(['PENDING', 'payment_authorized']);
    await heal();
    const retry = await checkout(who, key);
    expect(retry.data!.checkout).toEqual({ id: stuck.id, status: 'CONFIRMED' });
    expect([await reservation(stuck.id), await payment(stuck.id), await cartCount(who)]).toEqual(['COMMITTED', 'CAPTURED', 0]);
    expect((await orderOf(who)).payment_token).toBeNull();
    expect(await history(stuck.id)).toEqual([
      'created→order_created',
      'reserved→stock_reserved',
      'authorized→payment_authorized',
      'confirmed→order_confirmed',
      'committed→reservation_committed',
      'captured→payment_captured',
      'cart_emptied→completed',
    ]);
  });

  it('recovery rolls an interrupted checkout forward with the token the order kept', async () => {
    const who = await buyer(1, 1);
    const heal = await failOrderMove(who, 'stock_reserved');
    expect(errorCode(await checkout(who, randomUUID()))).toBe('INTERNAL_SERVER_ERROR');
    const stuck = await orderOf(who);
    expect([stuck.saga_state, stuck.payment_token]).toEqual(['order_created', 'tok_visa']);
    await heal();
    expect(await p.orders.recoverNow()).toBeGreaterThanOrEqual(1);
    expect(await orderOf(who)).toMatchObject({ status: 'CONFIRMED', saga_state: 'completed', payment_token: null });
    expect([await reservation(stuck.id), await payment(stuck.id)]).toEqual(['COMMITTED', 'CAPTURED']);
  });

  it('an order that cannot be paid any more (no token left) is cancelled and its stock released', async () => {
    const who = await buyer(1, 1);
    const heal = await failOrderMove(who, 'stock_reserved');
    await checkout(who, randomUUID());
    const stuck = await orderOf(who);
    await heal();
    await p.ordersDb.query(`UPDATE orders SET payment_token = NULL WHERE id = $1`, [stuck.id]);
    await p.orders.recoverNow();
    expect(await orderOf(who)).toMatchObject({ status: 'CANCELLED', saga_state: 'failed', failure_reason: 'checkout_interrupted' });
    expect([await reservation(stuck.id), await payment(stuck.id), await cartCount(who)]).toEqual(['RELEASED', 'none', 1]);
  });
});

describe('a reservation that expires under the saga (finding 6)', () => {
  it('commit refused as EXPIRED, stock still there: renewed, committed and captured', async () => {
    const before = await available(2);
    const { who, order } = await confirmedNotCommitted(2, 3);
    await expireReservation(p.inventory.dataSource, order.id);
    expect(await available(2)).toBe(before);
    await p.orders.recoverNow();
    expect(await orderOf(who)).toMatchObject({ status: 'CONFIRMED', saga_state: 'completed' });
    expect([await reservation(order.id), await payment(order.id), await available(2)]).toEqual(['COMMITTED', 'CAPTURED', before - 3]);
  });

  it('commit refused as EXPIRED and the units sold meanwhile: cancelled, payment voided, nothing held; never confirmed without a capture', async () => {
    await p.setStock(catalogProduct(3).id, 2);
    const { who, order } = await confirmedNotCommitted(3, 2);
    await expireReservation(p.inventory.dataSource, order.id);
    const rival = await buyer(3, 2);
    expect((await checkout(rival, randomUUID())).data!.checkout.status).toBe('CONFIRMED');
    await p.orders.recoverNow();
    expect(await orderOf(who)).toMatchObject({ status: 'CANCELLED', saga_state: 'failed', failure_reason: 'reservation_expired' });
    expect([await reservation(order.id), await payment(order.id), await available(3)]).toEqual(['EXPIRED', 'VOIDED', 0]);
    expect((await history(order.id)).slice(-2)).toEqual(['stock_lost→compensating', 'compensated→failed']);
  });

  it('taken over before confirming, with the units sold meanwhile: cancelled, voided, never confirmed', async () => {
    await p.setStock(catalogProduct(4).id, 1);
    const who = await buyer(4, 1);
    const heal = await failOrderMove(who, 'order_confirmed');
    await checkout(who, randomUUID());
    const stuck = await orderOf(who);
    expect(stuck.saga_state).toBe('payment_authorized');
    await heal();
    await expireReservation(p.inventory.dataSource, stuck.id);
    expect((await checkout(await buyer(4, 1), randomUUID())).data!.checkout.status).toBe('CONFIRMED');
    await p.orders.recoverNow();
    expect(await orderOf(who)).toMatchObject({ status: 'CANCELLED', saga_state: 'failed', failure_reason: 'reservation_expired' });
    expect([await reservation(stuck.id), await payment(stuck.id)]).toEqual(['EXPIRED', 'VOIDED']);
  });
});

describe('payments that answer late, holds left behind (finding 5)', () => {
  it('recovery re-drives a PROCESSING authorization at the provider instead of voiding it blind: the late approval confirms the order', async () => {
    const who = await buyer(6, 1);
    expect(errorCode(await checkout(who, randomUUID(), 'tok_visa_delayed'))).toBe('SERVICE_UNAVAILABLE');
    const stuck = await orderOf(who);
    expect([stuck.saga_state, await payment(stuck.id)]).toEqual(['stock_reserved', 'PROCESSING']);
    await waitFor(async () => {
      await p.orders.recoverNow();
      return (await orderOf(who)).saga_state === 'completed';
    }, 'recovery to learn the approval and finish');
    expect((await orderOf(who)).status).toBe('CONFIRMED');
    expect([await reservation(stuck.id), await payment(stuck.id)]).toEqual(['COMMITTED', 'CAPTURED']);
  });

  it('the payments sweeper voids an authorization no order will capture, and keeps one a confirmed order still will', async () => {
    // An order undone by a process that died before its void reached payments (the double fault):
    // its authorization is AUTHORIZED, the order failed.
    const lost = await buyer(6, 1);
    const heal = await failOrderMove(lost, 'payment_authorized');
    await checkout(lost, randomUUID());
    await heal();
    const abandoned = await orderOf(lost);
    expect(await payment(abandoned.id)).toBe('AUTHORIZED');
    await p.ordersDb.query(`UPDATE orders SET status = 'CANCELLED', saga_state = 'failed', owner_claim = NULL WHERE id = $1`, [abandoned.id]);
    const { order: confirmed } = await confirmedNotCommitted(6, 1);
    expect(await payment(confirmed.id)).toBe('AUTHORIZED');

    expect(await p.payments.sweepNow()).toBe(1);
    expect([await payment(abandoned.id), await payment(confirmed.id)]).toEqual(['VOIDED', 'AUTHORIZED']);
    await p.orders.recoverNow();
    expect(await payment(confirmed.id)).toBe('CAPTURED');
  });
});

describe('every row of the table is a path an order really takes', () => {
  it('refusals, a declined card, a malformed reservation, cancel and refund', async () => {
    await p.setStock(catalogProduct(5).id, 50);
    // out_of_stock: the stock went down after the cart was filled
    const short = await buyer(5, 2);
    await p.setStock(catalogProduct(5).id, 1);
    expect(errorCode(await checkout(short, randomUUID()))).toBe('OUT_OF_STOCK');
    await p.setStock(catalogProduct(5).id, 50);
    // token_refused
    expect(errorCode(await checkout(await buyer(5, 1), randomUUID(), 'tok_unknown'))).toBe('BAD_USER_INPUT');
    // declined
    expect((await checkout(await buyer(5, 1), randomUUID(), 'tok_chargeDeclined')).data!.checkout.status).toBe('PAYMENT_FAILED');
    // reservation_refused: inventory refuses the lines (forged here: a quantity it never accepts), after it had held them once.
    const forged = await buyer(5, 1);
    const heal = await failOrderMove(forged, 'stock_reserved');
    await checkout(forged, randomUUID());
    await heal();
    const order = await orderOf(forged);
    await p.ordersDb.query(`UPDATE order_lines SET quantity = 200000 WHERE order_id = $1`, [order.id]);
    await p.orders.recoverNow();
    expect(await orderOf(forged)).toMatchObject({ status: 'CANCELLED', saga_state: 'failed' });
    expect(await reservation(order.id)).toBe('RELEASED');
    // cancel and refund
    for (const mutation of ['cancelOrder', 'refundOrder'] as const) {
      const who = await buyer(5, 1);
      const placed = (await checkout(who, randomUUID())).data!.checkout;
      const result = await p.gql<Record<string, { status: string }>>(`mutation ($id: ID!) { ${mutation}(id: $id) { status } }`, { id: placed.id }, mutation === 'cancelOrder' ? who : admin());
      expect(result.data![mutation].status).toBe(mutation === 'cancelOrder' ? 'CANCELLED' : 'REFUNDED');
    }
  });

  it('the history of this suite covers every row', async () => {
    const { rows } = await p.ordersDb.query<{ from_state: string | null; event: string }>(`SELECT DISTINCT from_state, event FROM order_events`);
    const seen = new Set(rows.map((r) => `${r.from_state}:${r.event}`));
    expect(SAGA_TRANSITIONS.map((t) => `${t.from}:${t.event}`).filter((edge) => !seen.has(edge))).toEqual([]);
  });
});
