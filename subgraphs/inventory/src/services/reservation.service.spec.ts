import { randomUUID } from 'node:crypto';
import { AppError } from '@shop/kit';
import { waitFor } from '@shop/kit/testing';
import { movementsMismatches, startInventoryHarness, type InventoryHarness } from '../testing/harness';

/**
 * The internal reservation API as the orders subgraph calls it, over HTTP with a service token,
 * against real Postgres: concurrency, expiry by the sweeper, and the audit trail.
 */
let h: InventoryHarness;
type State = { orderId: string; status: string; expiresAt?: string };

beforeAll(async () => {
  h = await startInventoryHarness({ RESERVATION_SWEEP_INTERVAL_MS: '200' });
});
afterAll(async () => {
  await h?.close();
});

const call = <T = State>(path: string, body: unknown) => h.internal().call<T>(path, body);
const order = () => `order-${randomUUID()}`;

async function stockOf(productId: string) {
  const [row] = await h.service.dataSource.query(`SELECT on_hand, reserved FROM stock_levels WHERE product_id = $1`, [productId]);
  return row ? { onHand: row.on_hand as number, reserved: row.reserved as number } : undefined;
}
async function available(...productIds: string[]) {
  const { items } = await call<{ items: { productId: string; available: number }[] }>('stock/availability', { productIds });
  return items.map((i) => i.available);
}
async function product(onHand: number) {
  const id = randomUUID();
  await h.service.dataSource.query(`INSERT INTO stock_levels (product_id, on_hand) VALUES ($1, $2)`, [id, onHand]);
  await h.service.dataSource.query(`INSERT INTO stock_movements (product_id, kind, quantity) VALUES ($1, 'adjustment', $2)`, [id, onHand]);
  return id;
}
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'RESERVED',
    (error: unknown) => (error instanceof AppError ? String(error.extensions.code) : `unexpected: ${String(error)}`),
  );

describe('reserve', () => {
  it('holds stock for every line, with a default expiry of RESERVATION_TTL_SECONDS', async () => {
    const a = await product(5);
    const b = await product(2);
    const id = order();
    const state = await call('reservations/reserve', { orderId: id, lines: [{ productId: a, quantity: 2 }, { productId: b, quantity: 2 }] });
    expect(state).toMatchObject({ orderId: id, status: 'RESERVED' });
    const ttl = Date.parse(state.expiresAt!) - Date.now();
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(601_000);
    expect(await available(a, b)).toEqual([3, 0]);
    expect(await stockOf(a)).toEqual({ onHand: 5, reserved: 2 });
  });

  it('is all or nothing: a short line fails the order with every short product named, holding nothing', async () => {
    const a = await product(5);
    const b = await product(1);
    const c = await product(0);
    const missing = randomUUID();
    const id = order();
    const error = await call('reservations/reserve', {
      orderId: id,
      lines: [{ productId: a, quantity: 1 }, { productId: b, quantity: 2 }, { productId: c, quantity: 1 }, { productId: missing, quantity: 1 }],
    }).catch((e: AppError) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).extensions.code).toBe('OUT_OF_STOCK');
    expect(((error as AppError).extensions.productIds as string[]).sort()).toEqual([b, c, missing].sort());
    expect(await available(a, b, c)).toEqual([5, 1, 0]);
    expect(await call('reservations/get', { orderId: id })).toEqual({ orderId: id, status: 'NONE' });
  });

  it('is idempotent per order, also when the same order is sent concurrently', async () => {
    const a = await product(10);
    const id = order();
    const lines = [{ productId: a, quantity: 3 }];
    const states = await Promise.all(Array.from({ length: 5 }, () => call('reservations/reserve', { orderId: id, lines })));
    expect(new Set(states.map((s) => s.expiresAt)).size).toBe(1);
    expect(states.every((s) => s.status === 'RESERVED')).toBe(true);
    expect(await available(a)).toEqual([7]);
    const again = await call('reservations/reserve', { orderId: id, lines: [{ productId: a, quantity: 9 }] });
    expect(again).toEqual(states[0]);
    expect(await available(a)).toEqual([7]);
  });

  it('merges repeated lines of one product', async () => {
    const a = await product(3);
    const error = await outcome(
      call('reservations/reserve', { orderId: order(), lines: [{ productId: a, quantity: 2 }, { productId: a, quantity: 2 }] }),
    );
    expect(error).toBe('OUT_OF_STOCK');
    await call('reservations/reserve', { orderId: order(), lines: [{ productId: a, quantity: 1 }, { productId: a, quantity: 2 }] });
    expect(await available(a)).toEqual([0]);
  });

  it('refuses malformed input', async () => {
    const a = await product(3);
    for (const body of [
      { lines: [{ productId: a, quantity: 1 }] },
      { orderId: order(), lines: [] },
      { orderId: order(), lines: [{ productId: a, quantity: 0 }] },
      { orderId: order(), lines: [{ productId: 'x', quantity: 1 }] },
      { orderId: order(), lines: [{ productId: a, quantity: 1 }], ttlSeconds: 0 },
    ])
      expect(await outcome(call('reservations/reserve', body))).toBe('BAD_USER_INPUT');
  });
});

