import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePayments1764100000000 implements MigrationInterface {
  name = 'CreatePayments1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        order_id uuid NOT NULL,
        user_id uuid NOT NULL,
        idempotency_key varchar(200) NOT NULL,
        request_hash varchar(64) NOT NULL,
        status varchar(20) NOT NULL CHECK (status IN ('PROCESSING','AUTHORIZED','CAPTURED','DECLINED','FAILED','VOIDED','REFUNDED')),
        amount integer NOT NULL CHECK (amount >= 0),
        currency varchar(3) NOT NULL,
        card_brand varchar(30),
        card_last4 varchar(4),
        failure_reason varchar(60),
        provider_ref varchar(100),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX payments_order_id_key ON payments (order_id)`);
    await q.query(`CREATE UNIQUE INDEX payments_idempotency_key_key ON payments (idempotency_key)`);
    await q.query(`
      CREATE TABLE payment_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        payment_id uuid NOT NULL REFERENCES payments(id),
        from_status varchar(20),
        to_status varchar(20) NOT NULL,
        reason varchar(60),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX payment_events_payment_id_idx ON payment_events (payment_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE payment_events`);
    await q.query(`DROP TABLE payments`);
  }
}
