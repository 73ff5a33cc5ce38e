/**
 * Adds `key` to a bounded, insertion-ordered cache of expiring entries (verified tokens, minted
 * tokens), after dropping the expired entries at its front and, when still full, its oldest one.
 *
 * Every entry of such a cache lives about as long as the others (one token lifetime), so the
 * oldest entries are the first to expire, and pruning the front keeps the cache at what is alive
 * now. Without it, entries nobody asks for again (tokens of ended sessions) stayed until the
 * bound pushed them out: a gateway's heap grew through a 30-minute soak by the tokens it had
 * ever seen (BENCHMARKS.md, "Memory and endurance").
 */
export function rememberExpiring<K, V>(cache: Map<K, V>, key: K, value: V, max: number, expired: (entry: V) => boolean): void {
  for (const [oldest, entry] of cache) {
    if (!expired(entry)) break;
    cache.delete(oldest);
  }
  if (cache.size >= max) cache.delete(cache.keys().next().value as K);
  cache.set(key, value);
}
