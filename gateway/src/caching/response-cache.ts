import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import type Redis from 'ioredis';
import type { Logger } from '@shop/kit';
import { Counter, type Registry } from 'prom-client';
import { analysisOf } from '../analysis/analysis-plugin';
import type { CachePolicy } from '../analysis/cache-policy';
import { attemptTags, invalidationTags, responseTags } from '../analysis/cache-tags';
import type { GatewayContext } from '../context';
import { decodeEntry, encodeEntry, type CacheEntry, type Lookup, type RequestLookup } from './cache-entry';
import type { RequestState, RequestStateReader } from './request-state';

export type { CacheEntry, Lookup, RequestLookup } from './cache-entry';

/**
 * The gateway's response cache (docs/caching.md). Public query responses live in Redis under
 * a key made of the document's hash, the operation name and the variables (never the
 * caller). Each entry records its tags (the entities, lists and stock it was made of) and
 * the Redis clock `t0` read before its subgraph fetches started. A write sets an
 * invalidation mark `inv:<tag>` = Redis time for each tag it affects; an entry is served
 * only while every mark of its tags is older than its `t0`. So a write is visible to every
 * replica from the moment its mutation returns, and a response computed from data read
 * before a write can never be stored as fresh after it.
 */
interface LocalHit {
  entry: CacheEntry;
  /** The body as sent (with Apollo's trailing newline), encoded once. */
  bytes: Buffer;
  /** Redis time (µs) when the hit was confirmed, and the local time then (ms). */
  redisNow: number;
  localAt: number;
  expiresAt: number;
}

export interface CacheMetrics {
  requests: Counter<'result'>;
  invalidations: Counter<'kind'>;
}

