import { Check, Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** Units of one product: on hand (physically there) and reserved (held for orders being checked out). */
@Entity({ name: 'stock_levels' })
@Check('stock_levels_on_hand_check', '"on_hand" >= 0')
@Check('stock_levels_reserved_check', '"reserved" >= 0')
@Check('stock_levels_available_check', '"on_hand" - "reserved" >= 0')
export class StockLevel {
  @PrimaryColumn({ name: 'product_id', type: 'uuid' })
  productId!: string;

  @Column({ name: 'on_hand', type: 'integer', default: 0 })
  onHand!: number;

  @Column({ type: 'integer', default: 0 })
  reserved!: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
