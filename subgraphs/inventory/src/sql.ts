import type { EntityManager } from 'typeorm';

/** Runs raw SQL on the context's unit of work and returns its rows (UPDATE/DELETE included). */
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
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** The unique index a failed INSERT/UPDATE ran into, if that is why it failed. */
export function uniqueViolation(error: unknown): string | undefined {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } }).driverError;
  return driverError?.code === '23505' ? (driverError.constraint ?? 'unique') : undefined;
}