export function createCacheMetrics(registry: Registry): CacheMetrics {
  return {
    requests: new Counter({
      name: 'gateway_cache_requests_total',
      help: 'Queries by response-cache outcome: hit, miss (computed by the subgraphs), bypass (cache unavailable), uncacheable (private or maxAge 0)',
      labelNames: ['result'],
      registers: [registry],
    }),
    invalidations: new Counter({
      name: 'gateway_cache_invalidations_total',
      help: 'Invalidation marks set by mutations, by tag kind (entity, type, list, stock)',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}

const TAG_KINDS: Record<string, string> = { E: 'entity', T: 'type', L: 'list' };

export class ResponseCache {
  private down = false;
  /** Invalidations that could not reach Redis: replayed before this replica uses the cache again. */
  private readonly pending = new Set<string>();
  /**
   * Hits confirmed against Redis (entry present, no newer invalidation mark) in the last
   * `localTtlMs`, used only by lookupForRequest, whose same round trip proves Redis is up.
   * Cleared by every local invalidation, so the replica that served a write never serves
   * the old value; other replicas may for at most localTtlMs (the contract allows 1 s).
   */
  private readonly local = new Map<string, LocalHit>();
  /** Bumped by every local invalidation: a lookup that started before one does not fill `local`. */
  private generation = 0;
  static readonly MAX_LOCAL_ENTRIES = 1_000;

  constructor(
    private readonly redis: Redis,
    private readonly options: {
      /** Changes with the supergraph, so a new schema never reads an old shape. */
      namespace: string;
      maxTtlSeconds: number;
      /** How long a confirmed hit may be served from memory (0: never). At most 500 ms. */
      localTtlMs?: number;
      logger: Logger;
      metrics: CacheMetrics;
      onStoreError?: (operation: string) => void;
      /**
       * Runs every Redis command: the kit store's circuit breaker (RedisStore.guarded), so
       * while Redis stalls the cache is skipped at once instead of each request waiting for
       * its own timeout, and a timeout here opens the circuit for the store's other users.
       */
      guard?: <T>(command: () => Promise<T>) => Promise<T>;
      /** The fast path's one round trip per request (its connection is the caller's to close). */
      requestState: RequestStateReader;
    },
  ) {}

  private entryKey(key: string) {
    return `rc:${this.options.namespace}:${key}`;
  }
  private markKey(tag: string) {
    return `rc:inv:${tag}`;
  }
  /** Marks outlive every entry they could invalidate (the longest TTL plus a slow request). */
  private get markTtlMs() {
    return (this.options.maxTtlSeconds + 120) * 1000;
  }

  private failed(operation: string, error: unknown) {
    this.options.onStoreError?.(operation);
    if (!this.down) {
      this.down = true;
      this.options.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'response cache bypassed: redis unavailable',
      );
    }
  }
  private succeeded() {
    if (this.down) {
      this.down = false;
      this.options.logger.info('response cache back in use: redis reachable again');
    }
  }

  private guard<T>(command: () => Promise<T>): Promise<T> {
    return this.options.guard ? this.options.guard(command) : command();
  }

  private async redisTime(): Promise<number> {
    const [seconds, micros] = await this.guard(() => this.redis.time());
    return Number(seconds) * 1_000_000 + Number(micros);
  }

  async lookup(key: string): Promise<Lookup> {
    if (this.pending.size > 0 && !(await this.flushPending())) return { status: 'bypass' };
    try {
      const result = await this.guard(() => this.redis.pipeline().get(this.entryKey(key)).time().exec());
      if (!result) throw new Error('redis pipeline aborted');
      const [[getError, raw], [timeError, time]] = result as [
        [Error | null, string | null],
        [Error | null, [string, string]],
      ];
      if (getError || timeError) throw getError ?? timeError;
      const now = Number(time[0]) * 1_000_000 + Number(time[1]);
      this.succeeded();
      if (!raw) return { status: 'miss', t0: now };
      return await this.checkMarks(key, raw, now);
    } catch (error) {
      this.failed('response_cache_get', error);
      return { status: 'bypass' };
    }
  }

  /** An entry read at Redis time `now` is a hit while every mark of its tags is older than its t0. */
  private async checkMarks(key: string, raw: string, now: number): Promise<Lookup> {
    const entry = decodeEntry(raw);
    const marks = entry.tags.length > 0 ? await this.guard(() => this.redis.mget(entry.tags.map((t) => this.markKey(t)))) : [];
    if (marks.some((mark) => mark !== null && Number(mark) >= entry.t0)) {
      this.redis.del(this.entryKey(key)).catch(() => undefined);
      return { status: 'miss', t0: now };
    }
    return { status: 'hit', entry, ageSeconds: ageSeconds(entry, now) };
  }

  /**
   * For the fast path: the session state, the rate-limit count and the cache lookup in one
   * round trip (one script) (a second one, MGET of the invalidation marks, only when the entry is
   * not confirmed in memory). Null when Redis did not answer or invalidations are pending:
   * the caller then leaves the request to the normal pipeline.
   */
  async lookupForRequest(
    key: string,
    request: { sessionKey: string | null; rateKey: string; windowMs: number },
  ): Promise<(RequestLookup & { bytes?: Buffer }) | null> {
    if (this.pending.size > 0 || this.down) return null;
    const localNow = Date.now();
    let local = this.local.get(key);
    if (local && localNow >= local.expiresAt) {
      this.local.delete(key);
      local = undefined;
    }
    const generation = this.generation;
    let state: RequestState;
    try {
      state = await this.options.requestState.read(request, local ? null : this.entryKey(key));
    } catch {
      return null;
    }
    const { session, rate, entry: raw, redisNow: now } = state;
    if (local) {
      const localRedisNow = local.redisNow + (localNow - local.localAt) * 1000;
      return {
        session,
        rate,
        lookup: { status: 'hit', entry: local.entry, ageSeconds: ageSeconds(local.entry, localRedisNow) },
        bytes: local.bytes,
      };
    }
    if (!raw) return { session, rate, lookup: { status: 'miss', t0: now } };
    let lookup: Lookup;
    try {
      lookup = await this.checkMarks(key, raw, now);
    } catch {
      return { session, rate, lookup: { status: 'bypass' } };
    }
    if (lookup.status !== 'hit') return { session, rate, lookup };
    const bytes = Buffer.from(`${lookup.entry.body}\n`);
    const localTtlMs = Math.min(this.options.localTtlMs ?? 0, 500);
    // Never remember past the entry's freshness, nor across an invalidation made meanwhile.
    const lifeSeconds = Math.min(lookup.entry.maxAge, this.options.maxTtlSeconds);
    const freshForMs = (lookup.entry.t0 + lifeSeconds * 1_000_000 - now) / 1000;
    if (localTtlMs > 0 && generation === this.generation && freshForMs > 0) {
      if (this.local.size >= ResponseCache.MAX_LOCAL_ENTRIES)
        this.local.delete(this.local.keys().next().value as string);
      this.local.set(key, {
        entry: lookup.entry,
        bytes,
        redisNow: now,
        localAt: localNow,
        expiresAt: localNow + Math.min(localTtlMs, freshForMs),
      });
    }
    return { session, rate, lookup, bytes };
  }

  async store(key: string, entry: CacheEntry): Promise<void> {
    const ttl = Math.min(entry.maxAge, this.options.maxTtlSeconds);
    if (ttl <= 0) return;
    try {
      await this.guard(() => this.redis.set(this.entryKey(key), encodeEntry(entry), 'EX', ttl));
      this.succeeded();
    } catch (error) {
      this.failed('response_cache_set', error);
    }
  }

  /** Marks the tags invalid as of now (Redis time); kept for replay if Redis is away. */
  async invalidate(tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    this.local.clear();
    this.generation += 1;
    for (const tag of tags)
      this.options.metrics.invalidations.inc({
        kind: tag === 'T:Stock' ? 'stock' : (TAG_KINDS[tag[0]] ?? 'other'),
      });
    for (const tag of tags) this.pending.add(tag);
    await this.flushPending();
  }

  private async flushPending(): Promise<boolean> {
    const tags = [...this.pending];
    try {
      const now = await this.redisTime();
      const pipeline = this.redis.pipeline();
      for (const tag of tags) pipeline.set(this.markKey(tag), String(now), 'PX', this.markTtlMs);
      const results = await this.guard(() => pipeline.exec());
      const error = results?.find(([e]) => e)?.[0];
      if (!results || error) throw error ?? new Error('redis pipeline aborted');
      for (const tag of tags) this.pending.delete(tag);
      this.succeeded();
      return true;
    } catch (error) {
      this.failed('response_cache_invalidate', error);
      return false;
    }
  }
}

function ageSeconds(entry: CacheEntry, now: number) {
  return Math.max(0, Math.floor((now - entry.t0) / 1_000_000));
}

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/** cacheKey's keys of recent requests as sent. Bounded (oldest out first), and only short inputs: at most about 2 MB. */
const recentCacheKeys = new Map<string, string>();
const MAX_REMEMBERED_CACHE_KEYS = 1_000;
const MAX_REMEMBERED_INPUT_LENGTH = 2_048;

/**
 * What a response depends on: the document, the operation name as requested and the
 * variables. Never the caller. The fast path computes the same key from the request body.
 */
export function cacheKey(
  queryHash: string,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | undefined,
) {
  // Clients repeat the same few requests: the key of a request as sent is remembered, so a
  // repeat costs one JSON.stringify instead of sorting the variables and hashing. Equal
  // inputs as sent have equal sorted forms, so the remembered key is the one computed.
  const asSent = JSON.stringify([queryHash, operationName ?? null, variables ?? {}]);
  const remembered = recentCacheKeys.get(asSent);
  if (remembered !== undefined) return remembered;
  const key = createHash('sha256')
    .update(JSON.stringify([queryHash, operationName ?? null, stable(variables ?? {})]))
    .digest('hex');
  if (asSent.length <= MAX_REMEMBERED_INPUT_LENGTH) {
    if (recentCacheKeys.size >= MAX_REMEMBERED_CACHE_KEYS)
      recentCacheKeys.delete(recentCacheKeys.keys().next().value as string);
    recentCacheKeys.set(asSent, key);
  }
  return key;
}

/**
 * Serves public queries from the cache, stores public answers, invalidates around mutations,
 * and sets Cache-Control on every response: `public, max-age=N` when the operation's policy
 * (computed from the subgraphs' hints, see cache-policy.ts) is public and cacheable, else
 * `private, no-store`. Responses with errors and anything private are never stored, and
 * mutations are never served from the cache.
 */
export function responseCachePlugin(
  cache: ResponseCache | undefined,
  metrics: CacheMetrics,
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let lookup: Lookup = { status: 'bypass' };
      let key: string | undefined;
      let policy: CachePolicy | null = null;
      let attempted: string[] = [];
      return {
        async responseForOperation(rc) {
          const analysis = analysisOf(rc.request);
          if (!analysis) return null;
          if (analysis.operationType === 'mutation') {
            // An admin's write: mark what it will touch before it is forwarded, so a response that
            // never arrives (timeout, open circuit, another field failing) leaves nothing stale.
            // Only admins: anyone else could flush the cache by merely attempting a mutation.
            if (cache && rc.contextValue.identity.role === 'ADMIN') {
              attempted = attemptTags(rc.schema, analysis, rc.request.variables ?? {});
              await cache.invalidate(attempted);
            }
            return null;
          }
          if (analysis.operationType !== 'query') return null;
          const candidate = analysis.cachePolicy;
          if (!candidate || candidate.scope !== 'PUBLIC') {
            metrics.requests.inc({ result: 'uncacheable' });
            return null;
          }
          policy = candidate;
          if (!cache || !rc.queryHash) {
            metrics.requests.inc({ result: 'bypass' });
            return null;
          }
          key = cacheKey(rc.queryHash, rc.request.operationName, rc.request.variables);
          // The fast path may have looked this key up in its round trip already (a miss, or a
          // hit it could not serve itself because the session had to be asked of users).
          const prefetched = rc.contextValue.prefetched;
          lookup = prefetched?.key === key ? prefetched.lookup : await cache.lookup(key);
          metrics.requests.inc({ result: lookup.status });
          if (lookup.status !== 'hit') return null;
          return {
            http: rc.response.http,
            body: {
              kind: 'single',
              singleResult: { data: (JSON.parse(lookup.entry.body) as { data: Record<string, unknown> }).data },
            },
          };
        },

        async willSendResponse(rc) {
          const headers = rc.response.http.headers;
          const body = rc.response.body;
          const single = body.kind === 'single' ? body.singleResult : undefined;
          const analysis = analysisOf(rc.request);
          if (analysis?.operationType === 'mutation') {
            headers.set('cache-control', 'private, no-store');
            // Again after it returns (whatever came back), plus what the response names.
            const returned = single?.data
              ? invalidationTags(rc.schema, analysis, rc.request.variables ?? {}, single.data)
              : [];
            if (cache) await cache.invalidate([...new Set([...attempted, ...returned])]);
            return;
          }
          if (lookup.status === 'hit') {
            // Freshness per RFC 9111: max-age counts from when the response was made, Age says how long ago.
            headers.set('cache-control', `public, max-age=${lookup.entry.maxAge}`);
            headers.set('age', String(lookup.ageSeconds));
            headers.set('x-cache', 'HIT');
            return;
          }
          if (!policy || !single?.data || single.errors?.length) {
            headers.set('cache-control', 'private, no-store');
            return;
          }
          headers.set('cache-control', `public, max-age=${policy.maxAge}`);
          headers.set('x-cache', lookup.status === 'bypass' ? 'BYPASS' : 'MISS');
          if (cache && key && lookup.status === 'miss' && analysis) {
            const tags = responseTags(rc.schema, analysis, single.data);
            await cache.store(key, {
              body: JSON.stringify({ data: single.data }),
              tags,
              t0: lookup.t0,
              maxAge: policy.maxAge,
              operation: rc.operationName ?? null,
            });
          }
        },
      };
    },
  };
}
