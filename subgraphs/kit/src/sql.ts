import type { EntityManager } from 'typeorm';
import { pgPool } from './db';

/**
 * Runs raw SQL on the context's unit of work and returns its rows (UPDATE/DELETE … RETURNING
 * included). Inside a transaction it runs on the transaction's connection; outside one it
 * goes straight to the pg pool (one statement needs no TypeORM query runner, which costs a
 * runner, a broadcaster and several awaits per statement on the hot reads). Errors are the
 * driver's (`uniqueViolation` reads both shapes).
 *
 * Each statement text is sent as a named (prepared) statement: a connection parses and plans
 * it the first time and then only binds and executes it (see namedStatement).
 */
export async function rows<T = Record<string, unknown>>(em: EntityManager, text: string, params: unknown[] = []): Promise<T[]> {
  try {
    return await send<T>(em, namedStatement(text, params));
  } catch (error) {
    if (!stalePreparedStatement(error)) throw error;
    // A newer release changed a table under a prepared statement's result: this text is sent
    // unprepared from now on. The statement failed before it ran, so outside a transaction it
    // simply runs again; inside one the transaction is aborted and fails as any failure does.
    statementNames.set(text, null);
    if (em.queryRunner?.isTransactionActive) throw error;
    return send<T>(em, { text, values: params });
  }
}

async function send<T>(em: EntityManager, query: PgQuery): Promise<T[]> {
  if (em.queryRunner) {
    // TypeORM hands the query on to pg's client.query as it is, config object included, and
    // still wraps a failure in its QueryFailedError.
    const result = await em.queryRunner.query(query as unknown as string, query.values, true);
    return (result.records ?? []) as T[];
  }
  const pool = pgPool(em.connection);
  if (pool) return (await pool.query(query)).rows as T[];
  const runner = em.connection.createQueryRunner();
  try {
    const result = await runner.query(query.text, query.values, true);
    return (result.records ?? []) as T[];
  } finally {
    await runner.release();
  }
}

interface PgQuery {
  name?: string;
  text: string;
  values: unknown[];
}

/** Statement text → its prepared statement's name (null: sent unprepared). */
const statementNames = new Map<string, string | null>();
/** More distinct texts than the code has statements would mean texts built from data: those go unprepared. */
const MAX_NAMED_STATEMENTS = 1000;

/**
 * The statement as pg's named query: Postgres parses and plans a named statement once per
 * connection (pg remembers which connections have it) and from then on each execution only
 * binds and executes it, where an unnamed one is parsed, analysed and planned every time; the
 * saga's and the reservations' data-modifying CTEs cost more to plan than to run. The texts
 * are the code's own (values are always parameters), so there are few of them.
 */
function namedStatement(text: string, values: unknown[]): PgQuery {
  let name = statementNames.get(text);
  if (name === undefined) {
    // The statement's verb leads its name: a trace shows `pg.query:SELECT.3`, not a bare number.
    const verb = /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
    name = statementNames.size < MAX_NAMED_STATEMENTS ? `${verb}.${statementNames.size + 1}` : null;
    statementNames.set(text, name);
  }
  return name ? { name, text, values } : { text, values };
}

/** Postgres refuses a prepared statement whose result columns changed since it was planned (0A000). */
function stalePreparedStatement(error: unknown): boolean {
  const driverError = ((error as { driverError?: unknown } | null)?.driverError ?? error) as { code?: unknown; message?: unknown } | null;
  return driverError?.code === '0A000' && typeof driverError.message === 'string' && driverError.message.includes('cached plan must not change result type');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids are uuids: anything else cannot name a row, so lookups answer "not found" without a query. */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/**
 * The unique index a failed INSERT/UPDATE ran into, if that is why it failed (Postgres 23505),
 * from a TypeORM QueryFailedError or a raw driver error.
 */
export function uniqueViolation(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const driverError = ((error as { driverError?: unknown }).driverError ?? error) as { code?: string; constraint?: string };
  return driverError.code === '23505' ? (driverError.constraint ?? 'unique') : undefined;
}

/**
 * SQLSTATEs that say the database cannot serve right now, not that the statement is wrong: a
 * connection exception (class 08), too many connections (53300), and the server shutting down,
 * crashing or starting (57P01-57P03: what a failover or restart does to open connections).
 */
const UNAVAILABLE_STATES = /^(08...|53300|57P0[123])$/;
/** The same seen from the socket or the pool: refused, reset, timed out, terminated. */
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
const UNAVAILABLE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * Whether a failed statement failed because the database is unreachable, refusing connections
 * or restarting (worth retrying in a moment: SERVICE_UNAVAILABLE) rather than because of the
 * statement or the data (a defect: INTERNAL_SERVER_ERROR). Reads TypeORM's QueryFailedError and
 * raw driver and socket errors.
 */
export function databaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const driverError = ((error as { driverError?: unknown }).driverError ?? error) as { code?: unknown; message?: unknown };
  const code = typeof driverError.code === 'string' ? driverError.code : '';
  if (UNAVAILABLE_STATES.test(code) || UNAVAILABLE_ERRNOS.has(code)) return true;
  return typeof driverError.message === 'string' && UNAVAILABLE_MESSAGES.test(driverError.message);
}
