import {
  AppError,
  BadUserInputError,
  currentTraceparent,
  ErrorCode,
  linkTo,
  NotFoundError,
  OutOfStockError,
  withSpan,
  withTransaction,
  type HasEntityManager,
} from '@shop/kit';
import type { ReservationStatus } from '../entities/reservation.entity';
import type { MovementKind } from '../entities/stock-movement.entity';
import { isUuid, rows } from '@shop/kit';

export interface ReserveInput {
  orderId: string;
  lines: { productId: string; quantity: number }[];
  ttlSeconds?: number;
  /** Hold the lines again if this order's reservation EXPIRED (the saga still going forward). */
  renew?: boolean;
}
export interface ReservationState {
  orderId: string;
  status: ReservationStatus | 'NONE';
  expiresAt?: string;
}

type Line = { productId: string; quantity: number };

function orderIdOf(input: unknown): string {
  const orderId = (input as { orderId?: unknown } | null)?.orderId;
  if (typeof orderId !== 'string' || orderId.length === 0 || orderId.length > 128)
    throw new BadUserInputError('orderId must be a string of 1 to 128 characters');
  return orderId;
}

/** Validates lines and merges repeated products (sorted by product id: the locking order). */
function linesOf(input: unknown): Line[] {
  const lines = (input as { lines?: unknown } | null)?.lines;
  if (!Array.isArray(lines) || lines.length === 0 || lines.length > 200)
    throw new BadUserInputError('lines must list 1 to 200 products');
  const merged = new Map<string, number>();
  for (const line of lines as { productId?: unknown; quantity?: unknown }[]) {
    if (!isUuid(line?.productId)) throw new BadUserInputError('every line needs a productId (uuid)');
    if (!Number.isInteger(line.quantity) || (line.quantity as number) < 1 || (line.quantity as number) > 100_000)
      throw new BadUserInputError('every line needs a quantity of at least 1');
    const id = line.productId.toLowerCase();
    merged.set(id, (merged.get(id) ?? 0) + (line.quantity as number));
  }
  return [...merged].map(([productId, quantity]) => ({ productId, quantity })).sort((a, b) => (a.productId < b.productId ? -1 : 1));
}

/** The movements of a change to stock: lines $1 (ids) and $2 (quantities) of order $3, kind $4 (appended to a WITH). */
const MOVEMENTS_INSERT = `INSERT INTO stock_movements (product_id, kind, quantity, order_id) SELECT pid, $4::varchar, qty, $3::varchar FROM unnest($1::uuid[], $2::int[]) AS l(pid, qty)`;

const state = (row: { order_id: string; status: ReservationStatus; expires_at: Date }): ReservationState => ({
  orderId: row.order_id,
  status: row.status,
  expiresAt: new Date(row.expires_at).toISOString(),
});

/**
 * Reservations: all-or-nothing holds on stock for an order, then commit (sale), release or
 * expiry. Every transition of a reservation is a conditional UPDATE on its status, so two
 * racing transitions (commit vs. the sweeper's expiry, a retried release) cannot both apply.
 * Stock rows are always locked in product-id order, so concurrent orders never deadlock, and
 * the CHECK constraints of stock_levels refuse anything that would oversell.
 */
export class ReservationService {
  constructor(private readonly options: { defaultTtlSeconds: number }) {}

