import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { KeyValueStore, ServiceMetrics } from '@shop/kit';

/**
 * Apollo's cache interface over our store, for automatic persisted queries shared by every
 * gateway replica. A store failure is a cache miss (the client re-sends the full query).
 */
export class StoreKeyValueCache implements KeyValueCache<string> {
  constructor(
    private readonly store: KeyValueStore,
    private readonly prefix: string,
    private readonly metrics: ServiceMetrics,
  ) {}

  async get(key: string) {
    try {
      return (await this.store.get(this.prefix + key)) ?? undefined;
    } catch {
      this.metrics.storeErrors.inc({ operation: 'apq_get' });
      return undefined;
    }
  }
  async set(key: string, value: string, options?: KeyValueCacheSetOptions) {
    try {
      await this.store.set(this.prefix + key, value, options?.ttl ? options.ttl * 1000 : undefined);
    } catch {
      this.metrics.storeErrors.inc({ operation: 'apq_set' });
    }
  }
  async delete(key: string) {
    try {
      await this.store.del(this.prefix + key);
      return true;
    } catch {
      return false;
    }
  }
}
