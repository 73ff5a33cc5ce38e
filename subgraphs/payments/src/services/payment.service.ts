import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  BadUserInputError,
  ConflictError,
  currentTraceparent,
  ServiceUnavailableError,
  NotFoundError,
  rows,
  uniqueViolation,
  withTransaction,
  type ServiceContext,
} from '@shop/kit';
import { Payment, PAYMENT_COLUMNS, paymentFromRow, type PaymentRow, type PaymentState } from '../entities/payment.entity';
import { ProviderError, type AuthorizeResult, type PaymentProvider } from '../provider/payment-provider';
import type { PaymentMetrics } from '../metrics';
import { paymentTransition, statesFor, type PaymentEventName } from './payment-machine';

/** A payment as the internal API answers it. */
export interface PaymentView {
  id: string;
  orderId: string;
  status: PaymentState;
  amount: { amount: number; currency: string };
  cardBrand: string | null;
  cardLast4: string | null;
  failureReason: string | null;
  createdAt: string;
}

export function toView(p: Payment): PaymentView {
  return {
    id: p.id,
    orderId: p.orderId,
    status: p.status,
    amount: { amount: p.amount, currency: p.currency },
    cardBrand: p.cardBrand,
    cardLast4: p.cardLast4,
    failureReason: p.failureReason,
    createdAt: p.createdAt.toISOString(),
  };
}

const uuid = z.string().uuid();
const authorizeInput = z.object({
  idempotencyKey: z.string().min(1).max(200),
  orderId: uuid,
  userId: uuid,
  amount: z.number().int().min(0),
  currency: z.string(),
  paymentToken: z.string().min(1).max(200),
});
const orderInput = z.object({ orderId: uuid });

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success)
    throw new BadUserInputError(
      result.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '),
    );
  return result.data;
}


/** The provider did not answer in time: the outcome is unknown, the payment stays PROCESSING. */
class ProviderTimeout extends Error {}

/**
 * Payments by their table (payment-machine.ts). Every method is idempotent: a repeated call
 * answers what the first one did. The provider is called outside any transaction; state
 * changes are conditional (the row locked, its status one the table allows) with an event
 * row in the same transaction, so concurrent duplicates apply a change exactly once.
 */
export class PaymentService {
  constructor(
    private readonly provider: PaymentProvider,
    private readonly currency: string,
    private readonly metrics: PaymentMetrics,
    /** How long the provider may take to answer an authorization before its outcome counts as unknown. */
    private readonly providerTimeoutMs = 4_000,
  ) {}

  async authorize(ctx: ServiceContext, raw: unknown): Promise<PaymentView> {
    const input = parse(authorizeInput, raw);
    if (input.currency !== this.currency)
      throw new BadUserInputError(`currency must be ${this.currency}, the currency this shop sells in`);
    this.provider.validateToken(input.paymentToken);
    const requestHash = createHash('sha256')
      .update(JSON.stringify([input.orderId, input.userId, input.amount, input.currency, input.paymentToken]))
      .digest('hex');

    let payment = await this.findForAuthorize(ctx, input.idempotencyKey, input.orderId, requestHash);
    if (!payment) {
      try {
        payment = await withTransaction(ctx, async (tx) => {
          // An order that was undone before its authorization arrived (a late, stale request)
          // is never authorized: the payment is recorded VOIDED without asking the provider.
          // The undone check reads after the lock is held (its own statement, so its own snapshot).
          await this.lock(tx, input.orderId);
          const processing = paymentTransition(null, 'authorize_requested')!;
          const voided = paymentTransition(null, 'voided')!;
          const [created] = await rows<PaymentRow>(
            tx.em,
            `WITH undone AS (SELECT EXISTS (SELECT 1 FROM undone_orders WHERE order_id = $1) AS yes),
             created AS (
               INSERT INTO payments (order_id, user_id, idempotency_key, request_hash, status, amount, currency, failure_reason, trace_parent)
               SELECT $1, $2, $3, $4, CASE WHEN yes THEN $7::varchar ELSE $8::varchar END, $5, $6, CASE WHEN yes THEN 'order_undone' END, $11 FROM undone
               RETURNING ${PAYMENT_COLUMNS}
             ), recorded AS (
               INSERT INTO payment_events (payment_id, event, from_status, to_status, reason)
               SELECT id, CASE WHEN status = $7::varchar THEN $9::varchar ELSE $10::varchar END, NULL, status, failure_reason FROM created
             )
             SELECT * FROM created`,
            [
              input.orderId,
              input.userId,
              input.idempotencyKey,
              requestHash,
              input.amount,
              input.currency,
              voided.to,
              processing.to,
              voided.event,
              processing.event,
              currentTraceparent() ?? null,
            ],
          );
          return paymentFromRow(created);
        });
      } catch (error) {
        if (!uniqueViolation(error)) throw error;
        // A concurrent duplicate inserted first: answer as a replay of it.
        payment = await this.findForAuthorize(ctx, input.idempotencyKey, input.orderId, requestHash);
        if (!payment) throw error;
      }
    }
    if (payment.status !== 'PROCESSING') return toView(payment);
    return toView(await this.settle(ctx, payment, input.paymentToken));
  }

