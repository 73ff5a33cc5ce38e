import { randomUUID } from 'node:crypto';
import type { Logger } from './logger';

/** Proof that this process owns a key; `valid` turns false the moment the lock may be gone. */
export interface SessionClaim {
  readonly key: string;
  /** A fresh id per claim: written next to the work it guards, so a later owner fences off an earlier one. */
  readonly token: string;
  readonly valid: boolean;
}

export interface SessionLocksOptions {
  /** Postgres URL for the one lock-holding connection; unset (embedded PGlite) keeps ownership in this process only. */
  url?: string;
  /** Lock namespace (the first key of the two-key advisory lock), e.g. the table the keys are rows of. */
  namespace: string;
  logger: Logger;
  /** Milliseconds between attempts to replace a lost lock connection. */
  reconnectDelayMs?: number;
  application?: string;
}

class Claim implements SessionClaim {
  readonly token = randomUUID();
  constructor(
    readonly key: string,
    private readonly generation: number,
    private readonly locks: SessionLocks,
  ) {}
  get valid() {
    return this.locks.isCurrent(this.key, this, this.generation);
  }
}

/**
 * Proof of life through session-level Postgres advisory locks: a process holds the lock of
 * every key it works on, on ONE dedicated connection, so the locks die with the process (or
 * its connection) and another process can take the work over at once instead of waiting
 * out a lease. Session locks are re-entrant within one session, so this class also keeps the
 * keys it holds in memory: two callers in one process never both get a key.
 *
 * The connection has an error handler: when it is terminated (failover, restart,
 * pg_terminate_backend) every claim it carried turns invalid (`claim.valid` is false, the
 * work must stop claiming ownership), and a new connection is opened; claims made after
 * that are locked again.
 */
export class SessionLocks {
  private client?: import('pg').Client;
  private connecting?: Promise<void>;
  private generation = 0;
  private readonly held = new Map<string, Claim>();
  private closed = false;
  private retryTimer?: NodeJS.Timeout;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SessionLocksOptions) {}

  /** Opens the lock connection (a no-op in embedded mode). */
  async start(): Promise<void> {
    if (this.options.url) await this.connect();
  }

  /** Claims `key` if nobody alive holds it; null when another process or another caller here does. */
  async tryClaim(key: string): Promise<SessionClaim | null> {
    if (this.closed) return null;
    if (this.held.has(key)) return null;
    const claim = new Claim(key, this.generation, this);
    this.held.set(key, claim); // reserved before the round trip: a concurrent caller here sees it
    try {
      if (this.options.url) {
        const locked = await this.serially(async () => {
          const client = await this.connection();
          const { rows } = await client.query<{ locked: boolean }>(
            'SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked',
            [this.options.namespace, key],
          );
          return rows[0].locked;
        });
        if (!locked) {
          this.held.delete(key);
          return null;
        }
        // The connection died during the round trip: the lock went with it.
        if (!claim.valid) return null;
      }
      return claim;
    } catch (error) {
      this.held.delete(key);
      throw error;
    }
  }

  /** Gives the key up (idempotent). A claim that is no longer valid has nothing left to unlock. */
  async release(claim: SessionClaim): Promise<void> {
    if (this.held.get(claim.key) !== claim) return;
    this.held.delete(claim.key);
    if (this.options.url && this.client)
      await this.unlock(claim.key).catch((error) => this.options.logger.warn({ err: error, key: claim.key }, 'advisory unlock failed'));
  }

  /** @internal */
  isCurrent(key: string, claim: Claim, generation: number): boolean {
    return !this.closed && generation === this.generation && this.held.get(key) === claim;
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.held.clear();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private unlock(key: string) {
    return this.serially(async () => {
      await this.client?.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', [this.options.namespace, key]);
    });
  }

  /** One query at a time on the lock connection (a pg client must not be given overlapping queries). */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async connection(): Promise<import('pg').Client> {
    if (this.client) return this.client;
    await this.connect();
    if (!this.client) throw new Error('advisory lock connection unavailable');
    return this.client;
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const { Client } = await import('pg');
      const client = new Client({
        connectionString: this.options.url,
        application_name: this.options.application ?? `${this.options.namespace}-locks`,
        // An idle lock connection must still notice a dead server, or locks it "holds" are an illusion.
        keepAlive: true,
      });
      client.on('error', (error) => this.lost(client, error));
      client.on('end', () => this.lost(client));
      try {
        await client.connect();
      } catch (error) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        throw error;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** The connection is gone and every lock on it with it: stop claiming, then reconnect. */
  private lost(client: import('pg').Client, error?: Error) {
    if (this.client !== client) return;
    this.client = undefined;
    this.generation += 1;
    this.held.clear();
    if (this.closed) return;
    this.options.logger.warn({ err: error }, 'advisory lock connection lost: claims dropped, reconnecting');
    const retry = () => {
      if (this.closed || this.client) return;
      this.connect().catch((e) => {
        this.options.logger.warn({ err: e }, 'advisory lock connection: reconnect failed, retrying');
        this.retryTimer = setTimeout(retry, this.options.reconnectDelayMs ?? 500);
        this.retryTimer.unref();
      });
    };
    retry();
  }
}
