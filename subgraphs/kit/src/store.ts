import Redis, { ReplyError } from 'ioredis';
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

/** What a store call throws while its circuit is open: Redis was not answering, so it was not asked. */
export class StoreUnavailableError extends Error {
  constructor() {
    super('store unavailable (circuit open): not asked');
    this.name = 'StoreUnavailableError';
  }
}

export interface RedisStoreOptions {
  commandTimeoutMs?: number;
  logger?: Logger;
  keyPrefix?: string;
  /** While the circuit is open, how often a PING checks whether Redis answers again. */
  probeIntervalMs?: number;
}

/**
 * Redis behind a circuit breaker. A paused or unreachable Redis costs every command its full
 * timeout, and a request makes several (session, rate limit, cache): one timeout (or a
 * connection failure) opens the circuit, and from then on calls throw StoreUnavailableError
 * at once, so each caller takes its fallback without waiting: caches and counters fail open,
 * a session lookup goes to the users service (the source of truth), which keeps revocation
 * failing closed. A PING every probeIntervalMs closes the circuit as soon as Redis answers.
 * Errors Redis itself replies with (a wrong type, a script error) mean Redis is up: they
 * reach the caller and leave the circuit alone.
 */
/** How long the first command waits for a Redis that neither answers nor refuses (a hung handshake). */
const FIRST_CONNECT_LIMIT_MS = 10_000;

/**
 * One socket to Redis and what the circuit needs to know about it: when it first connected
 * (commands wait for that once) and when it last received bytes.
 */
class WatchedConnection {
  /** Settles on the first connection (or after connectTimeout): commands wait for it once. */
  readonly firstConnect: Promise<void>;
  /** When this socket last received bytes from Redis (performance.now()). */
  lastHeardAt = -Infinity;

  constructor(readonly client: Redis) {
    // Settled by what the connection does (ready, or an error such as a refused connect), not by a
    // wall clock alone: a start-up stall of the event loop lets a short timer fire before 'ready' is
    // processed, and the first command then found no stream, opened the circuit and let rate limits
    // fail open on a healthy Redis. The timer only bounds a handshake that never ends.
    this.firstConnect = new Promise<void>((resolve) => {
      client.once('ready', () => resolve());
      client.once('error', () => resolve());
      setTimeout(resolve, FIRST_CONNECT_LIMIT_MS).unref();
    });
    // Every (re)connection has a new socket; whatever arrives on it shows Redis is answering.
    client.on('connect', () => {
      client.stream.on('data', () => (this.lastHeardAt = performance.now()));
    });
  }
}

/**
 * A further socket to the same Redis (auto-pipelined, say) whose commands go through its
 * store's circuit: they wait for this socket's own first connection, and this socket's own
 * answers are what tell a slow Redis from a stalled event loop.
 */
export interface GuardedConnection {
  readonly client: Redis;
  run<T>(command: (client: Redis) => Promise<T>): Promise<T>;
  /** Closes this socket alone (the store's close closes every one it opened). */
  close(): void;
}

