import { randomUUID } from 'node:crypto';
import {
  AppError,
  BadUserInputError,
  currentTraceparent,
  ErrorCode,
  OutOfStockError,
  uniqueViolation,
  withTransaction,
  type ServiceContext,
  type SessionClaim,
  type SignedInIdentity,
} from '@shop/kit';
import { CartItem } from '../entities/cart-item.entity';
import { Order } from '../entities/order.entity';
import { OrderLine } from '../entities/order-line.entity';
import type { OrderMetrics } from '../metrics';
import type { Saga } from './saga';
import { TERMINAL_STATES } from './saga-machine';
import { parseCheckoutInput, type CheckoutInput } from './validation';

const codeOf = (error: unknown) => (error instanceof AppError ? error.code : undefined);
/** The order stands where it is and a retry with the same key (or recovery) finishes it. */
const retryLater = (message: string) => new AppError(ErrorCode.SERVICE_UNAVAILABLE, message, { retryable: true });

export interface CheckoutOptions {
  currency: string;
}

/**
 * checkout: the live path of the saga (saga-machine.ts). The order id is claimed (advisory
 * lock) before its row exists, the order is created PENDING with its lines, then the saga is
 * driven by its table: reserve → authorize → confirm, commit, capture, empty the cart. Each
 * step is persisted in its own short transaction, so a crash anywhere leaves a recorded state
 * that a retry with the same key or the recovery loop takes over and rolls forward.
 *
 * What the caller gets: the order once it is CONFIRMED or PAYMENT_FAILED, the error a refused
 * order was refused with, or an error when the saga could not finish now. PENDING only for a
 * concurrent duplicate, while the first request is still driving the order.
 */
export class CheckoutService {
  constructor(
    private readonly saga: Saga,
    private readonly metrics: OrderMetrics,
    private readonly options: CheckoutOptions,
  ) {}

  async checkout(ctx: ServiceContext, user: SignedInIdentity, rawInput: unknown): Promise<Order> {
    const input = parseCheckoutInput(rawInput);
    const timer = this.metrics.checkoutDuration.startTimer();
    let outcome = 'error';
    try {
      const existing = await this.findByKey(ctx, user.userId, input.idempotencyKey);
      const order = existing
        ? await this.resume(ctx, existing, input.paymentToken)
        : await this.placeNew(ctx, user, input);
      outcome = existing ? 'replay' : order.status === 'CONFIRMED' ? 'confirmed' : 'payment_failed';
      return order;
    } catch (error) {
      const code = codeOf(error);
      outcome = code && code !== ErrorCode.INTERNAL_SERVER_ERROR && code !== ErrorCode.SERVICE_UNAVAILABLE ? 'rejected' : 'error';
      throw error;
    } finally {
      timer({ outcome });
    }
  }

  private async placeNew(ctx: ServiceContext, user: SignedInIdentity, input: CheckoutInput): Promise<Order> {
    const id = randomUUID();
    const claim = await this.saga.claimNew(id);
    if (!claim) throw retryLater('Checkout is not available right now; retry in a moment');
    try {
      let order: Order;
      try {
        order = await this.createOrder(ctx, user, input, id, claim.token);
        this.metrics.checkoutsStarted.inc();
      } catch (error) {
        if (!uniqueViolation(error)) throw error;
        // A concurrent request with the same key created it first: that one drives the saga.
        await this.saga.release(claim);
        return this.resume(ctx, (await this.findByKey(ctx, user.userId, input.idempotencyKey))!, input.paymentToken);
      }
      return this.settled(await this.driveForCustomer(ctx, claim, order.id, input.paymentToken));
    } finally {
      await this.saga.release(claim);
    }
  }

  /**
   * The same key again. A finished order answers as it did; an unfinished one is taken over at
   * once when its owner is gone (crashed, or its request ended), and driven to the end with
   * this request's payment token if the order kept none; while a live owner holds it, this is a
   * concurrent duplicate and gets the order as it stands.
   */
  private async resume(ctx: ServiceContext, order: Order, paymentToken: string): Promise<Order> {
    if (order.rejectionCode || TERMINAL_STATES.includes(order.sagaState)) return this.settled(order);
    const claim = await this.saga.own(ctx, order.id);
    if (!claim) return order;
    try {
      ctx.log.info({ orderId: order.id, state: order.sagaState }, 'checkout retried: taking the order over');
      return this.settled(await this.driveForCustomer(ctx, claim, order.id, paymentToken));
    } finally {
      await this.saga.release(claim);
    }
  }

