import { MemoryStore, RedisStore, StoreUnavailableError, type KeyValueStore } from './store';
import { waitFor } from './testing/processes';
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

describe('redis store started while the event loop is stalled', () => {
  it('waits for its connection instead of opening the circuit on a healthy Redis', async () => {
    const store = new RedisStore(TEST_REDIS_URL);
    try {
      // A cold start can hold the loop for seconds (module loading, schema building): the connection
      // is made meanwhile but its events are processed only afterwards.
      const stalledUntil = Date.now() + 2_500;
      while (Date.now() < stalledUntil);
      const key = `${uniqueRedisPrefix('store')}stall`;
      expect(await store.incrWindow(key, 10_000)).toMatchObject({ count: 1 });
      expect(store.available).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('keeps the circuit closed when its own loop stalls past a command timeout while Redis answered', async () => {
    const store = new RedisStore(TEST_REDIS_URL);
    try {
      await store.ping();
      const pending = store.get(`${uniqueRedisPrefix('store')}stall`);
      for (let tick = 0; tick < 10; tick += 1) await null; // the command is written, its reply not yet read
      const stalledUntil = Date.now() + 800; // past the 500 ms command timeout
      while (Date.now() < stalledUntil);
      await pending.catch(() => undefined); // this one call may count as timed out
      expect(store.available).toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe('a further connection behind the store\'s circuit', () => {
  it('sends its first command once its own socket is up, leaving the circuit closed', async () => {
    const store = new RedisStore(TEST_REDIS_URL);
    try {
      await store.ping(); // the store's own socket is up; the new one is not yet
      const connection = store.connection({ enableAutoPipelining: true });
      const key = `${uniqueRedisPrefix('store')}second`;
      expect(await connection.run((client) => client.incr(key))).toBe(1);
      expect(store.available).toBe(true);
      expect(await store.incrWindow(key, 10_000)).toMatchObject({ count: 2 });
    } finally {
      await store.close();
    }
  });

  it('opens the one circuit when Redis stops answering it, and the store\'s probe closes it again', async () => {
    const server = await TestRedisServer.start();
    const store = new RedisStore(server.url, { commandTimeoutMs: 300, probeIntervalMs: 100 });
    try {
      const connection = store.connection();
      await connection.run((client) => client.ping());
      server.pause();
      await expect(connection.run((client) => client.get('k'))).rejects.toThrow();
      expect(store.available).toBe(false);
      await expect(store.get('k')).rejects.toThrow(StoreUnavailableError);
      server.resume();
      await waitFor(() => store.available, 'a probe to close the circuit');
      expect(await connection.run((client) => client.get('k'))).toBeNull();
    } finally {
      await store.close();
      await server.stop();
    }
  });

  it('refuses at once while its own socket reconnects, leaving the circuit closed', async () => {
    const store = new RedisStore(TEST_REDIS_URL);
    try {
      const connection = store.connection();
      await connection.run((client) => client.ping());
      connection.client.stream.destroy(); // this socket alone drops; Redis and the store's socket are fine
      await expect(connection.run((client) => client.ping())).rejects.toThrow(StoreUnavailableError);
      expect(store.available).toBe(true);
      expect(await store.ping()).toBe(true);
      await waitFor(() => connection.client.status === 'ready', 'the socket to reconnect');
      expect(await connection.run((client) => client.ping())).toBe('PONG');
    } finally {
      await store.close();
    }
  });

  it('closes with its store', async () => {
    const store = new RedisStore(TEST_REDIS_URL);
    const connection = store.connection();
    await connection.run((client) => client.ping());
    const ended = new Promise((resolve) => connection.client.once('end', resolve));
    await store.close();
    await ended;
  });
});

describe('redis store when Redis stalls (paused: connected, never answering)', () => {
  let server: TestRedisServer;
  let store: RedisStore;
  beforeAll(async () => {
    server = await TestRedisServer.start();
    store = new RedisStore(server.url, { commandTimeoutMs: 300, probeIntervalMs: 100 });
    await store.set('k', 'v');
  });
  afterAll(async () => {
    server.resume();
    await store.close();
    await server.stop();
  });

  it('pays one timeout, then skips Redis for every call until a probe gets an answer', async () => {
    server.pause();
    const asked = jest.spyOn(store.client, 'ping');
    // The first call waits for its timeout and opens the circuit, asking Redis nothing more ...
    await expect(store.get('k')).rejects.toThrow(/timed out/i);
    expect(store.available).toBe(false);
    expect(asked).not.toHaveBeenCalled();
    asked.mockRestore();
    // ... every call after it is refused without asking Redis (no timeout of its own).
    const calls = [store.get('k'), store.mget(['k']), store.set('k', 'x'), store.setIfAbsent('n', 'x', 1000), store.del('k'), store.incrWindow('w', 1000)];
    const outcomes = await Promise.allSettled(calls);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    }

    server.resume();
    await waitFor(() => store.available, 'a probe to close the circuit');
    expect(await store.get('k')).toBe('v');
  });

  it('leaves the circuit closed when Redis answers with an error of its own', async () => {
    await store.client.lpush('a-list', 'v');
    await expect(store.get('a-list')).rejects.toThrow(/WRONGTYPE/);
    expect(store.available).toBe(true);
  });
});
