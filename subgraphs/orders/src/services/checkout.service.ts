import { randomUUID } from 'node:crypto';
import {
  AppError,
  BadUserInputError,
  currentTraceparent,
  ErrorCode,
  OutOfStockError,
  rows,
  uniqueViolation,
  type ServiceContext,
  type SessionClaim,
  type SignedInIdentity,
} from '@shop/kit';
import { Order, ORDER_COLUMNS, orderFromRow, type OrderRow } from '../entities/order.entity';
import type { OrderMetrics } from '../metrics';
import type { Saga, SagaLine } from './saga';
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
      let created: { order: Order; lines: SagaLine[] };
      try {
        created = await this.createOrder(ctx, user, input, id, claim.token);
        this.metrics.checkoutsStarted.inc();
      } catch (error) {
        if (!uniqueViolation(error)) throw error;
        // A concurrent request with the same key created it first: that one drives the saga.
        await this.saga.release(claim);
        return this.resume(ctx, (await this.findByKey(ctx, user.userId, input.idempotencyKey))!, input.paymentToken);
      }
      return this.settled(await this.driveForCustomer(ctx, claim, id, input.paymentToken, created));
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
  private async driveForCustomer(
    ctx: ServiceContext,
    claim: SessionClaim,
    orderId: string,
    paymentToken: string,
    known?: { order: Order; lines: SagaLine[] },
  ): Promise<Order> {
    try {
      return await this.saga.drive(ctx, claim, orderId, paymentToken, known);
    } catch (error) {
      const order = await ctx.em.getRepository(Order).findOneBy({ id: orderId }).catch(() => null);
      if (!order || order.status === 'PENDING') throw error;
      ctx.log.warn({ err: error, orderId, status: order.status }, 'decided order left for recovery to finish');
      return order;
    }
  }

  private async findByKey(ctx: ServiceContext, userId: string, idempotencyKey: string): Promise<Order | null> {
    const [row] = await rows<OrderRow>(ctx.em, `SELECT ${ORDER_COLUMNS} FROM orders WHERE user_id = $1 AND idempotency_key = $2`, [
      userId,
      idempotencyKey,
    ]);
    return row ? orderFromRow(row) : null;
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

  /**
   * Step 1: price the cart from the catalog and create the PENDING order with its lines and its
   * `created` event, owned by `ownerClaim`: one statement (data-modifying CTEs, applied
   * atomically), so the order never exists without its lines or its first event.
   */
  private async createOrder(
    ctx: ServiceContext,
    user: SignedInIdentity,
    input: CheckoutInput,
    id: string,
    ownerClaim: string,
  ): Promise<{ order: Order; lines: SagaLine[] }> {
    const items = await rows<{ productId: string; quantity: number }>(
      ctx.em,
      `SELECT product_id AS "productId", quantity FROM cart_items WHERE user_id = $1 ORDER BY created_at`,
      [user.userId],
    );
    const catalog = await this.saga.clients.products.lookup(items.map((item) => item.productId));
    const priced = items.flatMap((item) => {
      const product = catalog.get(item.productId);
      return product && !product.archived ? [{ item, product }] : [];
    });
    if (priced.length === 0) throw new BadUserInputError('Your cart is empty: add products before checking out');
    const total = priced.reduce((sum, { item, product }) => sum + item.quantity * product.price.amount, 0);
    const [row] = await rows<OrderRow>(
      ctx.em,
      `WITH seq AS (SELECT nextval('order_number_seq')::text AS n),
       created AS (
         INSERT INTO orders (id, number, user_id, idempotency_key, status, saga_state, owner_claim, payment_token, total_amount, currency, shipping_address, trace_parent)
         SELECT $1, 'SO-' || lpad(n, greatest(6, length(n)), '0'), $2, $3, 'PENDING', 'order_created', $4, $5, $6, $7, $8::jsonb, $16 FROM seq
         RETURNING ${ORDER_COLUMNS}
       ), lines AS (
         INSERT INTO order_lines (order_id, position, product_id, sku, name, quantity, unit_price, currency)
         SELECT created.id, l.position, l.product_id, l.sku, l.name, l.quantity, l.unit_price, l.currency
         FROM created, unnest($9::int[], $10::uuid[], $11::varchar[], $12::varchar[], $13::int[], $14::int[], $15::varchar[])
           AS l(position, product_id, sku, name, quantity, unit_price, currency)
       ), recorded AS (
         INSERT INTO order_events (order_id, event, from_state, to_state, status, reason)
         SELECT id, 'created', NULL, saga_state, status, NULL FROM created
       )
       SELECT * FROM created`,
      [
        id,
        user.userId,
        input.idempotencyKey,
        ownerClaim,
        input.paymentToken,
        total,
        this.options.currency,
        JSON.stringify(input.shippingAddress),
        priced.map((_, position) => position),
        priced.map(({ product }) => product.id),
        priced.map(({ product }) => product.sku),
        priced.map(({ product }) => product.name),
        priced.map(({ item }) => item.quantity),
        priced.map(({ product }) => product.price.amount),
        priced.map(({ product }) => product.price.currency),
        currentTraceparent() ?? null,
      ],
    );
    const order = orderFromRow(row);
    this.saga.crashPoint(ctx, order.id, 'order_created');
    return { order, lines: priced.map(({ product, item }) => ({ productId: product.id, quantity: item.quantity })) };
  }
}
