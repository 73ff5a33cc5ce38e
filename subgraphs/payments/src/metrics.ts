import { Counter, type Registry } from 'prom-client';

/** Business metrics of the payments service (on /metrics beside the kit's). */
export interface PaymentMetrics {
  authorizations: Counter<'outcome'>;
  captures: Counter;
  voids: Counter;
  refunds: Counter;
}

export function createPaymentMetrics(registry: Registry): PaymentMetrics {
  return {
    authorizations: new Counter({
      name: 'payments_authorizations_total',
      help: 'Payment authorizations by outcome (authorized, declined, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    captures: new Counter({ name: 'payments_captures_total', help: 'Captured payments', registers: [registry] }),
    voids: new Counter({ name: 'payments_voids_total', help: 'Voided authorizations', registers: [registry] }),
    refunds: new Counter({ name: 'payments_refunds_total', help: 'Refunded payments', registers: [registry] }),
  };
}
