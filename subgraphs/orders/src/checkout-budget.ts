/**
 * How long one checkout can take at worst, from orders' own timeouts. The gateway must wait
 * longer than this for orders (its ORDERS_TIMEOUT_MS), or a client is told its checkout
 * failed while the checkout goes on to succeed. Keep it in step with the chain of calls in
 * services/checkout.service.ts and services/saga.ts: gateway/src/upstream/subgraphs.spec.ts
 * checks the gateway's timeout against it.
 */
export interface CheckoutTimeouts {
  SERVICE_TIMEOUT_MS: number;
  PAYMENT_TIMEOUT_MS: number;
}

/**
 * The remote calls of the longest path through one live checkout, in order, and the setting
 * that bounds each. The approved path (commit, capture) and the declined or refused path
 * (release, void) make the same number of calls of each kind. A checkout that loses its order
 * to another worker stops without further calls; a retry that takes an order over starts
 * after the lookup, so its path (reserve, authorize, commit, capture) is shorter.
 */
export const CHECKOUT_CALLS: readonly { call: string; timeout: keyof CheckoutTimeouts }[] = [
  { call: 'products/lookup (price the cart)', timeout: 'SERVICE_TIMEOUT_MS' },
  { call: 'reservations/reserve', timeout: 'SERVICE_TIMEOUT_MS' },
  { call: 'payments/authorize', timeout: 'PAYMENT_TIMEOUT_MS' },
  { call: 'reservations/commit (or release)', timeout: 'SERVICE_TIMEOUT_MS' },
  { call: 'payments/capture (or void)', timeout: 'PAYMENT_TIMEOUT_MS' },
];

/**
 * Orders' own database round trips on that path: idempotency lookup, cart read, the order's
 * advisory lock, the order insert (one transaction), reading the order and its lines, one
 * transition per saga step (6 short transactions: update, event row; the last also empties
 * the cart) and the unlock.
 */
export const CHECKOUT_DATABASE_STEPS = 13;
/**
 * What each of them is allowed. Orders sets no statement timeout of its own, so this is an
 * allowance for a healthy local Postgres, not a bound the code enforces.
 */
export const DATABASE_STEP_ALLOWANCE_MS = 500;

/** Milliseconds the longest checkout can take with these timeouts. */
export function checkoutWorstCaseMs(timeouts: CheckoutTimeouts): number {
  const calls = CHECKOUT_CALLS.reduce((sum, { timeout }) => sum + timeouts[timeout], 0);
  return calls + CHECKOUT_DATABASE_STEPS * DATABASE_STEP_ALLOWANCE_MS;
}
