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
 *
 * In front of the store sits a per-replica memory layer holding entries of one catalog
 * version only (the version every request reads from the store first): a request under
 * another version never sees them, so a write through any replica is visible to the next read
 * on every replica, exactly as with the store alone. Each entry lives at most the store's TTL
 * and the layer is bounded (oldest entry out). Listing pages (ids of one page of one filter,
 * sort and cursor) and categories are kept only here: they are re-read from Postgres once per
 * version and replica instead of on every request.
 */
export class ProductCache {
  static readonly LOCAL_MAX_ENTRIES = 20_000;
  readonly requests: Counter<'kind' | 'result'>;
  private readonly onError: (error: unknown) => void;
  private local: { version: string; entries: Map<string, { value: unknown; expiresAt: number }> } | null = null;

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

  /** A value of the memory layer under `version` (undefined: not there, expired or another version). */
  remembered<T>(version: string | null, key: string): T | undefined {
    const layer = this.local;
    if (!version || !layer || layer.version !== version) return undefined;
    const entry = layer.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > Date.now()) return entry.value as T;
    layer.entries.delete(key);
    return undefined;
  }

  /** Keeps `value` in the memory layer under `version` (a newer version read replaces the whole layer). */
  remember(version: string | null, key: string, value: unknown): void {
    if (!version) return;
    if (!this.local || this.local.version !== version) this.local = { version, entries: new Map() };
    const { entries } = this.local;
    if (entries.size >= ProductCache.LOCAL_MAX_ENTRIES && !entries.has(key)) entries.delete(entries.keys().next().value as string);
    entries.set(key, { value, expiresAt: Date.now() + this.options.ttlMs });
  }

  /** Starts a new catalog version (after a committed write); false when the store did not take it. */
  async bumpVersion(): Promise<boolean> {
    this.local = null;
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
    const found = ids.map((id) => this.remembered<ProductRecord>(version, `p:${id}`) ?? null);
    const missing = ids.filter((_id, i) => !found[i]);
    if (missing.length > 0) {
      const values = await tolerant(
        () => this.store.mget(missing.map((id) => this.key('p', version, id))),
        missing.map(() => null),
        this.onError,
      );
      const fromStore = new Map(missing.map((id, i) => [id, values[i] ? (JSON.parse(values[i]!) as ProductRecord) : null]));
      ids.forEach((id, i) => {
        const record = fromStore.get(id);
        if (!found[i] && record) {
          found[i] = record;
          this.remember(version, `p:${id}`, record);
        }
      });
    }
    for (const record of found) this.requests.inc({ kind: 'product', result: record ? 'hit' : 'miss' });
    return found;
  }

  async putProducts(version: string | null, records: ProductRecord[]): Promise<void> {
    if (!version || records.length === 0) return;
    for (const record of records) this.remember(version, `p:${record.id}`, record);
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
    const id = this.remembered<string>(version, `s:${slug}`) ?? (await tolerant(() => this.store.get(this.key('s', version, slug)), null, this.onError));
    if (id) this.remember(version, `s:${slug}`, id);
    this.requests.inc({ kind: 'slug', result: id ? 'hit' : 'miss' });
    return id;
  }

  async putSlug(version: string | null, slug: string, id: string): Promise<void> {
    if (!version) return;
    this.remember(version, `s:${slug}`, id);
    await tolerant(() => this.store.set(this.key('s', version, slug), id, this.options.ttlMs), undefined, this.onError);
  }

  async getCount(version: string | null, filterKey: string): Promise<number | null> {
    if (!version) return null;
    const local = this.remembered<number>(version, `c:${filterKey}`);
    const value = local !== undefined ? String(local) : await tolerant(() => this.store.get(this.key('c', version, filterKey)), null, this.onError);
    if (value !== null && local === undefined) this.remember(version, `c:${filterKey}`, Number(value));
    this.requests.inc({ kind: 'count', result: value !== null ? 'hit' : 'miss' });
    return value === null ? null : Number(value);
  }

  async putCount(version: string | null, filterKey: string, count: number): Promise<void> {
    if (!version) return;
    this.remember(version, `c:${filterKey}`, count);
    await tolerant(() => this.store.set(this.key('c', version, filterKey), String(count), this.options.ttlMs), undefined, this.onError);
  }
}
