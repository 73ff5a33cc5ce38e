import { Counter, Histogram, type Registry } from 'prom-client';

/** Business metrics of the orders service (on /metrics beside the kit's). */
export interface OrderMetrics {
  /** Orders reaching a final status: CONFIRMED, PAYMENT_FAILED, CANCELLED, REFUNDED. */
  ordersByStatus: Counter<'status'>;
  checkoutDuration: Histogram<'outcome'>;
  recoveries: Counter<'action'>;
  refunds: Counter<'kind'>;
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
  };
}
