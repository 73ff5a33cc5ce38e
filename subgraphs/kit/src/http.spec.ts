import http from 'node:http';
import express from 'express';
import { closeServer, createHttpBase, listen } from './http';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { MemoryStore, RedisStore, redisState } from './store';
import { TEST_REDIS_URL, uniqueRedisPrefix } from './testing';

describe('graceful stop', () => {
  it('lets an in-flight request finish, then closes kept-alive connections without waiting out the grace period', async () => {
    const app = express();
    app.get('/slow', (_req, res) => {
      setTimeout(() => res.json({ done: true }), 300);
    });
    app.get('/fast', (_req, res) => {
      res.json({ ok: true });
    });
    const { server, port } = await listen(app, 0, '127.0.0.1');
    const agent = new http.Agent({ keepAlive: true });
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path, agent }, (res) => {
            let body = '';
            res.on('data', (chunk) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    // A kept-alive connection that sits idle, as a gateway's pool holds them.
    expect((await get('/fast')).status).toBe(200);
    const inFlight = get('/slow');
    await new Promise((r) => setTimeout(r, 50));
    // A grace period far beyond the test timeout: finishing at all proves no waiting it out.
    await closeServer(server, 120_000);
    expect(await inFlight).toEqual({ status: 200, body: JSON.stringify({ done: true }) });
    agent.destroy();
  }, 20_000);
});

describe('/ready', () => {
  const readyWith = async (store: RedisStore | MemoryStore) => {
    const { app } = createHttpBase({
      logger: createLogger('ready-test', 'silent'),
      metrics: createMetrics('ready-test'),
      readiness: { database: async () => true },
      dependencies: { redis: () => redisState(store) },
    });
    const { server, port } = await listen(app, 0, '127.0.0.1');
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ready`);
      return { status: response.status, body: (await response.json()) as { dependencies: Record<string, string> } };
    } finally {
      await closeServer(server, 1_000);
      await store.close();
    }
  };

  it('reports Redis up beside the checks that decide readiness', async () => {
    expect(await readyWith(new RedisStore(TEST_REDIS_URL, { keyPrefix: uniqueRedisPrefix('ready') }))).toEqual({
      status: 200,
      body: { status: 'ready', checks: { database: true }, dependencies: { redis: 'up' } },
    });
  });

  it('stays ready with Redis down (every service runs without its caches) and says so', async () => {
    // Nothing listens on port 1: the store never connects.
    expect(await readyWith(new RedisStore('redis://127.0.0.1:1', { probeIntervalMs: 60_000 }))).toEqual({
      status: 200,
      body: { status: 'ready', checks: { database: true }, dependencies: { redis: 'down' } },
    });
  });

  it('names the in-memory store when no REDIS_URL is set', async () => {
    expect((await readyWith(new MemoryStore())).body.dependencies).toEqual({ redis: 'memory' });
  });
});