describe('never oversells', () => {
  it('gives the last 10 units to exactly 10 of 40 concurrent orders, and gets them back exactly', async () => {
    const a = await product(12);
    await call('reservations/reserve', { orderId: order(), lines: [{ productId: a, quantity: 2 }] }); // 10 left
    const ids = Array.from({ length: 40 }, order);
    const results = await Promise.all(ids.map((id) => outcome(call('reservations/reserve', { orderId: id, lines: [{ productId: a, quantity: 1 }] }))));
    expect(results.filter((r) => r === 'RESERVED')).toHaveLength(10);
    expect(results.filter((r) => r === 'OUT_OF_STOCK')).toHaveLength(30);
    expect(await stockOf(a)).toEqual({ onHand: 12, reserved: 12 });

    const winners = ids.filter((_, i) => results[i] === 'RESERVED');
    const released = await Promise.all(winners.map((id) => call('reservations/release', { orderId: id })));
    expect(released.every((r) => r.status === 'RELEASED')).toBe(true);
    expect(await available(a)).toEqual([10]);
    // Releasing twice gives nothing back twice.
    await Promise.all(winners.map((id) => call('reservations/release', { orderId: id })));
    expect(await stockOf(a)).toEqual({ onHand: 12, reserved: 2 });
  });

  it('never deadlocks or oversells when orders lock the same products in different orders', async () => {
    const a = await product(15);
    const b = await product(15);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        outcome(
          call('reservations/reserve', {
            orderId: order(),
            lines: i % 2 === 0 ? [{ productId: a, quantity: 1 }, { productId: b, quantity: 1 }] : [{ productId: b, quantity: 1 }, { productId: a, quantity: 1 }],
          }),
        ),
      ),
    );
    expect(results.filter((r) => r === 'RESERVED')).toHaveLength(15);
    expect(results.filter((r) => r === 'OUT_OF_STOCK')).toHaveLength(15);
    expect(await available(a, b)).toEqual([0, 0]);
  });

  it('refuses, in the database itself, any write that would make stock negative', async () => {
    const a = await product(1);
    await expect(h.service.dataSource.query(`UPDATE stock_levels SET on_hand = -1 WHERE product_id = $1`, [a])).rejects.toThrow(/check/);
    await expect(h.service.dataSource.query(`UPDATE stock_levels SET reserved = 2 WHERE product_id = $1`, [a])).rejects.toThrow(/check/);
  });
});

