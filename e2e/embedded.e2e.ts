import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { contractOperation as operation, freePort, postGraphQL, waitFor } from '@shop/kit/testing';
import { ROOT } from './support/platform';

/** Six consecutive free ports for PORT_BASE … PORT_BASE+5. */
async function freePortBlock(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(
        (offset) =>
          new Promise<boolean>((resolve) => {
            const server = createServer();
            server.once('error', () => resolve(false));
            server.listen(base + offset, '127.0.0.1', () => server.close(() => resolve(true)));
          }),
      ),
    );
    if (free.every(Boolean)) return base;
  }
  return freePort();
}

/**
 * `npm start` on a machine with only Node: no DATABASE_URL, no REDIS_URL. Every service in
 * one process, each subgraph on its own PGlite, the catalog seeded.
 */
describe('embedded mode (npm start without Postgres or Redis)', () => {
  let child: ChildProcess;
  let output = '';
  let dataDir: string;
  let url: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'embedded-'));
    const base = await freePortBlock();
    url = `http://127.0.0.1:${base}/graphql`;
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', DATA_DIR: dataDir, PORT_BASE: String(base), SKIP_BUILD: '1', LOG_LEVEL: 'warn', SEED_PRODUCTS: '40' };
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
    child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start-embedded.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${output}`);
      return output.includes('Shop supergraph ready');
    }, 'the embedded platform to start', 240_000);
  }, 300_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves Register, Me, the seeded catalog and a checkout through the gateway', async () => {
    const registered = await postGraphQL<{ register: { accessToken: string } }>(url, operation('Register'), {
      input: { email: 'embedded@example.com', password: 'embedded password' },
    });
    expect(registered.errors).toBeUndefined();
    const token = registered.data!.register.accessToken;
    const auth = { authorization: `Bearer ${token}` };
    const me = await postGraphQL<{ me: { email: string } }>(url, operation('Me'), {}, auth);
    expect(me.data?.me.email).toBe('embedded@example.com');

    const list = await postGraphQL<{ products: { totalCount: number; edges: { node: { id: string; inStock: boolean } }[] } }>(
      url,
      operation('ProductList'),
      { first: 40 },
    );
    expect(list.errors).toBeUndefined();
    expect(list.data!.products.totalCount).toBe(40);
    const product = list.data!.products.edges.find((e) => e.node.inStock)!.node;

    expect((await postGraphQL(url, operation('AddToCart'), { productId: product.id, quantity: 1 }, auth)).errors).toBeUndefined();
    const checkout = await postGraphQL<{ checkout: { status: string; payment: { status: string } } }>(
      url,
      operation('Checkout'),
      {
        input: {
          idempotencyKey: 'embedded-1',
          paymentToken: 'tok_visa',
          shippingAddress: { name: 'E', line1: '1 Main St', city: 'Town', postalCode: '12345', country: 'US' },
        },
      },
      auth,
    );
    expect(checkout.errors).toBeUndefined();
    expect(checkout.data?.checkout).toMatchObject({ status: 'CONFIRMED', payment: { status: 'CAPTURED' } });
  });

  it('logout holds across the services of the process (shared in-memory store)', async () => {
    const login = await postGraphQL<{ login: { accessToken: string } }>(url, operation('Login'), {
      input: { email: 'embedded@example.com', password: 'embedded password' },
    });
    const auth = { authorization: `Bearer ${login.data!.login.accessToken}` };
    expect((await postGraphQL(url, operation('Logout'), {}, auth)).data).toEqual({ logout: true });
    expect((await postGraphQL(url, operation('Me'), {}, auth)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('stops cleanly on SIGINT', async () => {
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });
});