  /**
   * Once the order's outcome is decided (CONFIRMED, PAYMENT_FAILED, a refusal), a failure in
   * the steps after it (commit, capture, release, void) is not the customer's problem: they
   * get the outcome, and recovery (or a retry) finishes the rest.
   */
  private async driveForCustomer(ctx: ServiceContext, claim: SessionClaim, orderId: string, paymentToken: string): Promise<Order> {
    try {
      return await this.saga.drive(ctx, claim, orderId, paymentToken);
    } catch (error) {
      const order = await ctx.em.getRepository(Order).findOneBy({ id: orderId }).catch(() => null);
      if (!order || order.status === 'PENDING') throw error;
      ctx.log.warn({ err: error, orderId, status: order.status }, 'decided order left for recovery to finish');
      return order;
    }
  }

  private findByKey(ctx: ServiceContext, userId: string, idempotencyKey: string) {
    return ctx.em.getRepository(Order).findOneBy({ userId, idempotencyKey });
  }

  /**
   * What a driven (or replayed) order answers: the error a refused order was refused with, an
   * error when the saga could not get past PENDING now (never PENDING itself: the caller retries
   * with the same key, or recovery finishes it), else the order.
   */
  private settled(order: Order): Order {
    if (order.rejectionCode === ErrorCode.OUT_OF_STOCK)
      throw new OutOfStockError(order.rejectionDetail?.productIds ?? [], order.rejectionDetail?.message);
    if (order.rejectionCode) throw new AppError(order.rejectionCode as ErrorCode, order.rejectionDetail?.message ?? 'Checkout refused');
    if (order.status === 'PENDING')
      throw retryLater('Checkout could not finish right now; retry with the same idempotencyKey to complete it');
    return order;
  }

  /** Step 1: price the cart from the catalog and create the PENDING order with its lines, owned by `ownerClaim`. */
  private async createOrder(ctx: ServiceContext, user: SignedInIdentity, input: CheckoutInput, id: string, ownerClaim: string): Promise<Order> {
    const items = await ctx.em.getRepository(CartItem).find({ where: { userId: user.userId }, order: { createdAt: 'ASC' } });
    const catalog = await this.saga.clients.products.lookup(items.map((item) => item.productId));
    const priced = items.flatMap((item) => {
      const product = catalog.get(item.productId);
      return product && !product.archived ? [{ item, product }] : [];
    });
    if (priced.length === 0) throw new BadUserInputError('Your cart is empty: add products before checking out');
    const total = priced.reduce((sum, { item, product }) => sum + item.quantity * product.price.amount, 0);
    return withTransaction(ctx, async (tx) => {
      const [{ seq }] = (await tx.em.query(`SELECT nextval('order_number_seq') AS seq`)) as { seq: string }[];
      const repo = tx.em.getRepository(Order);
      const order = await repo.save(
        repo.create({
          id,
          number: `SO-${String(seq).padStart(6, '0')}`,
          userId: user.userId,
          idempotencyKey: input.idempotencyKey,
          status: 'PENDING',
          sagaState: 'order_created',
          ownerClaim,
          paymentToken: input.paymentToken,
          totalAmount: total,
          currency: this.options.currency,
          shippingAddress: input.shippingAddress,
          rejectionCode: null,
          rejectionDetail: null,
          failureReason: null,
          traceParent: currentTraceparent() ?? null,
        }),
      );
      await tx.em.getRepository(OrderLine).save(
        priced.map(({ item, product }, position) =>
          tx.em.getRepository(OrderLine).create({
            orderId: id,
            position,
            productId: product.id,
            sku: product.sku,
            name: product.name,
            quantity: item.quantity,
            unitPrice: product.price.amount,
            currency: product.price.currency,
          }),
        ),
      );
      await this.saga.recordCreated(tx, order);
      return order;
    }).then((order) => {
      this.saga.crashPoint(ctx, order.id, 'order_created');
      return order;
    });
  }
}
