import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One row per transition of an order's saga, written in the transaction that makes it: the
 * order's history (read it back in `id` order), and an outbox a later consumer
 * (notifications, analytics) can follow by `id`.
 */
@Entity({ name: 'order_events' })
@Index('order_events_order_id_idx', ['orderId', 'id'])
export class OrderEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'order_id', type: 'uuid' })
  orderId!: string;

  @Column({ type: 'varchar', length: 30 })
  event!: string;

  @Column({ name: 'from_state', type: 'varchar', length: 30, nullable: true })
  fromState!: string | null;

  @Column({ name: 'to_state', type: 'varchar', length: 30 })
  toState!: string;

  /** The order's status after the transition. */
  @Column({ type: 'varchar', length: 20 })
  status!: string;

  /** Why: a failure reason, a rejection code, or who drove it (recovery, a retry). */
  @Column({ type: 'varchar', length: 60, nullable: true })
  reason!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
