import http from 'node:http';
import express from 'express';
import { closeServer, listen } from './http';

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
