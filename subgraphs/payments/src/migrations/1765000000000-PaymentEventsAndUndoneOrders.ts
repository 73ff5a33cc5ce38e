import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payment events name the transition of the payments table they record; orders undone
 * before their payment arrived are remembered, so a late authorization is never made.
 */
export class PaymentEventsAndUndoneOrders1765000000000 implements MigrationInterface {
  name = 'PaymentEventsAndUndoneOrders1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payment_events ADD COLUMN event varchar(30)`);
    await q.query(`
      UPDATE payment_events SET event = CASE to_status
        WHEN 'PROCESSING' THEN 'authorize_requested' WHEN 'AUTHORIZED' THEN 'approved' WHEN 'DECLINED' THEN 'declined'
        WHEN 'FAILED' THEN 'provider_failed' WHEN 'VOIDED' THEN 'voided' WHEN 'CAPTURED' THEN 'captured'
        WHEN 'REFUNDED' THEN 'refunded' END`);
    await q.query(`ALTER TABLE payment_events ALTER COLUMN event SET NOT NULL`);
    await q.query(`CREATE TABLE undone_orders (order_id uuid PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())`);
    // The sweeper looks at authorizations left uncaptured.
    await q.query(`CREATE INDEX payments_authorized_idx ON payments (updated_at) WHERE status = 'AUTHORIZED'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX payments_authorized_idx`);
    await q.query(`DROP TABLE undone_orders`);
    await q.query(`ALTER TABLE payment_events DROP COLUMN event`);
  }
}
