import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stock, reservations and the movement log. The CHECK constraints are the last line against
 * overselling: whatever the code does, on_hand, reserved and available never go below zero.
 */
export class CreateStock1764190100000 implements MigrationInterface {
  name = 'CreateStock1764190100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stock_levels (
        product_id uuid PRIMARY KEY,
        on_hand integer NOT NULL DEFAULT 0,
        reserved integer NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT stock_levels_on_hand_check CHECK (on_hand >= 0),
        CONSTRAINT stock_levels_reserved_check CHECK (reserved >= 0),
        CONSTRAINT stock_levels_available_check CHECK (on_hand - reserved >= 0)
      )`);
    await q.query(`
      CREATE TABLE reservations (
        order_id varchar(128) PRIMARY KEY,
        status varchar(16) NOT NULL CHECK (status IN ('RESERVED', 'COMMITTED', 'RELEASED', 'EXPIRED')),
        expires_at timestamptz NOT NULL,
        restocked_at timestamptz,
        restock_reason varchar(200),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX reservations_expiry_idx ON reservations (expires_at) WHERE status = 'RESERVED'`);
    await q.query(`
      CREATE TABLE reservation_lines (
        order_id varchar(128) NOT NULL REFERENCES reservations (order_id) ON DELETE CASCADE,
        product_id uuid NOT NULL,
        quantity integer NOT NULL CHECK (quantity > 0),
        PRIMARY KEY (order_id, product_id)
      )`);
    await q.query(`
      CREATE TABLE stock_movements (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        product_id uuid NOT NULL,
        kind varchar(16) NOT NULL CHECK (kind IN ('reservation', 'release', 'sale', 'restock', 'adjustment', 'expiry')),
        quantity integer NOT NULL,
        order_id varchar(128),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX stock_movements_product_idx ON stock_movements (product_id, created_at)`);
    await q.query(`CREATE INDEX stock_movements_order_idx ON stock_movements (order_id) WHERE order_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE stock_movements`);
    await q.query(`DROP TABLE reservation_lines`);
    await q.query(`DROP TABLE reservations`);
    await q.query(`DROP TABLE stock_levels`);
  }
}
