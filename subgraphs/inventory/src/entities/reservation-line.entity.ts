import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'reservation_lines' })
export class ReservationLine {
  @PrimaryColumn({ name: 'order_id', type: 'varchar', length: 128 })
  orderId!: string;

  @PrimaryColumn({ name: 'product_id', type: 'uuid' })
  productId!: string;

  @Column({ type: 'integer' })
  quantity!: number;
}