  async reserve(ctx: HasEntityManager, input: ReserveInput): Promise<ReservationState> {
    const orderId = orderIdOf(input);
    const lines = linesOf(input);
    const ttl = input.ttlSeconds ?? this.options.defaultTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) throw new BadUserInputError('ttlSeconds must be between 1 and 86400');
    if (input.renew !== undefined && typeof input.renew !== 'boolean') throw new BadUserInputError('renew must be a boolean');
    return withTransaction(ctx, async (tx) => {
      // Claims the order id first: a concurrent reserve for the same order waits here, then
      // finds the reservation and returns it instead of holding stock twice.
      const [created] = await rows<{ order_id: string; status: ReservationStatus; expires_at: Date }>(
        tx.em,
        `INSERT INTO reservations (order_id, status, expires_at, trace_parent) VALUES ($1, 'RESERVED', now() + make_interval(secs => $2), $3)
         ON CONFLICT (order_id) DO NOTHING RETURNING order_id, status, expires_at`,
        [orderId, ttl, currentTraceparent() ?? null],
      );
      if (created) {
        await this.hold(tx, orderId, lines);
        return state(created);
      }
      if (!input.renew) return (await this.find(tx, orderId))!;
      // Renewal: an order still going forward whose reservation expired under it holds its
      // lines again if stock allows (OUT_OF_STOCK otherwise, and it stays EXPIRED). Only an
      // EXPIRED one: a RELEASED reservation belongs to an order that was undone on purpose.
      const [renewed] = await rows<{ order_id: string; status: ReservationStatus; expires_at: Date }>(
        tx.em,
        `UPDATE reservations SET status = 'RESERVED', expires_at = now() + make_interval(secs => $2), updated_at = now(), trace_parent = $3
         WHERE order_id = $1 AND status = 'EXPIRED' RETURNING order_id, status, expires_at`,
        [orderId, ttl, currentTraceparent() ?? null],
      );
      if (!renewed) return (await this.find(tx, orderId))!;
      await rows(tx.em, `DELETE FROM reservation_lines WHERE order_id = $1`, [orderId]);
      await this.hold(tx, orderId, lines);
      return state(renewed);
    });
  }

  /** Holds `lines` for the order: all or nothing (OUT_OF_STOCK rolls the transaction back), with its lines and movements. */
  private async hold(tx: HasEntityManager, orderId: string, lines: Line[]) {
    const ids = lines.map((l) => l.productId);
    const locked = await rows<{ product_id: string; on_hand: number; reserved: number }>(
      tx.em,
      `SELECT product_id, on_hand, reserved FROM stock_levels WHERE product_id = ANY($1::uuid[]) ORDER BY product_id FOR UPDATE`,
      [ids],
    );
    const byId = new Map(locked.map((r) => [r.product_id, r]));
    const short = lines.filter((l) => {
      const row = byId.get(l.productId);
      return !row || row.on_hand - row.reserved < l.quantity;
    });
    if (short.length > 0) throw new OutOfStockError(short.map((l) => l.productId)); // rolls everything back
    // The stock (rows locked above), the reservation's lines and their movements: one statement.
    await rows(
      tx.em,
      `WITH held AS (
         UPDATE stock_levels s SET reserved = s.reserved + l.qty, updated_at = now()
         FROM unnest($1::uuid[], $2::int[]) AS l(pid, qty) WHERE s.product_id = l.pid
       ), reserved_lines AS (
         INSERT INTO reservation_lines (order_id, product_id, quantity) SELECT $3::varchar, pid, qty FROM unnest($1::uuid[], $2::int[]) AS l(pid, qty)
       )
       ${MOVEMENTS_INSERT}`,
      [ids, lines.map((l) => l.quantity), orderId, 'reservation'],
    );
  }

  /** Turns reserved units into a sale: on_hand and reserved both go down. Idempotent. */
  async commit(ctx: HasEntityManager, input: { orderId: string }): Promise<ReservationState> {
    const orderId = orderIdOf(input);
    return withTransaction(ctx, async (tx) => {
      const lines = await this.transition(tx, orderId, 'COMMITTED');
      if (lines) {
        await this.moveUnits(tx, orderId, 'sale', { onHand: -1, reserved: -1 }, lines);
        return { orderId, status: 'COMMITTED' };
      }
      const current = await this.find(tx, orderId);
      if (!current) throw new NotFoundError(`No reservation for order ${orderId}`);
      if (current.status === 'COMMITTED') return { orderId, status: 'COMMITTED' };
      throw new AppError(ErrorCode.BAD_USER_INPUT, `The reservation for order ${orderId} is ${current.status} and cannot be committed`, {
        status: current.status,
      });
    });
  }

  /** Returns reserved units to stock. Idempotent; never undoes a commit. */
  async release(ctx: HasEntityManager, input: { orderId: string }): Promise<ReservationState> {
    const orderId = orderIdOf(input);
    return withTransaction(ctx, async (tx) => {
      const lines = await this.transition(tx, orderId, 'RELEASED');
      if (lines) {
        await this.moveUnits(tx, orderId, 'release', { onHand: 0, reserved: -1 }, lines);
        return { orderId, status: 'RELEASED' };
      }
      const current = await this.find(tx, orderId);
      if (!current) return { orderId, status: 'NONE' };
      // An expired reservation has already given its units back: for the caller, it is released.
      return { orderId, status: current.status === 'COMMITTED' ? 'COMMITTED' : 'RELEASED' };
    });
  }

  async get(ctx: HasEntityManager, input: { orderId: string }): Promise<ReservationState> {
    const orderId = orderIdOf(input);
    return (await this.find(ctx, orderId)) ?? { orderId, status: 'NONE' };
  }

  /** Puts a committed reservation's units back on hand (cancel/refund), at most once per order. */
  async restock(ctx: HasEntityManager, input: { orderId: string; reason?: string }): Promise<{ orderId: string; restocked: boolean }> {
    const orderId = orderIdOf(input);
    const reason = typeof input.reason === 'string' ? input.reason.slice(0, 200) : null;
    return withTransaction(ctx, async (tx) => {
      const [row] = await rows(
        tx.em,
        `UPDATE reservations SET restocked_at = now(), restock_reason = $2, updated_at = now()
         WHERE order_id = $1 AND status = 'COMMITTED' AND restocked_at IS NULL RETURNING order_id`,
        [orderId, reason],
      );
      if (!row) return { orderId, restocked: false };
      await this.moveUnits(tx, orderId, 'restock', { onHand: 1, reserved: 0 });
      return { orderId, restocked: true };
    });
  }

  async availability(ctx: HasEntityManager, input: { productIds?: unknown }): Promise<{ items: { productId: string; available: number }[] }> {
    const ids = input?.productIds;
    if (!Array.isArray(ids) || ids.length > 1000 || !ids.every((id) => typeof id === 'string'))
      throw new BadUserInputError('productIds must be an array of at most 1000 product ids');
    const valid = (ids as string[]).filter(isUuid).map((id) => id.toLowerCase());
    const found = await rows<{ product_id: string; available: number }>(
      ctx.em,
      `SELECT product_id, on_hand - reserved AS available FROM stock_levels WHERE product_id = ANY($1::uuid[])`,
      [valid],
    );
    const byId = new Map(found.map((r) => [r.product_id, r.available]));
    return { items: (ids as string[]).map((productId) => ({ productId, available: byId.get(productId.toLowerCase()) ?? 0 })) };
  }

  /**
   * Expires reservations whose time is up (the sweeper). Each one in its own short transaction,
   * with the same conditional transition as commit/release, so a commit that won the race stays.
   */
  async expireDue(ctx: HasEntityManager, batch: number): Promise<number> {
    const due = await rows<{ order_id: string; trace_parent: string | null }>(
      ctx.em,
      `SELECT order_id, trace_parent FROM reservations WHERE status = 'RESERVED' AND expires_at <= now() ORDER BY expires_at LIMIT $1`,
      [batch],
    );
    let expired = 0;
    for (const { order_id: orderId, trace_parent: traceParent } of due) {
      // Each expiry is a span of the sweep's trace, linked to the request that reserved the stock.
      const done = await withSpan('reservation expiry', { links: linkTo(traceParent), attributes: { 'order.id': orderId } }, () =>
        withTransaction(ctx, async (tx) => {
          const lines = await this.transition(tx, orderId, 'EXPIRED', true);
          if (!lines) return false;
          await this.moveUnits(tx, orderId, 'expiry', { onHand: 0, reserved: -1 }, lines);
          return true;
        }),
      );
      if (done) expired += 1;
    }
    return expired;
  }

  private async find(ctx: HasEntityManager, orderId: string): Promise<ReservationState | null> {
    const [row] = await rows<{ order_id: string; status: ReservationStatus; expires_at: Date }>(
      ctx.em,
      `SELECT order_id, status, expires_at FROM reservations WHERE order_id = $1`,
      [orderId],
    );
    return row ? state(row) : null;
  }

  /**
   * RESERVED -> `to`, only if still RESERVED (and, for expiry, only if really due); the
   * reservation's lines (in product-id order) when it moved, null when it did not. One statement.
   */
  private async transition(tx: HasEntityManager, orderId: string, to: ReservationStatus, onlyIfDue = false): Promise<Line[] | null> {
    const moved = await rows<{ product_id: string | null; quantity: number | null }>(
      tx.em,
      `WITH moved AS (
         UPDATE reservations SET status = $2, updated_at = now()
         WHERE order_id = $1 AND status = 'RESERVED' ${onlyIfDue ? 'AND expires_at <= now()' : ''} RETURNING order_id
       )
       SELECT l.product_id, l.quantity FROM moved LEFT JOIN reservation_lines l ON l.order_id = moved.order_id ORDER BY l.product_id`,
      [orderId, to],
    );
    if (moved.length === 0) return null;
    return moved.flatMap((r) => (r.product_id ? [{ productId: r.product_id, quantity: r.quantity! }] : []));
  }

  /**
   * Applies the reservation's lines to stock (signs per column), locking rows in id order, and
   * logs them: the lock, then the stock and its movements in one statement.
   */
  private async moveUnits(
    tx: HasEntityManager,
    orderId: string,
    kind: MovementKind,
    sign: { onHand: number; reserved: number },
    known?: Line[],
  ) {
    const lines =
      known ??
      (
        await rows<{ product_id: string; quantity: number }>(
          tx.em,
          `SELECT product_id, quantity FROM reservation_lines WHERE order_id = $1 ORDER BY product_id`,
          [orderId],
        )
      ).map((r) => ({ productId: r.product_id, quantity: r.quantity }));
    if (lines.length === 0) return;
    const ids = lines.map((l) => l.productId);
    await rows(tx.em, `SELECT 1 FROM stock_levels WHERE product_id = ANY($1::uuid[]) ORDER BY product_id FOR UPDATE`, [ids]);
    await rows(
      tx.em,
      `WITH moved AS (
         UPDATE stock_levels s SET on_hand = s.on_hand + $5::int * l.qty, reserved = s.reserved + $6::int * l.qty, updated_at = now()
         FROM unnest($1::uuid[], $2::int[]) AS l(pid, qty) WHERE s.product_id = l.pid
       )
       ${MOVEMENTS_INSERT}`,
      [ids, lines.map((l) => l.quantity), orderId, kind, sign.onHand, sign.reserved],
    );
  }
}
