import { AppError, ErrorCode, rows, type ServiceContext, type SessionClaim, type SessionLocks } from '@shop/kit';
import type { Clients, PaymentRecord } from '../clients';
import { Order, ORDER_COLUMNS, orderFromRow, type OrderRow } from '../entities/order.entity';
import type { OrderLine } from '../entities/order-line.entity';
import type { SagaStep as CrashPoint } from '../env';
import { recordTransition, type OrderMetrics } from '../metrics';
import { stepIn, TERMINAL_STATES, transitionFor, type SagaEvent, type SagaStep } from './saga-machine';

export interface SagaOptions {
  clients: Clients;
  metrics: OrderMetrics;
  /** Proof of life: the advisory lock of every order this process drives. */
  locks: SessionLocks;
  reservationTtlSeconds: number;
  /** Test-only fault hook: exit abruptly right after this step is persisted. */
  crashAfter?: CrashPoint;
}

/** What a step reports: the event, and for the failures what the customer and operators are told. */
export interface StepOutcome {
  event: SagaEvent;
  reason?: string;
  rejection?: AppError;
}

/** What the saga needs of an order line: what to reserve, and what to take out of the cart. */
export type SagaLine = Pick<OrderLine, 'productId' | 'quantity'>;

/** Once the order is in one of these states the payment token is of no further use and is dropped. */
const TOKEN_DONE = new Set(['order_confirmed', 'failed', 'completed']);

const codeOf = (error: unknown) => (error instanceof AppError ? error.code : undefined);

/**
 * Runs the checkout saga by its table (saga-machine.ts), for the live checkout, a retry that
 * takes an order over, cancel/refund and the recovery loop alike. A worker first owns the
 * order (`own`: its advisory lock, then a fresh claim written on the row); every transition
 * is one conditional update (`WHERE saga_state = <from> AND owner_claim = <claim>`) plus its
 * `order_events` row in one transaction, so a worker that lost the order can no longer move
 * it, and every remote call is idempotent, so a step cut short may simply be run again.
 */
export class Saga {
  constructor(private readonly options: SagaOptions) {}

  get clients() {
    return this.options.clients;
  }

  /** Claims a new order id before its row exists (null only if this process is shutting down). */
  claimNew(orderId: string): Promise<SessionClaim | null> {
    return this.options.locks.tryClaim(orderId);
  }

  /**
   * Takes an existing order over: null while a live worker (here or in another process) holds
   * it. On success the row carries the new claim, which fences off any earlier owner.
   */
  async own(ctx: ServiceContext, orderId: string, previous?: SessionClaim): Promise<SessionClaim | null> {
    const claim = await this.options.locks.tryClaim(orderId);
    if (!claim) return null;
    try {
      // Re-taking after a lost lock succeeds only if nobody else took the order in between.
      const taken = await rows(
        ctx.em,
        `UPDATE orders SET owner_claim = $2 WHERE id = $1 AND ($3::uuid IS NULL OR owner_claim = $3::uuid) RETURNING id`,
        [orderId, claim.token, previous?.token ?? null],
      );
      if (taken.length === 1) return claim;
      await this.release(claim);
      return null;
    } catch (error) {
      await this.release(claim);
      throw error;
    }
  }

  release(claim: SessionClaim): Promise<void> {
    return this.options.locks.release(claim);
  }

  /** Test-only fault hook: an abrupt exit right after `step` was persisted. */
  crashPoint(ctx: ServiceContext, orderId: string, step: string): void {
    if (this.options.crashAfter !== step) return;
    ctx.log.warn({ orderId, step }, 'FAULT_CRASH_AFTER: exiting on purpose');
    process.exit(137);
  }

