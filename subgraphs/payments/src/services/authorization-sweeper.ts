import { linkTo, startTimerLoop, withSpan, type Logger, type ServiceClient, type ServiceContext, type TimerLoop } from '@shop/kit';
import type { DataSource } from 'typeorm';
import type { PaymentService } from './payment.service';

export interface SweeperOptions {
  intervalMs: number;
  /** An authorization younger than this is left to the checkout that is about to capture or void it. */
  graceMs: number;
  batch?: number;
}

/** What orders answers for each order id: true (it will be captured), false (it never will), null (undecided yet). */
type Fates = { orders: { orderId: string; willCapture: boolean | null }[] };

/**
 * Voids every AUTHORIZED payment whose order will not capture it: a hold left behind by a
 * double fault (an order undone while a late authorization was on its way, and the process
 * that would have voided it died). Runs every `intervalMs`; an authorization is looked at
 * once it is `graceMs` old, and orders (its internal API) says which ones it will capture.
 * Orders undone before their payment existed are known here already (undone_orders).
 */
export class AuthorizationSweeper {
  private loop?: TimerLoop;

  constructor(
    private readonly dataSource: DataSource,
    private readonly payments: PaymentService,
    private readonly orders: ServiceClient | undefined,
    private readonly logger: Logger,
    private readonly options: SweeperOptions,
  ) {}

  start(): void {
    this.loop = startTimerLoop(() => this.sweep(), { name: 'authorization sweep', intervalMs: this.options.intervalMs, logger: this.logger });
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  /** One pass; returns how many authorizations it voided. */
  async sweep(): Promise<number> {
    const due = (await this.dataSource.query(
      `SELECT p.order_id, p.trace_parent, (u.order_id IS NOT NULL) AS undone FROM payments p LEFT JOIN undone_orders u ON u.order_id = p.order_id
        WHERE p.status = 'AUTHORIZED' AND p.updated_at < now() - ($1 || ' milliseconds')::interval
        ORDER BY p.updated_at LIMIT $2`,
      [String(this.options.graceMs), this.options.batch ?? 200],
    )) as { order_id: string; trace_parent: string | null; undone: boolean }[];
    if (due.length === 0) return 0;
    const abandoned = new Set(due.filter((row) => row.undone).map((row) => row.order_id));
    const ask = due.filter((row) => !row.undone).map((row) => row.order_id);
    if (ask.length && this.orders) {
      const { orders } = await this.orders.call<Fates>('orders/payment-fates', { orderIds: ask });
      for (const fate of orders) if (fate.willCapture === false) abandoned.add(fate.orderId);
    }
    const traceParents = new Map(due.map((row) => [row.order_id, row.trace_parent]));
    let voided = 0;
    for (const orderId of abandoned) {
      const ctx: ServiceContext = {
        requestId: `sweeper:${orderId}`,
        identity: { userId: null, role: null, sessionId: null },
        caller: 'payments',
        em: this.dataSource.manager,
        log: this.logger.child({ orderId, sweeper: true }),
      };
      try {
        // A span of the sweep's trace, linked to the authorization request that made the hold.
        const payment = await withSpan(
          'authorization void',
          { links: linkTo(traceParents.get(orderId)), attributes: { 'order.id': orderId } },
          () => this.payments.void(ctx, { orderId }),
        );
        if (payment?.status === 'VOIDED') voided += 1;
        ctx.log.warn('voided an authorization its order will never capture');
      } catch (error) {
        ctx.log.warn({ err: error }, 'voiding an abandoned authorization failed; next pass retries');
      }
    }
    return voided;
  }
}
