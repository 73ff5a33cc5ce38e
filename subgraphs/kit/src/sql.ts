import type { EntityManager } from 'typeorm';
import { pgPool } from './db';

/**
 * Runs raw SQL on the context's unit of work and returns its rows (UPDATE/DELETE … RETURNING
 * included). Inside a transaction it runs on the transaction's connection; outside one it
 * goes straight to the pg pool (one statement needs no TypeORM query runner, which costs a
 * runner, a broadcaster and several awaits per statement on the hot reads). Errors are the
 * driver's (`uniqueViolation` reads both shapes).
 */
export async function rows<T = Record<string, unknown>>(em: EntityManager, text: string, params: unknown[] = []): Promise<T[]> {
  if (em.queryRunner) {
    const result = await em.queryRunner.query(text, params, true);
    return (result.records ?? []) as T[];
  }
  const pool = pgPool(em.connection);
  if (pool) return (await pool.query(text, params)).rows as T[];
  const runner = em.connection.createQueryRunner();
  try {
    const result = await runner.query(text, params, true);
    return (result.records ?? []) as T[];
  } finally {
    await runner.release();
  }
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