  /** The payment already made under this key (or for this order); CONFLICT when it is another request. */
  private async findForAuthorize(ctx: ServiceContext, key: string, orderId: string, requestHash: string) {
    const found = (
      await rows<PaymentRow>(ctx.em, `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE idempotency_key = $1 OR order_id = $2`, [key, orderId])
    ).map(paymentFromRow);
    const byKey = found.find((row) => row.idempotencyKey === key);
    if (byKey) {
      if (byKey.requestHash !== requestHash)
        throw new ConflictError('This idempotency key was already used for a different payment request');
      return byKey;
    }
    if (found.length > 0) throw new ConflictError('This order already has a payment (under another idempotency key)');
    return null;
  }

  /**
   * Asks the provider (idempotent by key) and records its answer, once. No answer in time
   * leaves the payment PROCESSING (its outcome is unknown) and fails the call: a retry asks
   * again and gets the provider's recorded answer. An approval that lost the race (the order
   * was undone and the payment voided meanwhile) is voided at the provider, or the card
   * would keep a hold nobody will capture.
   */
  private async settle(ctx: ServiceContext, payment: Payment, paymentToken: string): Promise<Payment> {
    let event: PaymentEventName;
    let next: Partial<Payment>;
    let result: AuthorizeResult | undefined;
    try {
      result = await this.askProvider(payment, paymentToken);
      event = result.outcome === 'APPROVED' ? 'approved' : 'declined';
      next =
        result.outcome === 'APPROVED'
          ? { providerRef: result.reference, cardBrand: result.cardBrand, cardLast4: result.cardLast4 }
          : { failureReason: result.reason, cardBrand: result.cardBrand, cardLast4: result.cardLast4 };
    } catch (error) {
      if (error instanceof ProviderTimeout) {
        ctx.log.warn({ orderId: payment.orderId }, 'payment provider did not answer in time; payment left PROCESSING');
        throw new ServiceUnavailableError('payment provider', 'no answer within PROVIDER_TIMEOUT_MS');
      }
      if (!(error instanceof ProviderError)) throw error;
      ctx.log.warn({ orderId: payment.orderId, reason: error.reason }, 'payment provider failed');
      event = 'provider_failed';
      next = { failureReason: error.reason };
    }
    const applied = await this.transition(ctx, payment, event, next);
    if (applied) {
      this.metrics.authorizations.inc({ outcome: applied.status.toLowerCase() });
      if (applied.status !== 'AUTHORIZED')
        this.metrics.declines.inc({ outcome: applied.status.toLowerCase(), reason: applied.failureReason ?? 'unknown' });
      return applied;
    }
    const now = await this.reload(ctx, payment.id);
    if (result?.outcome === 'APPROVED' && now.providerRef !== result.reference) {
      ctx.log.warn({ orderId: payment.orderId, status: now.status }, 'late approval of a payment already let go: voiding it at the provider');
      await this.provider.void(result.reference);
    }
    return now;
  }

