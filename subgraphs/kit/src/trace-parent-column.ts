import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A W3C traceparent: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
export const TRACEPARENT_LENGTH = 55;

/**
 * A migration adding a nullable column for the traceparent of the request that queued a piece
 * of work (null when tracing is off), so that whoever does the work later (recovery, a
 * sweeper, an outbox publisher) starts its span with a link to that request (telemetry.ts).
 * `name` is the migration's class name as TypeORM records it (`<Name><timestamp>`).
 */
export function traceParentColumnMigration(name: string, table: string, column = 'trace_parent'): new () => MigrationInterface {
  return class implements MigrationInterface {
    name = name;

    async up(q: QueryRunner): Promise<void> {
      await q.query(`ALTER TABLE ${table} ADD COLUMN ${column} varchar(${TRACEPARENT_LENGTH})`);
    }

    async down(q: QueryRunner): Promise<void> {
      await q.query(`ALTER TABLE ${table} DROP COLUMN ${column}`);
    }
  };
}
