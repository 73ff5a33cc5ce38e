import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type MovementKind = 'reservation' | 'release' | 'sale' | 'restock' | 'adjustment' | 'expiry';

/**
 * The audit trail: one row per stock change. `quantity` is the number of units the change moved
 * (positive), except for 'adjustment', where it is the signed change of on_hand.
 */
@Entity({ name: 'stock_movements' })
export class StockMovement {
  @PrimaryColumn({ type: 'uuid', default: () => 'gen_random_uuid()' })
  id!: string;

  @Column({ name: 'product_id', type: 'uuid' })
  productId!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: MovementKind;

  @Column({ type: 'integer' })
  quantity!: number;

  @Column({ name: 'order_id', type: 'varchar', length: 128, nullable: true })
  orderId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
