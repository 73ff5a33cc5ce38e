import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * A catalog product. The table also has a generated `search_vector` tsvector column (name and
 * description, 'english' configuration) maintained by Postgres; it is only used in SQL, so it
 * is not mapped here (see the migration).
 */
@Entity({ name: 'products' })
export class Product {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Index('products_sku_key', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Index('products_slug_key', { unique: true })
  @Column({ type: 'varchar', length: 160 })
  slug!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'text' })
  description!: string;

  /** Minor units (cents). */
  @Column({ name: 'price_amount', type: 'integer' })
  priceAmount!: number;

  @Column({ name: 'price_currency', type: 'char', length: 3 })
  priceCurrency!: string;

  @Column({ name: 'image_url', type: 'varchar', length: 2048, nullable: true })
  imageUrl!: string | null;

  @Column({ name: 'category_id', type: 'uuid' })
  categoryId!: string;

  /** Millisecond precision so cursors (JSON, JS Dates) round-trip exactly. */
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt!: Date;

  @Column({ name: 'archived_at', type: 'timestamptz', precision: 3, nullable: true })
  archivedAt!: Date | null;
}
