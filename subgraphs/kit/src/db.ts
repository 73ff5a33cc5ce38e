import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
// typeorm (and pg) load only when a database is opened: the gateway uses the kit without one.
import type { DataSource, EntityManager, EntitySchema, MixedList } from 'typeorm';
import type { Logger } from './logger';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type EntityList = MixedList<Function | string | EntitySchema>;
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type MigrationList = MixedList<Function | string>;

export interface DatabaseOptions {
  service: string;
  /** Postgres URL of this service's own database; unset means embedded PGlite. */
  url?: string;
  dataDir: string;
  poolMax: number;
  entities: EntityList;
  migrations: MigrationList;
  logger: Logger;
  /** Tests only: build the schema from entities instead of migrations. */
  synchronize?: boolean;
  /** Called with every SQL statement sent to the server (the db_statements_total metric counts them). */
  onStatement?: (text: string) => void;
}

export interface Database {
  dataSource: DataSource;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * Opens this service's database. With a URL it is a normal pooled Postgres connection.
 * Without one it starts an embedded PGlite in DATA_DIR/<service>, served over a local socket
 * to a pool of exactly one connection: PGlite is single-connection, so one pooled connection
 * is what keeps two transactions from interleaving on it.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  let url = options.url;
  let poolMax = options.poolMax;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const embedded = await startEmbeddedPostgres(path.resolve(options.dataDir, options.service));
    url = embedded.url;
    poolMax = 1;
    stopEmbedded = embedded.stop;
    options.logger.info({ dataDir: embedded.dataDir }, 'using embedded PGlite (no DATABASE_URL)');
  }
  const { DataSource } = await import('typeorm');
  const Client = await connectionErrorTolerantClient(options.logger);
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    entities: options.entities,
    migrations: options.migrations,
    migrationsRun: false,
    synchronize: options.synchronize ?? false,
    logging: false,
    // Idle pooled connections that die are reported here too; the client's own listener
    // (below) has logged it already, and the pool drops and replaces the connection.
    poolErrorHandler: () => undefined,
    extra: {
      Client,
      max: poolMax,
      // A query that waits this long for a pooled connection is a bug (or a deadlock); fail loudly.
      connectionTimeoutMillis: 15_000,
      idleTimeoutMillis: 30_000,
      application_name: options.service,
    },
  });
  await dataSource.initialize();
  countStatements(dataSource, options.onStatement);
  return {
    dataSource,
    embedded: Boolean(stopEmbedded),
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await stopEmbedded?.();
    },
  };
}

/**
 * The pg client class every pool connection is made from. A connection the server terminates
 * (a failover, a restart, pg_terminate_backend) emits 'error' on its client; while the client
 * is checked out between two queries, pg-pool and TypeORM each detach their listener for a
 * moment (handing it back to the pool, releasing a query runner), and an 'error' event with
 * no listener kills the process. This listener is attached for the client's whole life, so
 * a dead connection is only ever logged: the query that used it fails, the pool discards the
 * client (it is no longer queryable) and opens a new one for the next request.
 */
async function connectionErrorTolerantClient(logger: Logger) {
  const pg = await import('pg');
  return class ConnectionErrorTolerantClient extends pg.Client {
    constructor(config?: string | import('pg').ClientConfig) {
      super(config);
      this.on('error', (error: Error & { code?: string }) =>
        logger.warn({ err: error.message, code: error.code }, 'database connection lost; it will be replaced'),
      );
    }
  };
}

/** The pg pool under TypeORM (one per DataSource), for statements that need nothing of TypeORM. */
interface PgPool {
  query(query: string | { name?: string; text: string; values?: unknown[] }, params?: unknown[]): Promise<{ rows: unknown[] }>;
  on(event: 'acquire', listener: (client: { query: (...args: unknown[]) => unknown }) => void): void;
}
export function pgPool(dataSource: DataSource): PgPool | undefined {
  return (dataSource.driver as unknown as { master?: PgPool }).master;
}

const COUNTED = Symbol('countedStatements');
const statementListeners = new WeakMap<DataSource, Set<(text: string) => void>>();

/**
 * Reports every statement a pooled connection sends, whoever sends it (TypeORM's query
 * runners, transactions, the kit's `rows`), to `onStatement` and to `recordStatements`:
 * each client is wrapped the first time it is checked out of the pool.
 */
function countStatements(dataSource: DataSource, onStatement?: (text: string) => void) {
  const listeners = new Set<(text: string) => void>();
  statementListeners.set(dataSource, listeners);
  pgPool(dataSource)?.on('acquire', (client) => {
    const marked = client as typeof client & { [COUNTED]?: boolean };
    if (marked[COUNTED]) return;
    marked[COUNTED] = true;
    const query = client.query.bind(client);
    client.query = (...args: unknown[]) => {
      const first = args[0];
      const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
      onStatement?.(text);
      for (const listener of listeners) listener(text);
      return query(...args);
    };
  });
}

/** Every statement sent to this database from now until `stop()`: tests count round trips with it. */
export function recordStatements(dataSource: DataSource): { statements: string[]; stop(): void } {
  const statements: string[] = [];
  const listener = (text: string) => void statements.push(text);
  const listeners = statementListeners.get(dataSource);
  if (!listeners) throw new Error('recordStatements needs a database opened by openDatabase');
  listeners.add(listener);
  return { statements, stop: () => void listeners.delete(listener) };
}

async function startEmbeddedPostgres(dataDir: string) {
  // Loaded lazily: production images never touch the WASM build.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
  await server.start();
  const address = server.getServerConn(); // "host:port"
  const port = Number(address.split(':').pop());
  return {
    dataDir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * Runs pending migrations. Several replicas may start at once, so the run holds a Postgres
 * advisory lock named after the service: the others wait, then find nothing left to do.
 * The migrations run on the connection that holds the lock, so one connection is enough
 * (embedded PGlite has exactly one).
 */
export async function migrate(db: Database, service: string, logger: Logger): Promise<string[]> {
  const runner = db.dataSource.createQueryRunner();
  await runner.connect();
  const lockKey = `migrations:${service}`;
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    const { MigrationExecutor } = await import('typeorm');
    const executor = new MigrationExecutor(db.dataSource, runner);
    executor.transaction = 'each';
    const applied = await executor.executePendingMigrations();
    if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch(() => undefined);
    await runner.release();
  }
}

/** Anything that carries the current unit of work's EntityManager (a request context, a job). */
export interface HasEntityManager {
  em: EntityManager;
}

/**
 * Runs `fn` in one transaction and hands it a context whose `em` is the transaction's, so
 * every repository taken from that context joins it. Keep it short: never call another
 * service inside it.
 */
export async function withTransaction<C extends HasEntityManager, T>(
  ctx: C,
  fn: (tx: C) => Promise<T>,
): Promise<T> {
  if (ctx.em.queryRunner?.isTransactionActive) return fn(ctx);
  return ctx.em.transaction((em) => fn({ ...ctx, em }));
}
