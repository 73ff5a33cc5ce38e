import { randomUUID } from 'node:crypto';
import {
  AppError,
  BadUserInputError,
  ErrorCode,
  OutOfStockError,
  withTransaction,
  type ServiceContext,
  type SignedInIdentity, uniqueViolation } from '@shop/kit';
import { CartItem } from '../entities/cart-item.entity';
import { Order } from '../entities/order.entity';
import { OrderLine } from '../entities/order-line.entity';
import type { OrderMetrics } from '../metrics';
import type { Saga } from './saga';
import { parseCheckoutInput, type CheckoutInput } from './validation';

const codeOf = (error: unknown) => (error instanceof AppError ? error.code : undefined);

export interface CheckoutOptions {
  currency: string;
  reservationTtlSeconds: number;
  leaseMs: number;
}

/**
 * checkout: the live path of the saga. Steps: create the order (idempotency key unique per
 * user) → reserve stock → authorize payment → confirm, commit, capture, empty the cart.
 * Each step is persisted in its own short transaction before the next remote call; a crash
 * or a timeout anywhere leaves a recorded state that the recovery loop finishes or undoes.
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
    const existing = await this.findByKey(ctx, user.userId, input.idempotencyKey);
    if (existing) {
      timer({ outcome: 'replay' });
      return this.replay(existing);
    }
    let order: Order;
    try {
      order = await this.createOrder(ctx, user, input);
    } catch (error) {
      if (!uniqueViolation(error)) {
        timer({ outcome: codeOf(error) ? 'rejected' : 'error' });
        throw error;
      }
      // A concurrent request with the same key created it first: that one drives the saga.
      timer({ outcome: 'replay' });
      return this.replay((await this.findByKey(ctx, user.userId, input.idempotencyKey))!);
    }
    this.metrics.checkoutsStarted.inc();
    try {
      const result = await this.run(ctx, order, input.paymentToken);
      timer({ outcome: result.status === 'CONFIRMED' ? 'confirmed' : 'payment_failed' });
      return result;
    } catch (error) {
      timer({ outcome: codeOf(error) ? 'rejected' : 'error' });
      throw error;
    }
  }

  private findByKey(ctx: ServiceContext, userId: string, idempotencyKey: string) {
    return ctx.em.getRepository(Order).findOneBy({ userId, idempotencyKey });
  }

  /** The same key answers the same: the order, or the error the first attempt was refused with. */
  private replay(order: Order): Order {
    if (order.rejectionCode === ErrorCode.OUT_OF_STOCK)
      throw new OutOfStockError(order.rejectionDetail?.productIds ?? [], order.rejectionDetail?.message);
    if (order.rejectionCode) throw new AppError(order.rejectionCode as ErrorCode, order.rejectionDetail?.message ?? 'Checkout refused');
    return order;
  }

  /** Step 1: price the cart from the catalog and create the PENDING order with its lines. */
  private async createOrder(ctx: ServiceContext, user: SignedInIdentity, input: CheckoutInput): Promise<Order> {
    const items = await ctx.em.getRepository(CartItem).find({ where: { userId: user.userId }, order: { createdAt: 'ASC' } });
    const catalog = await this.saga.clients.products.lookup(items.map((item) => item.productId));
    const priced = items.flatMap((item) => {
      const product = catalog.get(item.productId);
      return product && !product.archived ? [{ item, product }] : [];
    });
    if (priced.length === 0) throw new BadUserInputError('Your cart is empty: add products before checking out');
    const id = randomUUID();
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
          leaseUntil: new Date(Date.now() + this.options.leaseMs),
          totalAmount: total,
          currency: this.options.currency,
          shippingAddress: input.shippingAddress,
          rejectionCode: null,
          rejectionDetail: null,
          failureReason: null,
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
      order.lines = await tx.em.getRepository(OrderLine).find({ where: { orderId: id }, order: { position: 'ASC' } });
      return order;
    }).then((order) => {
      this.saga.crashPoint(ctx, order.id, 'order_created');
      return order;
    });
  }

  /** Steps 2-4. Returns the order in its state after the saga (CONFIRMED or PAYMENT_FAILED). */
  private async run(ctx: ServiceContext, order: Order, paymentToken: string): Promise<Order> {
    const { clients } = this.saga;
    const lines = (order.lines ?? []).map((line) => ({ productId: line.productId, quantity: line.quantity }));

    // Step 2: reserve every line, all or nothing.
    try {
      await clients.inventory.reserve(order.id, lines, this.options.reservationTtlSeconds);
    } catch (error) {
      const code = codeOf(error);
      if (code === ErrorCode.OUT_OF_STOCK || code === ErrorCode.BAD_USER_INPUT || code === ErrorCode.NOT_FOUND) {
        // Inventory holds nothing after a refusal; the cart is kept.
        await this.reject(ctx, order, error as AppError, 'failed');
      }
      throw error; // anything else: unknown outcome, recovery decides
    }
    if (!(await this.saga.advance(ctx, order.id, ['order_created'], { sagaState: 'stock_reserved' }))) {
      // Recovery took the order over (our lease ran out) and undid it: let go of what we just took.
      await clients.inventory.release(order.id).catch((e) => ctx.log.warn({ err: e, orderId: order.id }, 'late release failed'));
      return this.reload(ctx, order.id);
    }

    // Step 3: authorize (idempotent by order).
    let payment;
    try {
      payment = await clients.payments.authorize({
        idempotencyKey: `order:${order.id}`,
        orderId: order.id,
        userId: order.userId,
        amount: order.totalAmount,
        currency: order.currency,
        paymentToken,
      });
    } catch (error) {
      if (codeOf(error) === ErrorCode.BAD_USER_INPUT) {
        // The token was refused before anything was charged: let the stock go, repeat the error.
        await this.reject(ctx, order, error as AppError, 'compensating');
        await this.saga.compensate(ctx, order.id).catch((e) => ctx.log.warn({ err: e, orderId: order.id }, 'compensation deferred to recovery'));
      }
      throw error;
    }

    if (payment.status === 'AUTHORIZED') {
      if (!(await this.saga.advance(ctx, order.id, ['stock_reserved'], { sagaState: 'payment_authorized' }))) {
        // Recovery undid the order while the authorization was on its way: release the hold.
        await clients.payments.void(order.id).catch((e) => ctx.log.warn({ err: e, orderId: order.id }, 'late void failed'));
        return this.reload(ctx, order.id);
      }
      // Step 4: once confirmed, the order stands; a failure to commit or capture now is
      // finished by recovery, and the customer still gets the confirmed order.
      try {
        await this.saga.confirm(ctx, order, ['payment_authorized']);
      } catch (error) {
        ctx.log.warn({ err: error, orderId: order.id }, 'confirmed order left for recovery to finish');
      }
    } else {
      try {
        await this.saga.fail(ctx, order.id, ['stock_reserved'], 'PAYMENT_FAILED', payment.failureReason ?? 'payment_failed');
      } catch (error) {
        ctx.log.warn({ err: error, orderId: order.id }, 'payment failure compensation left for recovery');
      }
    }
    return this.reload(ctx, order.id);
  }

  private async reject(ctx: ServiceContext, order: Order, error: AppError, sagaState: 'failed' | 'compensating') {
    const productIds = (error.extensions?.productIds as string[] | undefined) ?? undefined;
    await this.saga.advance(ctx, order.id, [order.sagaState, 'order_created', 'stock_reserved'], {
      sagaState,
      status: 'CANCELLED',
      failureReason: error.code.toLowerCase(),
      rejectionCode: error.code,
      rejectionDetail: { message: error.message, ...(productIds ? { productIds } : {}) },
    });
  }

  private reload(ctx: ServiceContext, id: string) {
    return ctx.em.getRepository(Order).findOneByOrFail({ id });
  }
}
