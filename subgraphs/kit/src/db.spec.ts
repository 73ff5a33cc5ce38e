// PGlite loads its WASM build with a dynamic import, which Jest runs only with this flag
// (see package.json "test"); the embedded-mode test below needs it.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from './logger';
import { openDatabase, withTransaction, type Database } from './db';
import { rows } from './sql';
import { Client } from 'pg';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './testing/databases';

const logger = createLogger('kit-test', 'silent');

/**
 * Two transactions run at once: one inserts and then fails (rolls back), the other inserts
 * and commits. Isolated transactions leave exactly the committed row; interleaving on one
 * connection would roll the second's insert back with the first.
 */
async function concurrentTransactionsStayIsolated(db: Database) {
  await db.dataSource.query('CREATE TABLE IF NOT EXISTS isolation_probe (label text primary key)');
  await db.dataSource.query('DELETE FROM isolation_probe');
  const ctx = { em: db.dataSource.manager };
  const failing = withTransaction(ctx, async (tx) => {
    await tx.em.query(`INSERT INTO isolation_probe VALUES ('rolled back')`);
    await new Promise((r) => setTimeout(r, 50));
    throw new Error('boom');
  });
  const committing = withTransaction(ctx, async (tx) => {
    await tx.em.query(`INSERT INTO isolation_probe VALUES ('committed')`);
    await new Promise((r) => setTimeout(r, 20));
  });
  const outcomes = await Promise.allSettled([failing, committing]);
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
  const rows = await db.dataSource.query('SELECT label FROM isolation_probe ORDER BY label');
  expect(rows).toEqual([{ label: 'committed' }]);
}

describe('embedded PGlite (no DATABASE_URL)', () => {
  let dataDir: string;
  let db: Database;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'pglite-'));
    db = await openDatabase({ service: 'probe', dataDir, poolMax: 10, entities: [], migrations: [], logger });
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps each service in its own data directory', () => {
    expect(db.embedded).toBe(true);
  });

  it('keeps two concurrent transactions isolated', async () => {
    await concurrentTransactionsStayIsolated(db);
  });

  it('runs prepared statements', async () => {
    const ctx = { em: db.dataSource.manager };
    for (let i = 0; i < 3; i++) expect(await rows(ctx.em, 'SELECT $1::int * 2 AS n', [i])).toEqual([{ n: i * 2 }]);
  });
});

describe('real Postgres (DATABASE_URL)', () => {
  let testDb: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    testDb = await createTestDatabase('kit');
    db = await openDatabase({ service: 'probe', url: testDb.url, dataDir: '.data', poolMax: 5, entities: [], migrations: [], logger });
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it('keeps two concurrent transactions isolated', async () => {
    expect(db.embedded).toBe(false);
    await concurrentTransactionsStayIsolated(db);
  });

  it('sends a statement prepared: its connection parses and plans it once, then only executes it', async () => {
    const probe = 'SELECT $1::int + 1 AS n';
    await withTransaction({ em: db.dataSource.manager }, async (tx) => {
      expect(await rows(tx.em, probe, [1])).toEqual([{ n: 2 }]);
      expect(await rows(tx.em, probe, [2])).toEqual([{ n: 3 }]);
      const prepared = (await tx.em.query('SELECT name, statement FROM pg_prepared_statements')) as { name: string; statement: string }[];
      const mine = prepared.filter((p) => p.statement === probe);
      expect(mine).toHaveLength(1);
      // Named after its verb, so a trace's pg span says what the statement does.
      expect(mine[0].name).toMatch(/^SELECT\.\d+$/);
    });
  });

  it('runs a prepared statement again, unprepared, once a newer schema changed its result columns', async () => {
    await db.dataSource.query('CREATE TABLE prepared_probe (a int)');
    await db.dataSource.query('INSERT INTO prepared_probe VALUES (1)');
    const select = 'SELECT * FROM prepared_probe';
    // Prepared on every pooled connection, as a busy service would have it.
    const ctx = { em: db.dataSource.manager };
    await Promise.all(Array.from({ length: 5 }, () => rows(ctx.em, select)));
    await db.dataSource.query('ALTER TABLE prepared_probe ADD COLUMN b int DEFAULT 2');
    for (let i = 0; i < 5; i++) expect(await rows(ctx.em, select)).toEqual([{ a: 1, b: 2 }]);
  });
});

describe('a database blip (connections terminated, as a failover or restart does)', () => {
  let testDb: TestDatabase;
  let db: Database;
  let admin: Client;
  beforeAll(async () => {
    testDb = await createTestDatabase('kitblip');
    db = await openDatabase({ service: 'probe', url: testDb.url, dataDir: '.data', poolMax: 10, entities: [], migrations: [], logger });
    await db.dataSource.query('CREATE TABLE blip_probe (n int)');
    admin = new Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.close();
    await testDb?.drop();
  });

  const terminateBackends = () =>
    admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [testDb.name]);

  it('fails the work in flight, never the process, and serves again with fresh connections', async () => {
    // Transactions that hold their connection between two statements: the moment a terminated
    // connection used to raise an 'error' nobody listened to, which killed the process.
    let stop = false;
    const outcomes = { committed: 0, failed: 0 };
    const worker = async () => {
      while (!stop) {
        try {
          await withTransaction({ em: db.dataSource.manager }, async (tx) => {
            await tx.em.query('INSERT INTO blip_probe VALUES (1)');
            await new Promise((r) => setImmediate(r));
            await tx.em.query('SELECT count(*) FROM blip_probe');
          });
          outcomes.committed++;
        } catch {
          outcomes.failed++;
        }
      }
    };
    const workers = Array.from({ length: 12 }, worker);
    for (let blip = 0; blip < 100; blip++) {
      await terminateBackends();
      await new Promise((r) => setTimeout(r, 10 + (blip % 5) * 10));
    }
    stop = true;
    await Promise.all(workers);
    expect(outcomes.failed).toBeGreaterThan(0);

    await withTransaction({ em: db.dataSource.manager }, (tx) => tx.em.query('INSERT INTO blip_probe VALUES (2)'));
    expect(await db.dataSource.query('SELECT count(*)::int AS n FROM blip_probe WHERE n = 2')).toEqual([{ n: 1 }]);
  });
});
