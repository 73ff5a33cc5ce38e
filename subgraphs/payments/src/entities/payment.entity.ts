import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { TRACEPARENT_LENGTH } from '@shop/kit';

/**
 * Internal states: PROCESSING is held only while the provider is being asked (it is never
 * shown in GraphQL); the rest are the contract's PaymentStatus values.
 */
export type PaymentState = 'PROCESSING' | 'AUTHORIZED' | 'CAPTURED' | 'DECLINED' | 'FAILED' | 'VOIDED' | 'REFUNDED';

@Entity({ name: 'payments' })
export class Payment {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('payments_order_id_key', { unique: true })
  @Column({ name: 'order_id', type: 'uuid' })
  orderId!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Index('payments_idempotency_key_key', { unique: true })
  @Column({ name: 'idempotency_key', type: 'varchar', length: 200 })
  idempotencyKey!: string;

  /** sha256 of the authorize request body, to tell a replay from a different request under one key. */
  @Column({ name: 'request_hash', type: 'varchar', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar', length: 20 })
  status!: PaymentState;

  @Column({ type: 'integer' })
  amount!: number;

  @Column({ type: 'varchar', length: 3 })
  currency!: string;

  @Column({ name: 'card_brand', type: 'varchar', length: 30, nullable: true })
  cardBrand!: string | null;

  @Column({ name: 'card_last4', type: 'varchar', length: 4, nullable: true })
  cardLast4!: string | null;

  @Column({ name: 'failure_reason', type: 'varchar', length: 60, nullable: true })
  failureReason!: string | null;

  /** The provider's reference for the authorization (never card data). */
  @Column({ name: 'provider_ref', type: 'varchar', length: 100, nullable: true })
  providerRef!: string | null;

  /** The W3C traceparent of the authorization request (null when not tracing): the sweeper's void links to it. */
  @Column({ name: 'trace_parent', type: 'varchar', length: TRACEPARENT_LENGTH, nullable: true })
  traceParent!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** The payments columns in the order `paymentFromRow` reads them (raw SQL on the checkout's path). */
export const PAYMENT_COLUMNS =
  'id, order_id, user_id, idempotency_key, request_hash, status, amount, currency, card_brand, card_last4, failure_reason, provider_ref, trace_parent, created_at, updated_at';

export interface PaymentRow {
  id: string;
  order_id: string;
  user_id: string;
  idempotency_key: string;
  request_hash: string;
  status: PaymentState;
  amount: number;
  currency: string;
  card_brand: string | null;
  card_last4: string | null;
  failure_reason: string | null;
  provider_ref: string | null;
  trace_parent: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A Payment from a row of PAYMENT_COLUMNS, as the repository would have hydrated it. */
export function paymentFromRow(row: PaymentRow): Payment {
  return Object.assign(new Payment(), {
    id: row.id,
    orderId: row.order_id,
    userId: row.user_id,
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    status: row.status,
    amount: row.amount,
    currency: row.currency,
    cardBrand: row.card_brand,
    cardLast4: row.card_last4,
    failureReason: row.failure_reason,
    providerRef: row.provider_ref,
    traceParent: row.trace_parent,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  });
}
