import Redis from 'ioredis';
import type { Logger } from './logger';

/**
 * The small key-value surface the platform needs from Redis: caches, counters and marks.
 * Redis is never the only copy of anything, so every caller treats a failure as "no cache"
 * (see `tolerant` below) rather than as a failed request.
 */
export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets only when the key does not exist; true when it was set. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  del(...keys: string[]): Promise<void>;
  /** Increments a counter and returns its value and time to live; the first increment starts the window. */
  incrWindow(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export class RedisStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  readonly client: Redis;
  /** Settles on the first connection (or after connectTimeout): commands wait for it once. */
  private readonly firstConnect: Promise<void>;

  constructor(url: string, options: { commandTimeoutMs?: number; logger?: Logger; keyPrefix?: string } = {}) {
    this.client = new Redis(url, {
      // Fail fast while Redis is away instead of queueing requests behind it.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      lazyConnect: false,
      keyPrefix: options.keyPrefix ?? '',
    });
    this.firstConnect = new Promise<void>((resolve) => {
      this.client.once('ready', () => resolve());
      setTimeout(resolve, 2_000).unref();
    });
    let down = false;
    this.client.on('error', (error) => {
      if (!down) options.logger?.warn({ err: error.message }, 'redis unavailable; running without it');
      down = true;
    });
    this.client.on('ready', () => {
      if (down) options.logger?.info('redis reachable again');
      down = false;
    });
  }

  async get(key: string) {
    await this.firstConnect;
    return this.client.get(key);
  }
  async mget(keys: string[]) {
    await this.firstConnect;
    return keys.length === 0 ? [] : this.client.mget(keys);
  }
  async set(key: string, value: string, ttlMs?: number) {
    await this.firstConnect;
    if (ttlMs) await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)));
    else await this.client.set(key, value);
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    await this.firstConnect;
    return (await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
  }
  async del(...keys: string[]) {
    await this.firstConnect;
    if (keys.length > 0) await this.client.del(...keys);
  }
  async incrWindow(key: string, windowMs: number) {
    await this.firstConnect;
    const result = await this.client
      .multi()
      .incr(key)
      .pexpire(key, windowMs, 'NX')
      .pttl(key)
      .exec();
    if (!result) throw new Error('redis transaction aborted');
    const count = Number(result[0][1]);
    const ttl = Number(result[2][1]);
    return { count, resetMs: ttl > 0 ? ttl : windowMs };
  }
  async ping() {
    try {
      await this.firstConnect;
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }
  async close() {
    this.client.disconnect();
  }
}

/** In-process stand-in for Redis when REDIS_URL is unset (embedded mode, one process). */
export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();

  private live(key: string) {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
  async get(key: string) {
    return this.live(key)?.value ?? null;
  }
  async mget(keys: string[]) {
    return keys.map((key) => this.live(key)?.value ?? null);
  }
  async set(key: string, value: string, ttlMs?: number) {
    this.entries.set(key, { value, expiresAt: ttlMs ? Date.now() + ttlMs : Number.POSITIVE_INFINITY });
    if (this.entries.size > 100_000) this.sweep();
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.live(key)) return false;
    await this.set(key, value, ttlMs);
    return true;
  }
  async del(...keys: string[]) {
    for (const key of keys) this.entries.delete(key);
  }
  async incrWindow(key: string, windowMs: number) {
    const entry = this.live(key);
    if (!entry) {
      this.entries.set(key, { value: '1', expiresAt: Date.now() + windowMs });
      return { count: 1, resetMs: windowMs };
    }
    entry.value = String(Number(entry.value) + 1);
    return { count: Number(entry.value), resetMs: entry.expiresAt - Date.now() };
  }
  async ping() {
    return true;
  }
  async close() {
    this.entries.clear();
  }
  private sweep() {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

export function createStore(redisUrl: string | undefined, logger?: Logger, keyPrefix = ''): KeyValueStore {
  return redisUrl ? new RedisStore(redisUrl, { logger, keyPrefix }) : new MemoryStore();
}

/**
 * Runs a store operation where the store is only an accelerator: on failure, logs once per
 * burst, counts, and returns the fallback so the caller goes on without the cache.
 */
export async function tolerant<T>(
  operation: () => Promise<T>,
  fallback: T,
  onError?: (error: unknown) => void,
): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    onError?.(error);
    return fallback;
  }
}
