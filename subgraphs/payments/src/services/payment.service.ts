import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BadUserInputError, ConflictError, NotFoundError, withTransaction, type ServiceContext, uniqueViolation } from '@shop/kit';
import { Payment, type PaymentState } from '../entities/payment.entity';
import { PaymentEvent } from '../entities/payment-event.entity';
import { ProviderError, type PaymentProvider } from '../provider/payment-provider';
import type { PaymentMetrics } from '../metrics';

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


/**
 * The payment state machine. Every method is idempotent: a repeated call answers what the
 * first one did. The provider is called outside any transaction; state changes are
 * conditional updates (`WHERE status = <expected>`) with an event row in the same transaction,
 * so concurrent duplicates apply a change exactly once.
 */
export class PaymentService {
  constructor(
    private readonly provider: PaymentProvider,
    private readonly currency: string,
    private readonly metrics: PaymentMetrics,
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
          const created = await tx.em.getRepository(Payment).save(
            tx.em.getRepository(Payment).create({
              orderId: input.orderId,
              userId: input.userId,
              idempotencyKey: input.idempotencyKey,
              requestHash,
              status: 'PROCESSING',
              amount: input.amount,
              currency: input.currency,
            }),
          );
          await this.recordEvent(tx, created.id, null, 'PROCESSING', null);
          return created;
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
    const rows = await ctx.em.getRepository(Payment).find({ where: [{ idempotencyKey: key }, { orderId }] });
    const byKey = rows.find((row) => row.idempotencyKey === key);
    if (byKey) {
      if (byKey.requestHash !== requestHash)
        throw new ConflictError('This idempotency key was already used for a different payment request');
      return byKey;
    }
    if (rows.length > 0) throw new ConflictError('This order already has a payment (under another idempotency key)');
    return null;
  }

  /** Asks the provider (idempotent by key) and records its answer, once. */
  private async settle(ctx: ServiceContext, payment: Payment, paymentToken: string): Promise<Payment> {
    let next: Partial<Payment> & { status: PaymentState };
    try {
      const result = await this.provider.authorize({
        idempotencyKey: payment.idempotencyKey,
        amount: payment.amount,
        currency: payment.currency,
        paymentToken,
      });
      next =
        result.outcome === 'APPROVED'
          ? { status: 'AUTHORIZED', providerRef: result.reference, cardBrand: result.cardBrand, cardLast4: result.cardLast4 }
          : { status: 'DECLINED', failureReason: result.reason, cardBrand: result.cardBrand, cardLast4: result.cardLast4 };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      ctx.log.warn({ orderId: payment.orderId, reason: error.reason }, 'payment provider failed');
      next = { status: 'FAILED', failureReason: error.reason };
    }
    const applied = await this.transition(ctx, payment, ['PROCESSING'], next);
    if (applied) this.metrics.authorizations.inc({ outcome: next.status.toLowerCase() });
    if (applied && next.status !== 'AUTHORIZED')
      this.metrics.declines.inc({ outcome: next.status.toLowerCase(), reason: next.failureReason ?? 'unknown' });
    return applied ?? (await this.reload(ctx, payment.id));
  }

  async capture(ctx: ServiceContext, raw: unknown): Promise<PaymentView> {
    const { orderId } = parse(orderInput, raw);
    const payment = await this.require(ctx, orderId);
    if (payment.status === 'CAPTURED') return toView(payment);
    if (payment.status !== 'AUTHORIZED')
      throw new BadUserInputError(`A ${payment.status} payment cannot be captured`);
    await this.provider.capture(payment.providerRef!);
    const applied = await this.transition(ctx, payment, ['AUTHORIZED'], { status: 'CAPTURED' });
    if (applied) {
      this.metrics.captures.inc();
      return toView(applied);
    }
    return this.capture(ctx, raw); // someone else moved it first: answer from the new state
  }

  /** Releases an authorization. Nothing to void (declined, failed, none) is not an error. */
  async void(ctx: ServiceContext, raw: unknown): Promise<PaymentView | null> {
    const { orderId } = parse(orderInput, raw);
    const payment = await ctx.em.getRepository(Payment).findOneBy({ orderId });
    if (!payment) return null;
    if (payment.status === 'VOIDED' || payment.status === 'DECLINED' || payment.status === 'FAILED') return toView(payment);
    if (payment.status === 'CAPTURED' || payment.status === 'REFUNDED')
      throw new BadUserInputError(`A ${payment.status} payment cannot be voided (refund it instead)`);
    if (payment.providerRef) await this.provider.void(payment.providerRef);
    const applied = await this.transition(ctx, payment, ['AUTHORIZED', 'PROCESSING'], { status: 'VOIDED' });
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
    const applied = await this.transition(ctx, payment, ['CAPTURED'], { status: 'REFUNDED' });
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
    const payment = await ctx.em.getRepository(Payment).findOneBy({ orderId });
    if (!payment) throw new NotFoundError(`No payment for order ${orderId}`);
    return payment;
  }

  private async reload(ctx: ServiceContext, id: string): Promise<Payment> {
    return ctx.em.getRepository(Payment).findOneByOrFail({ id });
  }

  /**
   * Moves a payment from one of `from` to `next.status` with its event row, in one short
   * transaction; null when another caller changed the state first.
   */
  private async transition(
    ctx: ServiceContext,
    payment: Payment,
    from: PaymentState[],
    next: Partial<Payment> & { status: PaymentState },
  ): Promise<Payment | null> {
    return withTransaction(ctx, async (tx) => {
      const repo = tx.em.getRepository(Payment);
      const current = await repo.findOne({ where: { id: payment.id }, lock: { mode: 'pessimistic_write' } });
      if (!current || !from.includes(current.status)) return null;
      const previous = current.status;
      Object.assign(current, next);
      const saved = await repo.save(current);
      await this.recordEvent(tx, payment.id, previous, next.status, next.failureReason ?? null);
      return saved;
    });
  }

  private async recordEvent(ctx: ServiceContext, paymentId: string, from: string | null, to: string, reason: string | null) {
    const repo = ctx.em.getRepository(PaymentEvent);
    await repo.save(repo.create({ paymentId, fromStatus: from, toStatus: to, reason }));
  }
}