  /**
   * Applies the row of the table for (order's state, outcome.event). Returns the order as it
   * now is, or null when the order is no longer this claim's or no longer in that state.
   *
   * One statement: the conditional UPDATE, its `order_events` row and (for `empty_cart`) the
   * cart lines of the ordered products, as data-modifying CTEs, which Postgres applies
   * atomically (one implicit transaction) — the transition and its event row still commit
   * together or not at all, in one round trip instead of five.
   */
  async advance(ctx: ServiceContext, claim: SessionClaim, order: Order, outcome: StepOutcome, emptyCart?: SagaLine[]): Promise<Order | null> {
    const t = transitionFor(order.sagaState, outcome.event);
    if (!t) throw new Error(`saga: no transition for ${outcome.event} in ${order.sagaState}`);
    const rejection = outcome.rejection;
    const failureReason = outcome.reason || rejection ? (outcome.reason ?? rejection!.code.toLowerCase()).slice(0, 60) : null;
    const productIds = rejection?.extensions?.productIds as string[] | undefined;
    const rejectionDetail = rejection ? { message: rejection.message, ...(productIds ? { productIds } : {}) } : null;
    const emptying = emptyCart?.map((line) => line.productId) ?? [];
    const [moved] = await rows<OrderRow & { emptied: number }>(
      ctx.em,
      `WITH moved AS (
         UPDATE orders SET
           saga_state = $4,
           status = COALESCE($5::varchar, status),
           failure_reason = CASE WHEN $6::varchar IS NULL THEN failure_reason ELSE $6::varchar END,
           rejection_code = CASE WHEN $7::varchar IS NULL THEN rejection_code ELSE $7::varchar END,
           rejection_detail = CASE WHEN $7::varchar IS NULL THEN rejection_detail ELSE $8::jsonb END,
           payment_token = CASE WHEN $9::boolean THEN NULL ELSE payment_token END,
           owner_claim = CASE WHEN $10::boolean THEN NULL ELSE owner_claim END,
           updated_at = now()
         WHERE id = $1 AND saga_state = $2 AND owner_claim = $3 AND ($11::varchar IS NULL OR status = $11::varchar)
         RETURNING ${ORDER_COLUMNS}
       ), recorded AS (
         INSERT INTO order_events (order_id, event, from_state, to_state, status, reason)
         SELECT id, $12, $2, saga_state, status, $6::varchar FROM moved
       )${
         emptying.length
           ? `, emptied AS (
         DELETE FROM cart_items c USING moved WHERE c.user_id = moved.user_id AND c.product_id = ANY($13::uuid[]) RETURNING 1
       )
       SELECT moved.*, (SELECT count(*) FROM emptied)::int AS emptied FROM moved`
           : `
       SELECT moved.*, 0 AS emptied FROM moved`
       }`,
      [
        order.id,
        order.sagaState,
        claim.token,
        t.to,
        t.status ?? null,
        failureReason,
        rejection?.code ?? null,
        rejectionDetail ? JSON.stringify(rejectionDetail) : null,
        TOKEN_DONE.has(t.to),
        TERMINAL_STATES.includes(t.to),
        t.requireStatus ?? null,
        t.event,
        ...(emptying.length ? [emptying] : []),
      ],
    );
    if (!moved) return null;
    if (moved.emptied > 0) this.options.metrics.cartsConverted.inc();
    recordTransition(this.options.metrics, [order.sagaState], { status: t.status, failureReason: failureReason ?? undefined });
    this.crashPoint(ctx, order.id, t.to);
    return orderFromRow(moved);
  }

  /**
   * Drives the order by the table until it reaches a state without a step (terminal, or
   * `completed` awaiting nothing) or this worker loses it. A claim whose lock went with its
   * connection is re-taken before the next step, or the worker stops. Step errors (a timeout,
   * a service down) propagate with the order left where it stands, for a retry or recovery.
   */
  async drive(
    ctx: ServiceContext,
    claim: SessionClaim,
    orderId: string,
    paymentToken?: string,
    /** The order and its lines when the caller has just written them (a new checkout): not read again. */
    known?: { order: Order; lines: SagaLine[] },
  ): Promise<Order> {
    const repo = ctx.em.getRepository(Order);
    let order = known?.order ?? (await repo.findOneByOrFail({ id: orderId }));
    const lines =
      known?.lines ??
      (await rows<SagaLine>(ctx.em, `SELECT product_id AS "productId", quantity FROM order_lines WHERE order_id = $1 ORDER BY position`, [orderId]));
    let current = claim;
    let reservedHere = false;
    let lastEvent: SagaEvent | undefined;
    try {
      for (;;) {
        if (!current.valid) {
          // The lock connection was lost: take the order again, unless someone else did meanwhile.
          const again = await this.own(ctx, orderId, current);
          if (!again) return await repo.findOneByOrFail({ id: orderId });
          if (current !== claim) await this.release(current);
          current = again;
          order = await repo.findOneByOrFail({ id: orderId });
        }
        const step = stepIn(order.sagaState);
        if (!step) return order;
        const outcome = await this.run(ctx, step, order, lines, { paymentToken, reservedHere, lastEvent });
        if (step === 'reserve' && outcome.event === 'reserved') reservedHere = true;
        lastEvent = outcome.event;
        const next = await this.advance(ctx, current, order, outcome, step === 'empty_cart' ? lines : undefined);
        // Someone else moved the order: it is theirs now. Nothing this worker took can outlive
        // their undo, should they undo it: a reserve after a release holds nothing, an authorize
        // after a void is never made, an approval that loses to a void is voided at the provider.
        if (!next) return await repo.findOneByOrFail({ id: orderId });
        order = next;
      }
    } finally {
      if (current !== claim) await this.release(current);
    }
  }

