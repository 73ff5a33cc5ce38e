import { Client } from 'pg';
import { createLogger } from './logger';
import { SessionLocks } from './session-locks';
import { createTestDatabase, type TestDatabase } from './testing/databases';
import { waitFor } from './testing/processes';

/**
 * Proof of life through session advisory locks, on real Postgres: two "processes" (two
 * SessionLocks on one database) never hold one key at once, and a terminated lock
 * connection takes every claim with it (the other side can take over), without crashing.
 */
const logger = createLogger('kit-test', 'silent');
let db: TestDatabase;
let admin: Client;
const started: SessionLocks[] = [];

async function locks(application: string) {
  const l = new SessionLocks({ url: db.url, namespace: 'test', application, logger, reconnectDelayMs: 50 });
  await l.start();
  started.push(l);
  return l;
}

async function terminate(application: string) {
  const { rows } = await admin.query(
    `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
    [application],
  );
  return rows.length;
}

beforeAll(async () => {
  db = await createTestDatabase('kit_locks');
  admin = new Client({ connectionString: db.url });
  await admin.connect();
});
afterAll(async () => {
  for (const l of started) await l.stop();
  await admin?.end();
  await db?.drop();
});

describe('SessionLocks', () => {
  it('gives a key to one holder at a time, in one process and across processes', async () => {
    const [a, b] = [await locks('locks-a1'), await locks('locks-b1')];
    const claim = await a.tryClaim('order-1');
    expect(claim?.valid).toBe(true);
    // Session locks are re-entrant per connection: the second caller in the same process is refused all the same.
    expect(await a.tryClaim('order-1')).toBeNull();
    expect(await b.tryClaim('order-1')).toBeNull();
    await a.release(claim!);
    expect(claim!.valid).toBe(false);
    const taken = await b.tryClaim('order-1');
    expect(taken?.valid).toBe(true);
    expect(await a.tryClaim('order-1')).toBeNull();
  });

  it('a terminated lock connection invalidates its claims, frees their keys, and is replaced', async () => {
    const [a, b] = [await locks('locks-a2'), await locks('locks-b2')];
    const claim = (await a.tryClaim('order-2'))!;
    expect(await b.tryClaim('order-2')).toBeNull();
    expect(await terminate('locks-a2')).toBe(1);
    await waitFor(() => !claim.valid, 'the claim to turn invalid');
    // The key is free for another owner at once; the old process gets a new connection and claims again.
    const other = await b.tryClaim('order-2');
    expect(other?.valid).toBe(true);
    await waitFor(async () => (await a.tryClaim('order-3').catch(() => null)) !== null, 'the lock connection to come back');
    expect(await a.tryClaim('order-2')).toBeNull();
    await b.release(other!);
    expect((await a.tryClaim('order-2'))?.valid).toBe(true);
  });
});
