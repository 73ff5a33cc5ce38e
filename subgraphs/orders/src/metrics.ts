import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SagaState } from './entities/order.entity';

/** Business metrics of the orders service (on /metrics beside the kit's). */
export interface OrderMetrics {
  /** Orders reaching a final status: CONFIRMED, PAYMENT_FAILED, CANCELLED, REFUNDED. */
  ordersByStatus: Counter<'status'>;
  checkoutDuration: Histogram<'outcome'>;
  recoveries: Counter<'action'>;
  refunds: Counter<'kind'>;
  /** Conversion: checkouts started → completed or failed (by reason); carts created → converted. */
  checkoutsStarted: Counter;
  checkoutsCompleted: Counter;
  checkoutsFailed: Counter<'reason'>;
  cartsCreated: Counter;
  cartsConverted: Counter;
}

/** Saga states of a checkout that has not ended yet: leaving one for a final status ends the checkout. */
const CHECKOUT_IN_FLIGHT: SagaState[] = ['order_created', 'stock_reserved', 'payment_authorized'];

/**
 * Counts an order's status change (saga.advance calls this after every applied step):
 * the final status, and for a checkout still in flight whether it completed or failed and why
 * (the payment's failure reason, out_of_stock, checkout_interrupted, reservation_expired …).
 */
export function recordTransition(
  metrics: OrderMetrics,
  from: SagaState[],
  patch: { status?: string; failureReason?: string | null },
): void {
  if (!patch.status || patch.status === 'PENDING') return;
  metrics.ordersByStatus.inc({ status: patch.status });
  if (!from.some((state) => CHECKOUT_IN_FLIGHT.includes(state))) return;
  if (patch.status === 'CONFIRMED') metrics.checkoutsCompleted.inc();
  else metrics.checkoutsFailed.inc({ reason: patch.failureReason ?? patch.status.toLowerCase() });
}

export function createOrderMetrics(registry: Registry): OrderMetrics {
  return {
    ordersByStatus: new Counter({
      name: 'orders_final_status_total',
      help: 'Orders by the status they ended in',
      labelNames: ['status'],
      registers: [registry],
    }),
    checkoutDuration: new Histogram({
      name: 'checkout_duration_seconds',
      help: 'Duration of checkout calls by outcome (confirmed, payment_failed, rejected, error, replay)',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    recoveries: new Counter({
      name: 'checkout_recoveries_total',
      help: 'Interrupted checkouts finished or undone by the recovery loop, by action',
      labelNames: ['action'],
      registers: [registry],
    }),
    refunds: new Counter({
      name: 'order_refunds_total',
      help: 'Orders refunded, by kind (cancel by the customer, refund by an admin)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    checkoutsStarted: new Counter({
      name: 'checkouts_started_total',
      help: 'Checkouts that created an order (replays of an idempotency key not counted)',
      registers: [registry],
    }),
    checkoutsCompleted: new Counter({
      name: 'checkouts_completed_total',
      help: 'Checkouts that ended CONFIRMED (live or finished by recovery)',
      registers: [registry],
    }),
    checkoutsFailed: new Counter({
      name: 'checkouts_failed_total',
      help: 'Checkouts that ended without an order: by reason (card_declined, out_of_stock, checkout_interrupted, ...)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    cartsCreated: new Counter({
      name: 'carts_created_total',
      help: 'Carts that got their first item (an empty cart became non-empty)',
      registers: [registry],
    }),
    cartsConverted: new Counter({
      name: 'carts_converted_total',
      help: 'Carts emptied by a completed checkout (abandonment = created - converted)',
      registers: [registry],
    }),
  };
}

/**
 * Seconds since the least recently advanced unfinished checkout last moved, read at each
 * scrape. Recovery finishes or undoes any checkout within lease + interval (about a
 * minute), so an age well beyond that means checkouts are stuck (the ShopCheckoutsStuck alert).
 */
export function registerStuckCheckoutGauge(registry: Registry, oldestAgeSeconds: () => Promise<number>): Gauge {
  return new Gauge({
    name: 'checkout_oldest_unfinished_age_seconds',
    help: 'Seconds since the least recently advanced unfinished checkout moved (0 when none is unfinished)',
    registers: [registry],
    async collect() {
      this.set(await oldestAgeSeconds());
    },
  });
}
