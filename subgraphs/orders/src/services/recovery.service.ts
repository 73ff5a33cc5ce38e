import { linkTo, startTimerLoop, withSpan, type Logger, type ServiceContext, type TimerLoop } from '@shop/kit';
import type { DataSource } from 'typeorm';
import type { OrderMetrics } from '../metrics';
import type { Saga } from './saga';

export interface RecoveryOptions {
  intervalMs: number;
  /** Unfinished orders looked at per pass (oldest first). */
  batchSize?: number;
  /** Orders driven at once, so one slow service does not hold up the rest. */
  concurrency?: number;
}

/**
 * Finishes checkouts, cancels and refunds left half-way by a crash (of orders, inventory or
 * payments) or a timeout. Runs at start and every `intervalMs`. It looks at every unfinished
 * order and takes over each one whose owner is gone: the owner holds the order's advisory
 * lock for as long as its process (and its lock connection) lives, so an order is taken
 * within one interval of its owner's death, and never while its owner is alive, in this
 * process or another replica.
 *
 * It then does exactly what the live checkout does: run the step of the order's state from
 * the saga's table, and roll forward. The order is undone only when it cannot complete
 * (stock gone and not re-reservable, payment declined, no payment token to authorize with).
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

  /** One pass; returns the number of orders it took over. */
  async runOnce(): Promise<number> {
    const open = (await this.dataSource.query(
      `SELECT id, trace_parent FROM orders WHERE saga_state NOT IN ('completed', 'failed') ORDER BY updated_at LIMIT $1`,
      [this.options.batchSize ?? 500],
    )) as { id: string; trace_parent: string | null }[];
    let taken = 0;
    const queue = [...open];
    const worker = async () => {
      for (let row = queue.shift(); row && !this.stopped; row = queue.shift()) if (await this.recover(row.id, row.trace_parent)) taken += 1;
    };
    await Promise.all(Array.from({ length: this.options.concurrency ?? 4 }, worker));
    return taken;
  }

  /**
   * Takes the order over if its owner is gone and drives it; false when a live owner holds it.
   * Driving it is a span of the recovery pass's trace, linked to the checkout request that
   * created the order (`traceParent`, stored with the order).
   */
  async recover(orderId: string, traceParent: string | null = null): Promise<boolean> {
    const ctx: ServiceContext = {
      requestId: `recovery:${orderId}`,
      identity: { userId: null, role: null, sessionId: null },
      caller: 'orders',
      em: this.dataSource.manager,
      log: this.logger.child({ orderId, recovery: true }),
    };
    const claim = await this.saga.own(ctx, orderId);
    if (!claim) return false;
    try {
      const order = await withSpan('checkout recovery', { links: linkTo(traceParent), attributes: { 'order.id': orderId } }, (span) =>
        this.saga.drive(ctx, claim, orderId).then((driven) => {
          span.setAttribute('order.status', driven.status);
          return driven;
        }),
      );
      ctx.log.info({ state: order.sagaState, status: order.status }, 'recovered interrupted order');
      this.metrics.recoveries.inc({ action: order.status.toLowerCase() });
    } catch (error) {
      // Released below: the next pass tries again.
      ctx.log.warn({ err: error }, 'recovery of order failed; will retry');
    } finally {
      await this.saga.release(claim);
    }
    return true;
  }
}
