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