  private askProvider(payment: Payment, paymentToken: string): Promise<AuthorizeResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProviderTimeout()), this.providerTimeoutMs);
    });
    const answer = this.provider.authorize({
      idempotencyKey: payment.idempotencyKey,
      amount: payment.amount,
      currency: payment.currency,
      paymentToken,
    });
    return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
  }

  async capture(ctx: ServiceContext, raw: unknown): Promise<PaymentView> {
    const { orderId } = parse(orderInput, raw);
    const payment = await this.require(ctx, orderId);
    if (payment.status === 'CAPTURED') return toView(payment);
    if (payment.status !== 'AUTHORIZED')
      throw new BadUserInputError(`A ${payment.status} payment cannot be captured`);
    await this.provider.capture(payment.providerRef!);
    const applied = await this.transition(ctx, payment, 'captured');
    if (applied) {
      this.metrics.captures.inc();
      return toView(applied);
    }
    return this.capture(ctx, raw); // someone else moved it first: answer from the new state
  }

  /**
   * Releases an authorization. Nothing to void (declined, failed) is not an error. With no
   * payment yet, the order is remembered as undone, so an authorization that arrives later
   * (a stale request still on its way) is never made.
   */
  async void(ctx: ServiceContext, raw: unknown): Promise<PaymentView | null> {
    const { orderId } = parse(orderInput, raw);
    const payment = await withTransaction(ctx, async (tx) => {
      await this.lockOrder(tx, orderId);
      const found = await tx.em.getRepository(Payment).findOneBy({ orderId });
      if (!found) await rows(tx.em, `INSERT INTO undone_orders (order_id) VALUES ($1) ON CONFLICT DO NOTHING`, [orderId]);
      return found;
    });
    if (!payment) return null;
    if (payment.status === 'VOIDED' || payment.status === 'DECLINED' || payment.status === 'FAILED') return toView(payment);
    if (payment.status === 'CAPTURED' || payment.status === 'REFUNDED')
      throw new BadUserInputError(`A ${payment.status} payment cannot be voided (refund it instead)`);
    if (payment.providerRef) await this.provider.void(payment.providerRef);
    const applied = await this.transition(ctx, payment, 'voided');
    if (applied) {
      this.metrics.voids.inc();
      return toView(applied);
    }
    return this.void(ctx, raw);
  }

  async refund(ctx: ServiceContext, raw: unknown): Promise<PaymentView> {
    const { orderId } = parse(orderInput, raw);
    const payment = await this.require(ctx, orderId);
    if (payment.status === 'REFUNDED') return toView(payment);
    if (payment.status !== 'CAPTURED') throw new BadUserInputError(`A ${payment.status} payment cannot be refunded`);
    await this.provider.refund(payment.providerRef!);
    const applied = await this.transition(ctx, payment, 'refunded');
    if (applied) {
      this.metrics.refunds.inc();
      this.metrics.refundedAmount.inc({ currency: applied.currency }, applied.amount);
      return toView(applied);
    }
    return this.refund(ctx, raw);
  }

  async get(ctx: ServiceContext, raw: unknown): Promise<PaymentView | null> {
    const { orderId } = parse(orderInput, raw);
    const payment = await ctx.em.getRepository(Payment).findOneBy({ orderId });
    return payment ? toView(payment) : null;
  }

  private async require(ctx: ServiceContext, orderId: string): Promise<Payment> {
    const [row] = await rows<PaymentRow>(ctx.em, `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = $1`, [orderId]);
    if (!row) throw new NotFoundError(`No payment for order ${orderId}`);
    return paymentFromRow(row);
  }

  private async reload(ctx: ServiceContext, id: string): Promise<Payment> {
    return ctx.em.getRepository(Payment).findOneByOrFail({ id });
  }

  /**
   * Serializes authorize and void of one order (a transaction-scoped advisory lock), and says
   * whether the order was already undone (voided before it had a payment).
   */
  private async lockOrder(tx: ServiceContext, orderId: string): Promise<boolean> {
    await this.lock(tx, orderId);
    return (await rows(tx.em, `SELECT 1 FROM undone_orders WHERE order_id = $1`, [orderId])).length > 0;
  }

  /** The per-order transaction lock alone: whatever reads undone_orders after it must be a later statement (a fresh snapshot). */
  private async lock(tx: ServiceContext, orderId: string): Promise<void> {
    await rows(tx.em, `SELECT pg_advisory_xact_lock(hashtext('payments:order'), hashtext($1))`, [orderId]);
  }

  /**
   * Applies the table's row for `event` to the payment, with its event row, in one statement
   * (data-modifying CTEs, atomic on their own); null when the payment is no longer in a state
   * the event applies to. The row is locked first (FOR UPDATE), so the status checked against
   * the table and recorded as `from_status` is the one the update replaces.
   */
  private async transition(ctx: ServiceContext, payment: Payment, event: PaymentEventName, patch: Partial<Payment> = {}): Promise<Payment | null> {
    const from = statesFor(event);
    const to = new Set(from.map((state) => paymentTransition(state, event)!.to));
    if (to.size !== 1) throw new Error(`payments: ${event} must lead to one state`);
    const [moved] = await rows<PaymentRow>(
      ctx.em,
      `WITH locked AS (SELECT id, status FROM payments WHERE id = $1 FOR UPDATE),
       moved AS (
         UPDATE payments p SET
           status = $2::varchar,
           provider_ref = COALESCE($5::varchar, p.provider_ref),
           card_brand = COALESCE($6::varchar, p.card_brand),
           card_last4 = COALESCE($7::varchar, p.card_last4),
           failure_reason = COALESCE($8::varchar, p.failure_reason),
           updated_at = now()
         FROM locked WHERE p.id = locked.id AND locked.status = ANY($3::varchar[])
         RETURNING ${PAYMENT_COLUMNS.split(', ').map((column) => `p.${column}`).join(', ')}, locked.status AS previous
       ), recorded AS (
         INSERT INTO payment_events (payment_id, event, from_status, to_status, reason)
         SELECT id, $4::varchar, previous, status, $8::varchar FROM moved
       )
       SELECT * FROM moved`,
      [payment.id, [...to][0], from, event, patch.providerRef ?? null, patch.cardBrand ?? null, patch.cardLast4 ?? null, patch.failureReason ?? null],
    );
    return moved ? paymentFromRow(moved) : null;
  }
}
