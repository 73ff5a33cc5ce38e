import { rows, type HasEntityManager } from '@shop/kit';
import type { ProductCache } from './product-cache';

/**
 * Catalog writes reach the cache through an outbox, as users' revocations do: a write records
 * an invalidation in its own transaction, then (after commit) bumps the cache version. While
 * the store is down the bump fails and the row stays; the publisher loop bumps once the store
 * answers again, so a price changed during a Redis blip is not served stale for the cache TTL
 * once Redis is back, only until the next pass (PRODUCTS_CACHE_PUBLISH_INTERVAL_MS).
 */
export class CacheInvalidations {
  constructor(private readonly cache: ProductCache) {}

  /** Inside the write's transaction: the catalog changed. */
  async record(tx: HasEntityManager): Promise<void> {
    await rows(tx.em, `INSERT INTO cache_invalidations DEFAULT VALUES`);
  }

  /**
   * One version bump covers every invalidation recorded before it; those rows go. Rows
   * recorded while the bump was on its way stay for the next pass. Returns how many went.
   */
  async publishPending(ctx: HasEntityManager): Promise<number> {
    const [{ last }] = await rows<{ last: string | null }>(ctx.em, `SELECT max(id)::text AS last FROM cache_invalidations`);
    if (last === null) return 0;
    if (!(await this.cache.bumpVersion())) return 0;
    return (await rows(ctx.em, `DELETE FROM cache_invalidations WHERE id <= $1 RETURNING id`, [last])).length;
  }
}