describe('commit, release, restock, expiry', () => {
  it('commit turns reserved units into a sale, once', async () => {
    const a = await product(5);
    const id = order();
    await call('reservations/reserve', { orderId: id, lines: [{ productId: a, quantity: 2 }] });
    expect(await call('reservations/commit', { orderId: id })).toEqual({ orderId: id, status: 'COMMITTED' });
    expect(await call('reservations/commit', { orderId: id })).toEqual({ orderId: id, status: 'COMMITTED' });
    expect(await stockOf(a)).toEqual({ onHand: 3, reserved: 0 });
    // A committed reservation is never released.
    expect(await call('reservations/release', { orderId: id })).toEqual({ orderId: id, status: 'COMMITTED' });
    expect(await stockOf(a)).toEqual({ onHand: 3, reserved: 0 });
    expect(await call('reservations/get', { orderId: id })).toMatchObject({ status: 'COMMITTED' });
  });

  it('restock returns a committed order to stock exactly once', async () => {
    const a = await product(5);
    const id = order();
    await call('reservations/reserve', { orderId: id, lines: [{ productId: a, quantity: 4 }] });
    expect(await call('stock/restock', { orderId: id, reason: 'cancel' })).toEqual({ orderId: id, restocked: false }); // not committed yet
    await call('reservations/commit', { orderId: id });
    expect(await stockOf(a)).toEqual({ onHand: 1, reserved: 0 });
    const twice = await Promise.all([call('stock/restock', { orderId: id, reason: 'cancel' }), call('stock/restock', { orderId: id, reason: 'refund' })]);
    expect(twice.map((r) => (r as unknown as { restocked: boolean }).restocked).sort()).toEqual([false, true]);
    expect(await stockOf(a)).toEqual({ onHand: 5, reserved: 0 });
  });

  it('release and commit of unknown orders', async () => {
    const id = order();
    expect(await call('reservations/release', { orderId: id })).toEqual({ orderId: id, status: 'NONE' });
    expect(await outcome(call('reservations/commit', { orderId: id }))).toBe('NOT_FOUND');
    const a = await product(1);
    const released = order();
    await call('reservations/reserve', { orderId: released, lines: [{ productId: a, quantity: 1 }] });
    await call('reservations/release', { orderId: released });
    expect(await outcome(call('reservations/commit', { orderId: released }))).toBe('BAD_USER_INPUT');
  });

  it('the sweeper expires reservations past their time and restores availability exactly', async () => {
    const a = await product(10);
    const short = Array.from({ length: 4 }, order);
    for (const id of short) await call('reservations/reserve', { orderId: id, lines: [{ productId: a, quantity: 2 }], ttlSeconds: 1 });
    const kept = order();
    await call('reservations/reserve', { orderId: kept, lines: [{ productId: a, quantity: 1 }], ttlSeconds: 1 });
    await call('reservations/commit', { orderId: kept }); // committed before expiry: stays committed
    expect(await available(a)).toEqual([1]);
    await waitFor(async () => (await available(a))[0] === 9, 'expired reservations to return to stock', 15_000);
    expect(await stockOf(a)).toEqual({ onHand: 9, reserved: 0 });
    for (const id of short) expect(await call('reservations/get', { orderId: id })).toMatchObject({ status: 'EXPIRED' });
    expect(await call('reservations/get', { orderId: kept })).toMatchObject({ status: 'COMMITTED' });
    expect(await call('reservations/release', { orderId: short[0] })).toEqual({ orderId: short[0], status: 'RELEASED' });
    expect(await outcome(call('reservations/commit', { orderId: short[0] }))).toBe('BAD_USER_INPUT');
    expect(await available(a)).toEqual([9]);
  });

  it('renew holds an EXPIRED reservation again when stock allows (OUT_OF_STOCK otherwise), never a RELEASED one', async () => {
    const a = await product(3);
    const [expiring, released] = [order(), order()];
    const lines = [{ productId: a, quantity: 2 }];
    await call('reservations/reserve', { orderId: expiring, lines, ttlSeconds: 1 });
    await waitFor(async () => (await call('reservations/get', { orderId: expiring })).status === 'EXPIRED', 'the reservation to expire', 15_000);
    // Without renew the answer is the record as it stands; with it, the order holds its units again.
    expect(await call('reservations/reserve', { orderId: expiring, lines })).toMatchObject({ status: 'EXPIRED' });
    expect(await call('reservations/reserve', { orderId: expiring, lines, renew: true })).toMatchObject({ status: 'RESERVED' });
    expect(await stockOf(a)).toEqual({ onHand: 3, reserved: 2 });
    expect(await call('reservations/commit', { orderId: expiring })).toEqual({ orderId: expiring, status: 'COMMITTED' });
    expect(await stockOf(a)).toEqual({ onHand: 1, reserved: 0 });

    // Not enough left: OUT_OF_STOCK, and the reservation stays EXPIRED holding nothing.
    const short = order();
    await call('reservations/reserve', { orderId: short, lines: [{ productId: a, quantity: 1 }], ttlSeconds: 1 });
    await waitFor(async () => (await call('reservations/get', { orderId: short })).status === 'EXPIRED', 'the reservation to expire', 15_000);
    await call('reservations/reserve', { orderId: order(), lines: [{ productId: a, quantity: 1 }] }); // someone buys the last unit
    expect(await outcome(call('reservations/reserve', { orderId: short, lines: [{ productId: a, quantity: 1 }], renew: true }))).toBe('OUT_OF_STOCK');
    expect(await call('reservations/get', { orderId: short })).toMatchObject({ status: 'EXPIRED' });

    const b = await product(2);
    await call('reservations/reserve', { orderId: released, lines: [{ productId: b, quantity: 1 }] });
    await call('reservations/release', { orderId: released });
    expect(await call('reservations/reserve', { orderId: released, lines: [{ productId: b, quantity: 1 }], renew: true })).toMatchObject({ status: 'RELEASED' });
    expect(await stockOf(b)).toEqual({ onHand: 2, reserved: 0 });
    expect(await movementsMismatches(h.service)).toEqual([]);
  });

  it('a commit racing the expiry of the same reservation applies exactly one of them', async () => {
    const a = await product(20);
    const ids = Array.from({ length: 10 }, order);
    for (const id of ids) await call('reservations/reserve', { orderId: id, lines: [{ productId: a, quantity: 1 }], ttlSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1_100)); // due now; commit and the sweeper race
    const commits = await Promise.all(ids.map((id) => outcome(call('reservations/commit', { orderId: id }))));
    await h.service.sweeper.sweep();
    const committed = commits.filter((c) => c === 'RESERVED').length; // outcome() maps success to RESERVED
    expect(committed + commits.filter((c) => c === 'BAD_USER_INPUT').length).toBe(10);
    expect(await stockOf(a)).toEqual({ onHand: 20 - committed, reserved: 0 });
  });
});

describe('the internal API', () => {
  it('answers only the orders service', async () => {
    await expect(h.internal('gateway').call('reservations/reserve', { orderId: order(), lines: [] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const bare = await fetch(`${h.service.url}/internal/reservations/release`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'x' }),
    });
    expect(bare.status).toBe(401);
  });

  it('wrote a movement for every stock change (replaying them gives every stock row)', async () => {
    expect(await movementsMismatches(h.service)).toEqual([]);
    const kinds = await h.service.dataSource.query(`SELECT DISTINCT kind FROM stock_movements ORDER BY kind`);
    expect(kinds.map((k: { kind: string }) => k.kind)).toEqual(['adjustment', 'expiry', 'release', 'reservation', 'restock', 'sale']);
  });
});
