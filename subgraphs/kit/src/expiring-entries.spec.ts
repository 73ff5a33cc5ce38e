import { rememberExpiring } from './expiring-entries';

describe('rememberExpiring (a bounded cache of entries that expire in the order they came)', () => {
  const expiredBefore = (now: number) => (entry: { expiresAt: number }) => entry.expiresAt <= now;

  it('drops the expired entries at the front when a new one comes, and keeps the rest in order', () => {
    const cache = new Map<string, { expiresAt: number }>();
    rememberExpiring(cache, 'a', { expiresAt: 10 }, 100, expiredBefore(0));
    rememberExpiring(cache, 'b', { expiresAt: 20 }, 100, expiredBefore(5));
    rememberExpiring(cache, 'c', { expiresAt: 30 }, 100, expiredBefore(15));
    expect([...cache.keys()]).toEqual(['b', 'c']);
    rememberExpiring(cache, 'd', { expiresAt: 40 }, 100, expiredBefore(35));
    expect([...cache.keys()]).toEqual(['d']);
  });

  it('stops at the first entry still alive, however many expired ones follow it', () => {
    const cache = new Map<string, { expiresAt: number }>([
      ['alive', { expiresAt: 100 }],
      ['expired', { expiresAt: 1 }],
    ]);
    rememberExpiring(cache, 'new', { expiresAt: 200 }, 100, expiredBefore(50));
    expect([...cache.keys()]).toEqual(['alive', 'expired', 'new']);
  });

  it('drops the oldest entry when full of live ones', () => {
    const cache = new Map<string, { expiresAt: number }>();
    for (const key of ['a', 'b', 'c']) rememberExpiring(cache, key, { expiresAt: 100 }, 2, expiredBefore(0));
    expect([...cache.keys()]).toEqual(['b', 'c']);
  });
});
