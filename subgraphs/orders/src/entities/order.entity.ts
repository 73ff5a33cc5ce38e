import { Column, CreateDateColumn, Entity, Index, OneToMany, PrimaryColumn, UpdateDateColumn } from 'typeorm';
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

  /** A running checkout (or recovery pass) owns the order until then; recovery waits for it. */
  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil!: Date | null;

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

  @OneToMany(() => OrderLine, (line) => line.order)
  lines?: OrderLine[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
