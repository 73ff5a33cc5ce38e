import type { PaymentState } from '../entities/payment.entity';

export type PaymentEventName = 'authorize_requested' | 'approved' | 'declined' | 'provider_failed' | 'voided' | 'captured' | 'refunded';

/** The provider call a transition stands for (made before the state changes; all idempotent at the provider). */
export type ProviderCall = 'authorize' | 'capture' | 'void' | 'refund';

export interface PaymentTransition {
  from: PaymentState | null;
  event: PaymentEventName;
  to: PaymentState;
  provider: ProviderCall | null;
}

const row = (from: PaymentState | null, event: PaymentEventName, to: PaymentState, provider: ProviderCall | null): PaymentTransition => ({
  from,
  event,
  to,
  provider,
});

/**
 * A payment's life as a table. PROCESSING is held while the provider is asked to authorize
 * (the answer decides the next row); a PROCESSING payment may be voided (its order was
 * undone), and an approval that arrives after that is voided at the provider. `provider` is
 * the provider call a row stands for, made before the state changes.
 * DECLINED, FAILED, VOIDED and REFUNDED are final.
 */
export const PAYMENT_TRANSITIONS: readonly PaymentTransition[] = [
  row(null, 'authorize_requested', 'PROCESSING', 'authorize'),
  // An authorization asked for an order already undone (a stale request arriving late) is never made.
  row(null, 'voided', 'VOIDED', null),
  row('PROCESSING', 'approved', 'AUTHORIZED', null),
  row('PROCESSING', 'declined', 'DECLINED', null),
  row('PROCESSING', 'provider_failed', 'FAILED', null),
  row('PROCESSING', 'voided', 'VOIDED', null),
  row('AUTHORIZED', 'captured', 'CAPTURED', 'capture'),
  row('AUTHORIZED', 'voided', 'VOIDED', 'void'),
  row('CAPTURED', 'refunded', 'REFUNDED', 'refund'),
];

export function paymentTransition(from: PaymentState | null, event: PaymentEventName): PaymentTransition | undefined {
  return PAYMENT_TRANSITIONS.find((t) => t.from === from && t.event === event);
}

/** The states a payment may be in for `event` to apply. */
export function statesFor(event: PaymentEventName): PaymentState[] {
  return PAYMENT_TRANSITIONS.filter((t) => t.event === event && t.from !== null).map((t) => t.from!);
}
