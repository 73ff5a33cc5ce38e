import { startTimerLoop, type Logger, type ServiceContext, type TimerLoop } from '@shop/kit';
import type { DataSource } from 'typeorm';
import { Order } from '../entities/order.entity';
import type { OrderMetrics } from '../metrics';
import type { Saga } from './saga';

export interface RecoveryOptions {
  intervalMs: number;
  leaseMs: number;
  batchSize?: number;
}

/**
 * Finishes or undoes checkouts left half-way (a crash of orders, inventory or payments, a
 * timeout). Runs at start and every `intervalMs`. An order is taken only once its lease has
 * run out (the live checkout renews it at every step), and taking it renews the lease in
 * the same statement with FOR UPDATE SKIP LOCKED, so two replicas never work on one order.
 *
 * Decisions, from the order's saga state and the other services' own records:
 *  - confirmed (order_confirmed / reservation_committed / payment_captured): commit, capture, complete;
 *  - compensating: release the stock, void the payment, close;
 *  - cancelling / refunding: refund, restock, close;
 *  - still PENDING: ask payments and inventory. Approved payment and stock held → confirm and
 *    finish; approved payment but stock gone → CANCELLED, void; declined/failed → PAYMENT_FAILED,
 *    release; no payment at all → CANCELLED (checkout_interrupted), release and void.
 */
export class RecoveryService {
  private loop?: TimerLoop;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly saga: Saga,
    private readonly metrics: OrderMetrics,
    private readonly logger: Logger,
    private readonly options: RecoveryOptions,
  ) {}

  start(): void {
    this.loop = startTimerLoop(() => this.runOnce(), {
      name: 'recovery pass',
      intervalMs: this.options.intervalMs,
      logger: this.logger,
      runAtStart: true,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.stop();
  }

  /** One pass; returns the number of orders it worked on. */
  async runOnce(): Promise<number> {
    const claimed = (await this.dataSource.query(
      `UPDATE orders SET lease_until = now() + ($1 || ' milliseconds')::interval
        WHERE id IN (
          SELECT id FROM orders
           WHERE saga_state NOT IN ('completed', 'failed')
             AND (lease_until IS NULL OR lease_until < now())
           ORDER BY updated_at
           LIMIT $2
           FOR UPDATE SKIP LOCKED)
        RETURNING id`,
      [String(this.options.leaseMs), this.options.batchSize ?? 25],
    )) as [{ id: string }[], number] | { id: string }[];
    const rows = Array.isArray(claimed[0]) ? (claimed[0] as { id: string }[]) : (claimed as { id: string }[]);
    for (const { id } of rows) {
      if (this.stopped) break;
      const ctx: ServiceContext = {
        requestId: `recovery:${id}`,
        identity: { userId: null, role: null, sessionId: null },
        caller: 'orders',
        em: this.dataSource.manager,
        log: this.logger.child({ orderId: id, recovery: true }),
      };
      try {
        await this.recover(ctx, id);
      } catch (error) {
        // Left with its lease: the next pass after the lease tries again.
        ctx.log.warn({ err: error }, 'recovery of order failed; will retry');
      }
    }
    return rows.length;
  }

  async recover(ctx: ServiceContext, orderId: string): Promise<void> {
    const order = await ctx.em.getRepository(Order).findOneByOrFail({ id: orderId });
    const { clients } = this.saga;
    const state = order.sagaState;
    ctx.log.info({ state, status: order.status }, 'recovering interrupted checkout');
    switch (state) {
      case 'order_confirmed':
      case 'reservation_committed':
      case 'payment_captured':
        await this.saga.finishConfirmed(ctx, order);
        this.metrics.recoveries.inc({ action: 'finished_confirmed' });
        return;
      case 'compensating':
        await this.saga.compensate(ctx, order.id);
        this.metrics.recoveries.inc({ action: 'compensated' });
        return;
      case 'cancelling':
      case 'refunding':
        await this.saga.unwind(ctx, order.id, state);
        this.metrics.recoveries.inc({ action: state });
        return;
      case 'completed':
      case 'failed':
        return;
    }
    // Still PENDING (order_created, stock_reserved, payment_authorized): the other services decide.
    const [payment, reservation] = await Promise.all([clients.payments.get(order.id), clients.inventory.status(order.id)]);
    const approved = payment?.status === 'AUTHORIZED' || payment?.status === 'CAPTURED';
    if (approved && (reservation === 'RESERVED' || reservation === 'COMMITTED')) {
      await this.saga.confirm(ctx, order, [state]);
      this.metrics.recoveries.inc({ action: 'confirmed' });
    } else if (approved) {
      await this.saga.fail(ctx, order.id, [state], 'CANCELLED', 'reservation_expired');
      this.metrics.recoveries.inc({ action: 'cancelled' });
    } else if (payment?.status === 'DECLINED' || payment?.status === 'FAILED') {
      await this.saga.fail(ctx, order.id, [state], 'PAYMENT_FAILED', payment.failureReason ?? 'payment_failed');
      this.metrics.recoveries.inc({ action: 'payment_failed' });
    } else {
      await this.saga.fail(ctx, order.id, [state], 'CANCELLED', 'checkout_interrupted');
      this.metrics.recoveries.inc({ action: 'cancelled' });
    }
  }
}
