import type { OrderStatus, SagaState } from '../entities/order.entity';

/** What a step reports; with the state it ran in, it picks exactly one row of the table. */
export type SagaEvent =
  | 'created'
  | 'reserved'
  | 'out_of_stock'
  | 'reservation_refused'
  | 'authorized'
  | 'declined'
  | 'token_refused'
  | 'payment_unavailable'
  | 'confirmed'
  | 'stock_lost'
  | 'committed'
  | 'captured'
  | 'cart_emptied'
  | 'compensated'
  | 'cancel_requested'
  | 'refund_requested'
  | 'unwound';

/**
 * The work done in a state, which ends by reporting an event:
 * - reserve: `reservations/reserve` (renewing an expired reservation);
 * - authorize: `payments/authorize` with the order's payment token (idempotent by order);
 * - confirm: makes sure the stock is still held when another worker took over, then confirms;
 * - commit: `reservations/commit`; a reservation that expired is renewed and committed, if stock allows;
 * - capture: `payments/capture`;
 * - empty_cart: deletes the ordered products from the cart, in the transaction of the transition;
 * - compensate: `reservations/release` and `payments/void` (settling a PROCESSING authorization first);
 * - unwind: `payments/refund` and `stock/restock`.
 */
export type SagaStep = 'reserve' | 'authorize' | 'confirm' | 'commit' | 'capture' | 'empty_cart' | 'compensate' | 'unwind';

/** What undoes the effect of the step that reported the event (what compensation must let go of from then on). */
export type Compensation = 'release' | 'void' | 'restock' | 'refund';

export interface Transition {
  from: SagaState | null;
  event: SagaEvent;
  to: SagaState;
  /** The order's status after the transition (unchanged when absent). */
  status?: OrderStatus;
  /** The transition applies only while the order has this status. */
  requireStatus?: OrderStatus;
  /** The step the saga runs next, in `to`; none in a terminal state. */
  then: SagaStep | null;
  /** What undoes this step's effect, should the order be undone later. */
  compensation: Compensation | null;
}

const row = (
  from: SagaState | null,
  event: SagaEvent,
  to: SagaState,
  then: SagaStep | null,
  extra: Partial<Pick<Transition, 'status' | 'requireStatus' | 'compensation'>> = {},
): Transition => ({ from, event, to, then, compensation: null, ...extra });

/**
 * The checkout saga, cancel and refund as one table: the live checkout, a retry that takes an
 * order over and the recovery loop all run `then` of the state the order is in and apply the
 * row its event picks, so every path an order can take is a row here. Rolling forward is the
 * rule: an order is undone only by an event that says it cannot complete (stock gone, payment
 * declined, token refused, no payment token left to authorize with).
 */
export const SAGA_TRANSITIONS: readonly Transition[] = [
  row(null, 'created', 'order_created', 'reserve', { status: 'PENDING' }),
  row('order_created', 'reserved', 'stock_reserved', 'authorize', { compensation: 'release' }),
  row('order_created', 'out_of_stock', 'failed', null, { status: 'CANCELLED' }),
  row('order_created', 'reservation_refused', 'compensating', 'compensate', { status: 'CANCELLED' }),
  row('stock_reserved', 'authorized', 'payment_authorized', 'confirm', { compensation: 'void' }),
  row('stock_reserved', 'declined', 'compensating', 'compensate', { status: 'PAYMENT_FAILED' }),
  row('stock_reserved', 'token_refused', 'compensating', 'compensate', { status: 'CANCELLED' }),
  row('stock_reserved', 'payment_unavailable', 'compensating', 'compensate', { status: 'CANCELLED' }),
  row('payment_authorized', 'confirmed', 'order_confirmed', 'commit', { status: 'CONFIRMED' }),
  row('payment_authorized', 'stock_lost', 'compensating', 'compensate', { status: 'CANCELLED' }),
  row('order_confirmed', 'committed', 'reservation_committed', 'capture', { compensation: 'restock' }),
  row('order_confirmed', 'stock_lost', 'compensating', 'compensate', { status: 'CANCELLED' }),
  row('reservation_committed', 'captured', 'payment_captured', 'empty_cart', { compensation: 'refund' }),
  row('payment_captured', 'cart_emptied', 'completed', null),
  row('compensating', 'compensated', 'failed', null),
  row('completed', 'cancel_requested', 'cancelling', 'unwind', { requireStatus: 'CONFIRMED' }),
  row('completed', 'refund_requested', 'refunding', 'unwind', { requireStatus: 'CONFIRMED' }),
  row('cancelling', 'unwound', 'completed', null, { status: 'CANCELLED' }),
  row('refunding', 'unwound', 'completed', null, { status: 'REFUNDED' }),
];

export const TERMINAL_STATES: readonly SagaState[] = ['completed', 'failed'];

/** The row for `event` in `from`; undefined when the table has none (the event is impossible there). */
export function transitionFor(from: SagaState | null, event: SagaEvent): Transition | undefined {
  return SAGA_TRANSITIONS.find((t) => t.from === from && t.event === event);
}

/**
 * The step to run in `state`, from the table (every row into a state names the same one).
 * `completed` has none: cancel and refund are started by a request, not by the saga.
 */
export function stepIn(state: SagaState): SagaStep | null {
  return SAGA_TRANSITIONS.find((t) => t.to === state)?.then ?? null;
}