  private async run(
    ctx: ServiceContext,
    step: SagaStep,
    order: Order,
    lines: SagaLine[],
    here: { paymentToken?: string; reservedHere: boolean; lastEvent?: SagaEvent },
  ): Promise<StepOutcome> {
    const { inventory, payments } = this.clients;
    switch (step) {
      case 'reserve':
        try {
          await this.hold(order, lines);
          return { event: 'reserved' };
        } catch (error) {
          const code = codeOf(error);
          if (code === ErrorCode.OUT_OF_STOCK) return { event: 'out_of_stock', rejection: error as AppError };
          if (code === ErrorCode.BAD_USER_INPUT || code === ErrorCode.NOT_FOUND) return { event: 'reservation_refused', rejection: error as AppError };
          throw error;
        }
      case 'authorize': {
        const token = order.paymentToken ?? here.paymentToken;
        // Nothing to authorize with (an order from before tokens were kept): it cannot complete.
        if (!token) return { event: 'payment_unavailable', reason: 'checkout_interrupted' };
        let payment: PaymentRecord;
        try {
          payment = await this.authorize(order, token);
        } catch (error) {
          if (codeOf(error) === ErrorCode.BAD_USER_INPUT) return { event: 'token_refused', rejection: error as AppError };
          throw error;
        }
        return this.authorization(payment);
      }
      case 'confirm':
        // A worker that did not reserve in this run makes sure the stock is still held (renewing an expiry).
        if (!here.reservedHere && !(await this.holdAgain(order, lines))) return { event: 'stock_lost', reason: 'reservation_expired' };
        return { event: 'confirmed' };
      case 'commit':
        try {
          await inventory.commit(order.id);
        } catch (error) {
          const expired = codeOf(error) === ErrorCode.BAD_USER_INPUT && (error as AppError).extensions?.status === 'EXPIRED';
          if (!expired) throw error;
          // The reservation expired under a confirmed order: hold the stock again and sell it, or undo the order.
          if (!(await this.holdAgain(order, lines))) return { event: 'stock_lost', reason: 'reservation_expired' };
          await inventory.commit(order.id);
        }
        return { event: 'committed' };
      case 'capture':
        await payments.capture(order.id);
        return { event: 'captured' };
      case 'empty_cart':
        return { event: 'cart_emptied' };
      case 'compensate':
        // Right after a declined or refused payment (or none at all) its state is known: no PROCESSING to settle.
        await this.letGo(ctx, order, !['declined', 'token_refused', 'reservation_refused'].includes(here.lastEvent ?? ''));
        return { event: 'compensated' };
      case 'unwind':
        await payments.refund(order.id);
        await inventory.restock(order.id, order.sagaState === 'cancelling' ? 'order_cancelled' : 'order_refunded');
        if (order.sagaState === 'cancelling' || order.sagaState === 'refunding')
          this.options.metrics.refunds.inc({ kind: order.sagaState === 'cancelling' ? 'cancel' : 'refund' });
        return { event: 'unwound' };
    }
  }

  private authorization(payment: PaymentRecord): StepOutcome {
    switch (payment.status) {
      case 'AUTHORIZED':
      case 'CAPTURED':
        return { event: 'authorized' };
      case 'DECLINED':
      case 'FAILED':
        return { event: 'declined', reason: payment.failureReason ?? 'payment_failed' };
      case 'VOIDED':
      case 'REFUNDED':
        // Payments already let this order's payment go (the order was undone elsewhere).
        return { event: 'payment_unavailable', reason: 'payment_voided' };
      case 'PROCESSING':
        throw new Error('the payment provider has not answered yet');
    }
  }

  private authorize(order: Order, paymentToken: string) {
    return this.clients.payments.authorize({
      idempotencyKey: `order:${order.id}`,
      orderId: order.id,
      userId: order.userId,
      amount: order.totalAmount,
      currency: order.currency,
      paymentToken,
    });
  }

  /** Reserve (idempotent per order), renewing an expired reservation; throws OUT_OF_STOCK when it cannot. */
  private async hold(order: Order, lines: SagaLine[]) {
    const held = await this.clients.inventory.reserve(
      order.id,
      lines.map((line) => ({ productId: line.productId, quantity: line.quantity })),
      this.options.reservationTtlSeconds,
      true,
    );
    if (held.status !== 'RESERVED' && held.status !== 'COMMITTED') throw new Error(`the reservation is ${held.status}`);
  }

  /** true when the order's stock is held (again); false when it is gone and cannot be re-reserved. */
  private async holdAgain(order: Order, lines: SagaLine[]): Promise<boolean> {
    try {
      await this.hold(order, lines);
      return true;
    } catch (error) {
      if (codeOf(error) === ErrorCode.OUT_OF_STOCK) return false;
      throw error;
    }
  }

  /**
   * Releases the stock and voids the payment (both idempotent). An authorization still
   * PROCESSING is settled first with the order's token, so the void reaches the provider's hold.
   */
  private async letGo(ctx: ServiceContext, order: Order, mayBeProcessing: boolean) {
    const { inventory, payments } = this.clients;
    await inventory.release(order.id);
    if (mayBeProcessing && order.paymentToken && (await payments.get(order.id))?.status === 'PROCESSING')
      await this.authorize(order, order.paymentToken).catch((e) => ctx.log.warn({ err: e, orderId: order.id }, 'settling before the void failed'));
    await payments.void(order.id);
  }
}
