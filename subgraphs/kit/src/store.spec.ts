import { MemoryStore, RedisStore, type KeyValueStore } from './store';
import { TEST_REDIS_URL, uniqueRedisPrefix } from './testing/databases';
import { TestRedisServer } from './testing/redis-server';

const stores: [string, () => KeyValueStore][] = [
  ['memory', () => new MemoryStore()],
  ['redis', () => new RedisStore(TEST_REDIS_URL)],
];

describe.each(stores)('%s store', (_kind, make) => {
  let store: KeyValueStore;
  const prefix = uniqueRedisPrefix('store');
  beforeAll(() => {
    store = make();
  });
  afterAll(() => store.close());

  it('sets, gets, deletes and expires values', async () => {
    await store.set(`${prefix}a`, '1');
    await store.set(`${prefix}b`, '2', 50);
    expect(await store.mget([`${prefix}a`, `${prefix}b`, `${prefix}c`])).toEqual(['1', '2', null]);
    await new Promise((r) => setTimeout(r, 120));
    expect(await store.get(`${prefix}b`)).toBeNull();
    await store.del(`${prefix}a`);
    expect(await store.get(`${prefix}a`)).toBeNull();
  });

  it('sets only absent keys with setIfAbsent', async () => {
    expect(await store.setIfAbsent(`${prefix}n`, 'first', 10_000)).toBe(true);
    expect(await store.setIfAbsent(`${prefix}n`, 'second', 10_000)).toBe(false);
    expect(await store.get(`${prefix}n`)).toBe('first');
  });

  it('counts within a window that the first hit starts', async () => {
    const key = `${prefix}w`;
    const first = await store.incrWindow(key, 10_000);
    const second = await store.incrWindow(key, 10_000);
    expect([first.count, second.count]).toEqual([1, 2]);
    expect(second.resetMs).toBeGreaterThan(0);
    expect(second.resetMs).toBeLessThanOrEqual(10_000);
  });
});

describe('redis store when Redis goes away', () => {
  it('fails fast while down and works again once Redis is back', async () => {
    const server = await TestRedisServer.start();
    const store = new RedisStore(server.url);
    try {
      await store.set('k', 'v');
      await server.stop();
      await expect(store.get('k')).rejects.toThrow();
      expect(await store.ping()).toBe(false);
      await server.start();
      const deadline = Date.now() + 20_000;
      while (!(await store.ping()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await store.set('k', 'again');
      expect(await store.get('k')).toBe('again');
    } finally {
      await store.close();
      await server.stop();
    }
  });
});
