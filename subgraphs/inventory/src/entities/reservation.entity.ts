import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { TRACEPARENT_LENGTH } from '@shop/kit';

export type ReservationStatus = 'RESERVED' | 'COMMITTED' | 'RELEASED' | 'EXPIRED';

/** Stock held for one order. Status moves only RESERVED -> COMMITTED | RELEASED | EXPIRED. */
@Entity({ name: 'reservations' })
export class Reservation {
  @PrimaryColumn({ name: 'order_id', type: 'varchar', length: 128 })
  orderId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: ReservationStatus;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  /** Set once when a committed reservation's units went back to stock (cancel/refund). */
  @Column({ name: 'restocked_at', type: 'timestamptz', nullable: true })
  restockedAt!: Date | null;

  @Column({ name: 'restock_reason', type: 'varchar', length: 200, nullable: true })
  restockReason!: string | null;

  /** The W3C traceparent of the request that reserved or renewed it (null when not tracing): the sweeper's expiry links to it. */
  @Column({ name: 'trace_parent', type: 'varchar', length: TRACEPARENT_LENGTH, nullable: true })
  traceParent!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
