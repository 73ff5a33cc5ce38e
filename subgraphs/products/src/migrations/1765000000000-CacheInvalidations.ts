import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox of catalog-cache invalidations: every catalog write adds a row in its own
 * transaction, and a row leaves only once the cache version was bumped after it (see
 * services/cache-invalidations.ts), so a write during a Redis outage is never forgotten.
 */
export class CacheInvalidations1765000000000 implements MigrationInterface {
  name = 'CacheInvalidations1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE cache_invalidations (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE cache_invalidations`);
  }
}
