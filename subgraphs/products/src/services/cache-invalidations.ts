import { currentTraceparent, linkActiveSpanTo, rows, type HasEntityManager } from '@shop/kit';
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
    await rows(tx.em, `INSERT INTO cache_invalidations (trace_parent) VALUES ($1)`, [currentTraceparent() ?? null]);
  }

  /**
   * One version bump covers every invalidation recorded before it; those rows go. Rows
   * recorded while the bump was on its way stay for the next pass. Returns how many went.
   * The active span (the publisher's pass, or the write itself) is linked to the writes whose
   * invalidations it published, other than its own.
   */
  async publishPending(ctx: HasEntityManager): Promise<number> {
    const [{ last }] = await rows<{ last: string | null }>(ctx.em, `SELECT max(id)::text AS last FROM cache_invalidations`);
    if (last === null) return 0;
    if (!(await this.cache.bumpVersion())) return 0;
    const published = await rows<{ trace_parent: string | null }>(
      ctx.em,
      `DELETE FROM cache_invalidations WHERE id <= $1 RETURNING trace_parent`,
      [last],
    );
    linkActiveSpanTo(published.map((row) => row.trace_parent));
    return published.length;
  }
}
