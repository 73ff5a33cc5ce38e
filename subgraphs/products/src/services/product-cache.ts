import { randomUUID } from 'node:crypto';
import { tolerant, type KeyValueStore, type ServiceMetrics } from '@shop/kit';
import { Counter } from 'prom-client';

/** A product as cached and as resolvers see it (JSON-safe: dates as ISO strings). */
export interface ProductRecord {
  id: string;
  sku: string;
  slug: string;
  name: string;
  description: string;
  priceAmount: number;
  priceCurrency: string;
  imageUrl: string | null;
  categoryId: string;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

/**
 * The store-side catalog cache: product rows by id, slug -> id, and listing counts.
 *
 * Every key carries the current *catalog version*, a random token that every admin write
 * replaces after its transaction commits. A reader that fetched the old version before the
 * write can only ever fill keys of the old version, which nobody reads again, so a write is
 * visible to the next read without a delete race. The store is an accelerator: any failure
 * (Redis down) means "miss" and the database answers.
 */
export class ProductCache {
  readonly requests: Counter<'kind' | 'result'>;
  private readonly onError: (error: unknown) => void;

  constructor(
    private readonly store: KeyValueStore,
    private readonly options: { prefix: string; ttlMs: number; metrics: ServiceMetrics },
  ) {
    const registry = options.metrics.registry;
    this.requests =
      (registry.getSingleMetric('products_cache_requests_total') as Counter<'kind' | 'result'> | undefined) ??
      new Counter({
        name: 'products_cache_requests_total',
        help: 'Product cache lookups by kind (product, slug, count) and result (hit, miss)',
        labelNames: ['kind', 'result'],
        registers: [registry],
      });
    this.onError = () => options.metrics.storeErrors.inc({ operation: 'products_cache' });
  }

  private key(...parts: string[]) {
    return this.options.prefix + parts.join(':');
  }

  /** The current catalog version, or null when the store is unreachable (then: no cache). */
  async version(): Promise<string | null> {
    return tolerant(
      async () => {
        const key = this.key('version');
        const current = await this.store.get(key);
        if (current) return current;
        await this.store.setIfAbsent(key, randomUUID(), 7 * 24 * 3600_000);
        return this.store.get(key);
      },
      null,
      this.onError,
    );
  }

  /** Starts a new catalog version (after a committed write); false when the store did not take it. */
  async bumpVersion(): Promise<boolean> {
    return tolerant(
      async () => {
        await this.store.set(this.key('version'), randomUUID(), 7 * 24 * 3600_000);
        return true;
      },
      false,
      this.onError,
    );
  }

  async getProducts(version: string | null, ids: readonly string[]): Promise<(ProductRecord | null)[]> {
    if (!version || ids.length === 0) return ids.map(() => null);
    const values = await tolerant(
      () => this.store.mget(ids.map((id) => this.key('p', version, id))),
      ids.map(() => null),
      this.onError,
    );
    const found = values.map((value) => (value ? (JSON.parse(value) as ProductRecord) : null));
    for (const record of found) this.requests.inc({ kind: 'product', result: record ? 'hit' : 'miss' });
    return found;
  }

  async putProducts(version: string | null, records: ProductRecord[]): Promise<void> {
    if (!version || records.length === 0) return;
    await tolerant(
      () =>
        Promise.all(
          records.map((record) => this.store.set(this.key('p', version, record.id), JSON.stringify(record), this.options.ttlMs)),
        ).then(() => undefined),
      undefined,
      this.onError,
    );
  }

  async getSlug(version: string | null, slug: string): Promise<string | null> {
    if (!version) return null;
    const id = await tolerant(() => this.store.get(this.key('s', version, slug)), null, this.onError);
    this.requests.inc({ kind: 'slug', result: id ? 'hit' : 'miss' });
    return id;
  }

  async putSlug(version: string | null, slug: string, id: string): Promise<void> {
    if (!version) return;
    await tolerant(() => this.store.set(this.key('s', version, slug), id, this.options.ttlMs), undefined, this.onError);
  }

  async getCount(version: string | null, filterKey: string): Promise<number | null> {
    if (!version) return null;
    const value = await tolerant(() => this.store.get(this.key('c', version, filterKey)), null, this.onError);
    this.requests.inc({ kind: 'count', result: value !== null ? 'hit' : 'miss' });
    return value === null ? null : Number(value);
  }

  async putCount(version: string | null, filterKey: string, count: number): Promise<void> {
    if (!version) return;
    await tolerant(() => this.store.set(this.key('c', version, filterKey), String(count), this.options.ttlMs), undefined, this.onError);
  }
}
