import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import type Redis from 'ioredis';
import type { Logger } from '@shop/kit';
import { Counter, type Registry } from 'prom-client';
import { memoizedCachePolicy, type CacheHints, type CachePolicy } from './cache-policy';
import { invalidationTags, responseTags } from './cache-tags';
import type { GatewayContext } from './subgraph-source';

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
export interface CacheEntry {
  data: Record<string, unknown>;
  tags: string[];
  /** Redis time (µs) read before the response was computed. */
  t0: number;
  maxAge: number;
}

export type Lookup =
  | { status: 'bypass' }
  | { status: 'miss'; t0: number }
  | { status: 'hit'; entry: CacheEntry; ageSeconds: number };

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

  constructor(
    private readonly redis: Redis,
    private readonly options: {
      /** Changes with the supergraph, so a new schema never reads an old shape. */
      namespace: string;
      maxTtlSeconds: number;
      logger: Logger;
      metrics: CacheMetrics;
      onStoreError?: (operation: string) => void;
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

  private async redisTime(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1_000_000 + Number(micros);
  }

  async lookup(key: string): Promise<Lookup> {
    if (this.pending.size > 0 && !(await this.flushPending())) return { status: 'bypass' };
    try {
      const result = await this.redis.pipeline().get(this.entryKey(key)).time().exec();
      if (!result) throw new Error('redis pipeline aborted');
      const [[getError, raw], [timeError, time]] = result as [
        [Error | null, string | null],
        [Error | null, [string, string]],
      ];
      if (getError || timeError) throw getError ?? timeError;
      const now = Number(time[0]) * 1_000_000 + Number(time[1]);
      this.succeeded();
      if (!raw) return { status: 'miss', t0: now };
      const entry = JSON.parse(raw) as CacheEntry;
      const marks =
        entry.tags.length > 0 ? await this.redis.mget(entry.tags.map((t) => this.markKey(t))) : [];
      if (marks.some((mark) => mark !== null && Number(mark) >= entry.t0)) {
        this.redis.del(this.entryKey(key)).catch(() => undefined);
        return { status: 'miss', t0: now };
      }
      return { status: 'hit', entry, ageSeconds: Math.max(0, Math.floor((now - entry.t0) / 1_000_000)) };
    } catch (error) {
      this.failed('response_cache_get', error);
      return { status: 'bypass' };
    }
  }

  async store(key: string, entry: CacheEntry): Promise<void> {
    const ttl = Math.min(entry.maxAge, this.options.maxTtlSeconds);
    if (ttl <= 0) return;
    try {
      await this.redis.set(this.entryKey(key), JSON.stringify(entry), 'EX', ttl);
      this.succeeded();
    } catch (error) {
      this.failed('response_cache_set', error);
    }
  }

  /** Marks the tags invalid as of now (Redis time); kept for replay if Redis is away. */
  async invalidate(tags: string[]): Promise<void> {
    if (tags.length === 0) return;
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
      const results = await pipeline.exec();
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

/** What a response depends on: the document, the operation chosen and the variables. Never the caller. */
export function cacheKey(
  queryHash: string,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | undefined,
) {
  return createHash('sha256')
    .update(JSON.stringify([queryHash, operationName ?? null, stable(variables ?? {})]))
    .digest('hex');
}

/**
 * Serves public queries from the cache, stores public answers, invalidates after mutations,
 * and sets Cache-Control on every response: `public, max-age=N` when the operation's policy
 * (computed from the subgraphs' hints, see cache-policy.ts) is public and cacheable, else
 * `private, no-store`. Responses with errors and anything private are never stored, and
 * mutations are never served from the cache.
 */
export function responseCachePlugin(
  cache: ResponseCache | undefined,
  metrics: CacheMetrics,
  hints: CacheHints,
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let lookup: Lookup = { status: 'bypass' };
      let key: string | undefined;
      let policy: CachePolicy | null = null;
      return {
        async responseForOperation(rc) {
          if (rc.operation?.operation !== 'query') return null;
          const candidate = memoizedCachePolicy(
            rc.schema,
            hints,
            rc.document,
            rc.operation,
            rc.request.variables ?? {},
          );
          if (!candidate || candidate.scope !== 'PUBLIC') {
            metrics.requests.inc({ result: 'uncacheable' });
            return null;
          }
          policy = candidate;
          if (!cache || !rc.queryHash) {
            metrics.requests.inc({ result: 'bypass' });
            return null;
          }
          key = cacheKey(rc.queryHash, rc.operationName, rc.request.variables);
          lookup = await cache.lookup(key);
          metrics.requests.inc({ result: lookup.status });
          if (lookup.status !== 'hit') return null;
          return {
            http: rc.response.http,
            body: { kind: 'single', singleResult: { data: lookup.entry.data } },
          };
        },

        async willSendResponse(rc) {
          const headers = rc.response.http.headers;
          const body = rc.response.body;
          const single = body.kind === 'single' ? body.singleResult : undefined;
          const operation = rc.operation;
          if (operation?.operation === 'mutation') {
            headers.set('cache-control', 'private, no-store');
            if (cache && rc.document && single?.data)
              await cache.invalidate(
                invalidationTags(rc.schema, rc.document, operation, rc.request.variables ?? {}, single.data),
              );
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
          if (cache && key && lookup.status === 'miss' && rc.document && operation) {
            const tags = responseTags(
              rc.schema,
              rc.document,
              operation,
              rc.request.variables ?? {},
              single.data,
            );
            await cache.store(key, { data: single.data, tags, t0: lookup.t0, maxAge: policy.maxAge });
          }
        },
      };
    },
  };
}
