import { BadUserInputError } from '@shop/kit';

/** Input rules of the catalog, in one place (messages say how to fix the request). */
export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_PRICE = 2_147_483_647;

export function sku(value: string): string {
  const trimmed = value.trim();
  if (!SKU_PATTERN.test(trimmed))
    throw new BadUserInputError('sku must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit', {
      field: 'sku',
    });
  return trimmed;
}

export function slug(value: string, field = 'slug'): string {
  const trimmed = value.trim();
  if (trimmed.length > 120 || !SLUG_PATTERN.test(trimmed))
    throw new BadUserInputError(`${field} must be lower-case letters and digits separated by single "-" (at most 120 characters)`, {
      field,
    });
  return trimmed;
}

export function name(value: string, field = 'name', max = 200): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new BadUserInputError(`${field} must not be empty`, { field });
  if (trimmed.length > max) throw new BadUserInputError(`${field} must be at most ${max} characters`, { field });
  return trimmed;
}

export function description(value: string): string {
  if (value.length > 10_000) throw new BadUserInputError('description must be at most 10000 characters', { field: 'description' });
  return value.trim();
}

export function price(value: { amount: number; currency: string }, currency: string): number {
  if (!Number.isInteger(value.amount) || value.amount < 0 || value.amount > MAX_PRICE)
    throw new BadUserInputError('price.amount must be a non-negative integer in minor units (cents)', { field: 'price.amount' });
  if (value.currency !== currency)
    throw new BadUserInputError(`price.currency must be ${currency}: the platform sells in one currency`, { field: 'price.currency' });
  return value.amount;
}

export function imageUrl(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const trimmed = value.trim();
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(trimmed).protocol) && trimmed.length <= 2048;
  } catch {
    ok = false;
  }
  if (!ok) throw new BadUserInputError('imageUrl must be an http(s) URL of at most 2048 characters', { field: 'imageUrl' });
  return trimmed;
}

export function priceBound(value: number | null | undefined, field: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) throw new BadUserInputError(`${field} must be a non-negative integer`, { field });
  return value;
}
