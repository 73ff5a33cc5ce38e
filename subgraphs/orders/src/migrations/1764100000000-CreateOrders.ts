import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrders1764100000000 implements MigrationInterface {
  name = 'CreateOrders1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cart_items (
        user_id uuid NOT NULL,
        product_id uuid NOT NULL,
        quantity integer NOT NULL CHECK (quantity > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, product_id)
      )`);
    await q.query(`CREATE SEQUENCE order_number_seq`);
    await q.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY,
        number varchar(20) NOT NULL UNIQUE,
        user_id uuid NOT NULL,
        idempotency_key varchar(100) NOT NULL,
        status varchar(20) NOT NULL CHECK (status IN ('PENDING','CONFIRMED','PAYMENT_FAILED','CANCELLED','REFUNDED')),
        saga_state varchar(30) NOT NULL,
        lease_until timestamptz,
        total_amount integer NOT NULL CHECK (total_amount >= 0),
        currency varchar(3) NOT NULL,
        shipping_address jsonb NOT NULL,
        rejection_code varchar(40),
        rejection_detail jsonb,
        failure_reason varchar(60),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX orders_user_idempotency_key ON orders (user_id, idempotency_key)`);
    await q.query(`CREATE INDEX orders_user_created ON orders (user_id, created_at, id)`);
    // Recovery scans only unfinished sagas.
    await q.query(
      `CREATE INDEX orders_saga_open ON orders (updated_at) WHERE saga_state NOT IN ('completed', 'failed')`,
    );
    await q.query(`
      CREATE TABLE order_lines (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id uuid NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
        position integer NOT NULL,
        product_id uuid NOT NULL,
        sku varchar(64) NOT NULL,
        name varchar(200) NOT NULL,
        quantity integer NOT NULL CHECK (quantity > 0),
        unit_price integer NOT NULL CHECK (unit_price >= 0),
        currency varchar(3) NOT NULL
      )`);
    await q.query(`CREATE INDEX order_lines_order_id_idx ON order_lines (order_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE order_lines`);
    await q.query(`DROP TABLE orders`);
    await q.query(`DROP SEQUENCE order_number_seq`);
    await q.query(`DROP TABLE cart_items`);
  }
}
