/**
 * The response cache's entry and lookup shapes, apart from the cache itself so that the
 * request context (context.ts) can carry a lookup without importing the cache.
 */
export interface CacheEntry {
  /** The response body as sent: `{"data":...}` (JSON, without the trailing newline). */
  body: string;
  tags: string[];
  /** Redis time (µs) read before the response was computed. */
  t0: number;
  maxAge: number;
  /** The operation that was run (for metrics when a hit is served before Apollo). */
  operation: string | null;
}

export type Lookup =
  | { status: 'bypass' }
  | { status: 'miss'; t0: number }
  | { status: 'hit'; entry: CacheEntry; ageSeconds: number };

/** What one round trip to Redis answers for a request that may be served before Apollo. */
export interface RequestLookup {
  /** The session's state in the store (null: not known there, or no session). */
  session: string | null;
  /** The client's rate-limit window after counting this request. */
  rate: { count: number; resetMs: number };
  lookup: Lookup;
}

/** Stored as one string: a header line (tags, t0, maxAge, operation), then the body bytes as sent. */
export function encodeEntry(entry: CacheEntry): string {
  const { body, ...header } = entry;
  return `${JSON.stringify(header)}\n${body}`;
}
export function decodeEntry(raw: string): CacheEntry {
  const newline = raw.indexOf('\n');
  if (newline < 0) throw new Error('malformed response cache entry');
  return { ...(JSON.parse(raw.slice(0, newline)) as Omit<CacheEntry, 'body'>), body: raw.slice(newline + 1) };
}
