import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The saga's proof of life moves from a lease to an advisory lock plus a claim column that
 * fences off a worker that lost the order; the payment token of an unfinished checkout is
 * kept so it can be finished by someone else; every transition gets an event row.
 */
export class SagaOwnershipAndHistory1765000000000 implements MigrationInterface {
  name = 'SagaOwnershipAndHistory1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE orders DROP COLUMN lease_until`);
    await q.query(`ALTER TABLE orders ADD COLUMN owner_claim uuid`);
    await q.query(`ALTER TABLE orders ADD COLUMN payment_token varchar(200)`);
    await q.query(`
      CREATE TABLE order_events (
        id bigserial PRIMARY KEY,
        order_id uuid NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
        event varchar(30) NOT NULL,
        from_state varchar(30),
        to_state varchar(30) NOT NULL,
        status varchar(20) NOT NULL,
        reason varchar(60),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX order_events_order_id_idx ON order_events (order_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE order_events`);
    await q.query(`ALTER TABLE orders DROP COLUMN payment_token`);
    await q.query(`ALTER TABLE orders DROP COLUMN owner_claim`);
    await q.query(`ALTER TABLE orders ADD COLUMN lease_until timestamptz`);
  }
}