export class RedisStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  readonly client: Redis;
  private readonly primary: WatchedConnection;
  private readonly others: WatchedConnection[] = [];
  private circuitOpen = false;
  private probe?: NodeJS.Timeout;
  private closed = false;
  private readonly logger?: Logger;
  private readonly probeIntervalMs: number;

  constructor(url: string, options: RedisStoreOptions = {}) {
    this.logger = options.logger;
    this.probeIntervalMs = options.probeIntervalMs ?? 1_000;
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
    this.primary = new WatchedConnection(this.client);
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

  /**
   * Opens another socket with this store's settings (plus `options`) behind this store's circuit.
   * A duplicate of `client` used directly would not be: its first command, sent before its own
   * socket is up, fails at once (no offline queue) and opened the circuit for every caller.
   */
  connection(options: { enableAutoPipelining?: boolean } = {}): GuardedConnection {
    const client = this.client.duplicate(options);
    client.on('error', () => undefined); // the primary connection logs Redis going away
    const watched = new WatchedConnection(client);
    this.others.push(watched);
    return {
      client,
      run: (command) => this.guarded(() => command(client), watched),
      close: () => {
        const index = this.others.indexOf(watched);
        if (index >= 0) this.others.splice(index, 1);
        client.disconnect();
      },
    };
  }

  /** False while the circuit is open (Redis stopped answering and no probe has succeeded since). */
  get available(): boolean {
    return !this.circuitOpen;
  }

  /**
   * Runs a command unless the circuit is open. Also for callers that use `client` directly
   * (scripts, pipelines), so they share the one circuit.
   */
  async guarded<T>(command: () => Promise<T>, connection: WatchedConnection = this.primary): Promise<T> {
    if (this.circuitOpen) throw new StoreUnavailableError();
    await connection.firstConnect;
    // A further socket that is reconnecting is no news about Redis (the store's own socket and
    // its probe are): its caller takes its fallback, and the circuit is left to the primary.
    if (connection !== this.primary && !(connection.client.status === 'ready' && connection.client.stream?.writable))
      throw new StoreUnavailableError();
    const sentAt = performance.now();
    try {
      return await command();
    } catch (error) {
      if (!(error instanceof ReplyError) && !(await this.heardSince(connection, sentAt))) this.openCircuit(error);
      throw error;
    }
  }

  /**
   * Asked before opening the circuit: a command timeout also fires when this process's own event
   * loop stalled past it (a cold start, a long synchronous task) while Redis had answered in time.
   * Its answer then waits in the socket, read in the loop's next I/O phase: after that phase (one
   * setImmediate) bytes have arrived since the command was sent, and the circuit stays closed. A
   * Redis that really stopped answering sent nothing, and costs no further wait to detect.
   */
  private async heardSince(connection: WatchedConnection, sentAt: number): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    return connection.lastHeardAt >= sentAt;
  }

  get(key: string) {
    return this.guarded(() => this.client.get(key));
  }
  mget(keys: string[]) {
    return this.guarded(async () => (keys.length === 0 ? [] : this.client.mget(keys)));
  }
  set(key: string, value: string, ttlMs?: number) {
    return this.guarded(async () => {
      if (ttlMs) await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)));
      else await this.client.set(key, value);
    });
  }
  setIfAbsent(key: string, value: string, ttlMs: number) {
    return this.guarded(async () => (await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK');
  }
  del(...keys: string[]) {
    return this.guarded(async () => {
      if (keys.length > 0) await this.client.del(...keys);
    });
  }
  incrWindow(key: string, windowMs: number) {
    return this.guarded(() => this.incrWindowNow(key, windowMs));
  }
  private async incrWindowNow(key: string, windowMs: number) {
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
  /** Asks Redis even while the circuit is open (this is the probe): an answer closes it. */
  async ping() {
    try {
      await this.primary.firstConnect;
      const up = (await this.client.ping()) === 'PONG';
      if (up && this.circuitOpen) {
        this.circuitOpen = false;
        this.logger?.info('redis answers again; store circuit closed');
      }
      return up;
    } catch {
      return false;
    }
  }
  async close() {
    this.closed = true;
    clearTimeout(this.probe);
    this.client.disconnect();
    for (const other of this.others) other.client.disconnect();
  }

  private openCircuit(error: unknown) {
    if (this.circuitOpen || this.closed) return;
    this.circuitOpen = true;
    this.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'redis not answering; store circuit open');
    const probe = () => {
      this.probe = setTimeout(async () => {
        if (this.closed || (await this.ping()) || this.closed) return;
        probe();
      }, this.probeIntervalMs);
      this.probe.unref();
    };
    probe();
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

/**
 * What /ready reports about Redis: "up", "down" (not answering within a second, or its
 * circuit open), or "memory" (no REDIS_URL: the in-process store). Reported, never required:
 * every service runs on without its caches while Redis is down.
 */
export async function redisState(store: KeyValueStore): Promise<'up' | 'down' | 'memory'> {
  if (!(store instanceof RedisStore)) return 'memory';
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 1_000);
  });
  const up = await Promise.race([store.ping(), late]);
  clearTimeout(timer);
  return up ? 'up' : 'down';
}

export function createStore(redisUrl: string | undefined, logger?: Logger, keyPrefix = '', commandTimeoutMs?: number): KeyValueStore {
  return redisUrl ? new RedisStore(redisUrl, { logger, keyPrefix, commandTimeoutMs }) : new MemoryStore();
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
