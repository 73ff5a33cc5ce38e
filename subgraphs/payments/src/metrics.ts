import { Counter, type Registry } from 'prom-client';

/** Business metrics of the payments service (on /metrics beside the kit's). */
export interface PaymentMetrics {
  authorizations: Counter<'outcome'>;
  captures: Counter;
  voids: Counter;
  refunds: Counter;
  /** Authorizations not approved, by outcome (declined, failed) and the provider's reason. */
  declines: Counter<'outcome' | 'reason'>;
  /** Money refunded, in minor units, by currency. */
  refundedAmount: Counter<'currency'>;
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
    declines: new Counter({
      name: 'payments_declines_total',
      help: 'Authorizations not approved, by outcome (declined by the issuer, failed at the provider) and reason',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    }),
    refundedAmount: new Counter({
      name: 'payments_refunded_amount_total',
      help: 'Refunded money in minor units (cents), by currency',
      labelNames: ['currency'],
      registers: [registry],
    }),
  };
}
