import { Column, CreateDateColumn, Entity, Index, OneToMany, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { TRACEPARENT_LENGTH } from '@shop/kit';
import { OrderLine } from './order-line.entity';

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'PAYMENT_FAILED' | 'CANCELLED' | 'REFUNDED';

/**
 * Where the checkout saga of an order stands. The forward steps are the SagaStep names;
 * `compensating` means the order failed and its stock/payment still have to be let go;
 * `cancelling` / `refunding` mean a cancel or refund is under way (payment refund, restock);
 * `completed` and `failed` are terminal (nothing left for recovery to do).
 */
export type SagaState =
  | 'order_created'
  | 'stock_reserved'
  | 'payment_authorized'
  | 'order_confirmed'
  | 'reservation_committed'
  | 'payment_captured'
  | 'compensating'
  | 'cancelling'
  | 'refunding'
  | 'completed'
  | 'failed';

export interface Address {
  name: string;
  line1: string;
  line2: string | null;
  city: string;
  postalCode: string;
  country: string;
}

@Entity({ name: 'orders' })
@Index('orders_user_idempotency_key', ['userId', 'idempotencyKey'], { unique: true })
@Index('orders_user_created', ['userId', 'createdAt', 'id'])
export class Order {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'varchar', length: 20, unique: true })
  number!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 100 })
  idempotencyKey!: string;

  @Column({ type: 'varchar', length: 20 })
  status!: OrderStatus;

  @Column({ name: 'saga_state', type: 'varchar', length: 30 })
  sagaState!: SagaState;

  /**
   * The claim of the worker driving the saga (it also holds the order's advisory lock). Every
   * transition requires it, so a worker that lost the order to another one can no longer move it.
   */
  @Column({ name: 'owner_claim', type: 'uuid', nullable: true })
  ownerClaim!: string | null;

  /**
   * The payment token of an unfinished checkout, kept so that whoever finishes the saga (a
   * retry, recovery after a crash) can still authorize instead of cancelling; cleared once
   * the order is confirmed or failed. It is the card form's token, never card data.
   */
  @Column({ name: 'payment_token', type: 'varchar', length: 200, nullable: true })
  paymentToken!: string | null;

  @Column({ name: 'total_amount', type: 'integer' })
  totalAmount!: number;

  @Column({ type: 'varchar', length: 3 })
  currency!: string;

  @Column({ name: 'shipping_address', type: 'jsonb' })
  shippingAddress!: Address;

  /**
   * Set when checkout refused the order with an error (OUT_OF_STOCK, BAD_USER_INPUT): such an
   * order never reached the customer, is hidden from reads, and a retry of its key repeats the error.
   */
  @Column({ name: 'rejection_code', type: 'varchar', length: 40, nullable: true })
  rejectionCode!: string | null;

  @Column({ name: 'rejection_detail', type: 'jsonb', nullable: true })
  rejectionDetail!: { message: string; productIds?: string[] } | null;

  /** Why a payment failed, or why recovery cancelled the order (for operators). */
  @Column({ name: 'failure_reason', type: 'varchar', length: 60, nullable: true })
  failureReason!: string | null;

  /**
   * The W3C traceparent of the checkout request that created the order (null when not
   * tracing): recovery finishing the order starts its own trace with a link to it.
   */
  @Column({ name: 'trace_parent', type: 'varchar', length: TRACEPARENT_LENGTH, nullable: true })
  traceParent!: string | null;

  @OneToMany(() => OrderLine, (line) => line.order)
  lines?: OrderLine[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** The orders columns in the order `orderFromRow` reads them (for raw SQL on the checkout's hot path). */
export const ORDER_COLUMNS =
  'id, number, user_id, idempotency_key, status, saga_state, owner_claim, payment_token, total_amount, currency, ' +
  'shipping_address, rejection_code, rejection_detail, failure_reason, trace_parent, created_at, updated_at';

export interface OrderRow {
  id: string;
  number: string;
  user_id: string;
  idempotency_key: string;
  status: OrderStatus;
  saga_state: SagaState;
  owner_claim: string | null;
  payment_token: string | null;
  total_amount: number;
  currency: string;
  shipping_address: Address;
  rejection_code: string | null;
  rejection_detail: { message: string; productIds?: string[] } | null;
  failure_reason: string | null;
  trace_parent: string | null;
  created_at: Date;
  updated_at: Date;
}

/** An Order from a row of ORDER_COLUMNS, as the repository would have hydrated it. */
export function orderFromRow(row: OrderRow): Order {
  return Object.assign(new Order(), {
    id: row.id,
    number: row.number,
    userId: row.user_id,
    idempotencyKey: row.idempotency_key,
    status: row.status,
    sagaState: row.saga_state,
    ownerClaim: row.owner_claim,
    paymentToken: row.payment_token,
    totalAmount: row.total_amount,
    currency: row.currency,
    shippingAddress: row.shipping_address,
    rejectionCode: row.rejection_code,
    rejectionDetail: row.rejection_detail,
    failureReason: row.failure_reason,
    traceParent: row.trace_parent,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  });
}
