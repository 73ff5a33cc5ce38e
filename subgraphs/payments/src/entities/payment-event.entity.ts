import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One row per transition of a payment (payment-machine.ts), written in the transaction that
 * makes it: the payment's history, and an outbox a later consumer can follow.
 */
@Entity({ name: 'payment_events' })
export class PaymentEvent {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('payment_events_payment_id_idx')
  @Column({ name: 'payment_id', type: 'uuid' })
  paymentId!: string;

  /** The table's event (authorize_requested, approved, voided, ...). */
  @Column({ type: 'varchar', length: 30 })
  event!: string;

  @Column({ name: 'from_status', type: 'varchar', length: 20, nullable: true })
  fromStatus!: string | null;

  @Column({ name: 'to_status', type: 'varchar', length: 20 })
  toStatus!: string;

  @Column({ type: 'varchar', length: 60, nullable: true })
  reason!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
