import type { EntityManager } from 'typeorm';

/** Runs raw SQL on the context's unit of work and returns its rows (UPDATE/DELETE … RETURNING included). */
export async function rows<T = Record<string, unknown>>(em: EntityManager, text: string, params: unknown[] = []): Promise<T[]> {
  const runner = em.queryRunner ?? em.connection.createQueryRunner();
  try {
    const result = await runner.query(text, params, true);
    return (result.records ?? []) as T[];
  } finally {
    if (!em.queryRunner) await runner.release();
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
