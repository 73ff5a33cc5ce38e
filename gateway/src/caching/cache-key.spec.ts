import { createHash } from 'node:crypto';
import { cacheKey } from './response-cache';

/** The key as defined: document hash, operation name and the variables with their keys sorted. */
const defined = (hash: string, name: string | null, sortedVariables: Record<string, unknown>) =>
  createHash('sha256').update(JSON.stringify([hash, name, sortedVariables])).digest('hex');

describe('response cache keys', () => {
  const hash = 'a'.repeat(64);

  it('are the same on a repeat (remembered) as computed, whatever order the variables came in', () => {
    const expected = defined(hash, 'ProductList', { filter: { category: 'c', search: 's' }, first: 20 });
    for (let round = 0; round < 3; round += 1) {
      expect(cacheKey(hash, 'ProductList', { first: 20, filter: { search: 's', category: 'c' } })).toBe(expected);
      expect(cacheKey(hash, 'ProductList', { filter: { category: 'c', search: 's' }, first: 20 })).toBe(expected);
    }
  });

  it('tell apart what the response depends on, on a repeat too', () => {
    for (let round = 0; round < 2; round += 1) {
      expect(cacheKey(hash, null, undefined)).toBe(defined(hash, null, {}));
      expect(cacheKey(hash, undefined, {})).toBe(defined(hash, null, {}));
      expect(cacheKey(hash, '', {})).toBe(defined(hash, '', {}));
      expect(cacheKey(hash, 'ProductPage', { slug: 'a' })).toBe(defined(hash, 'ProductPage', { slug: 'a' }));
      expect(cacheKey(hash, 'ProductPage', { slug: 'b' })).toBe(defined(hash, 'ProductPage', { slug: 'b' }));
      expect(cacheKey('b'.repeat(64), 'ProductPage', { slug: 'a' })).toBe(defined('b'.repeat(64), 'ProductPage', { slug: 'a' }));
    }
  });

  it('are right for variables too long to remember', () => {
    const long = { search: 'x'.repeat(5_000), first: 1 };
    expect(cacheKey(hash, 'ProductList', long)).toBe(defined(hash, 'ProductList', { first: 1, search: long.search }));
    expect(cacheKey(hash, 'ProductList', long)).toBe(defined(hash, 'ProductList', { first: 1, search: long.search }));
  });
});
