import { BadUserInputError } from '@shop/kit';

/** bcrypt reads only the first 72 bytes of a password; longer ones are refused, never truncated. */
export const PASSWORD_MAX_BYTES = 72;
export const PASSWORD_MIN_CHARS = 8;
export const NAME_MAX_CHARS = 100;
export const EMAIL_MAX_CHARS = 254;

// Pragmatic address check: one @, a dot-separated domain with a TLD, no spaces or control characters.
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}.]+(?:\.[^\s@\p{Cc}.]+)+$/u;

/** Trimmed, lower-cased and checked; BAD_USER_INPUT when it is not an email address. */
export function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length === 0) throw new BadUserInputError('email is required', { field: 'email' });
  if (email.length > EMAIL_MAX_CHARS || !EMAIL.test(email))
    throw new BadUserInputError('email is not a valid email address', { field: 'email' });
  return email;
}

/** Characters as a person counts them (code points), not UTF-16 units. */
const charCount = (value: string) => Array.from(value).length;
export const byteLength = (value: string) => Buffer.byteLength(value, 'utf8');

/** Why a password is not acceptable, or undefined when it is. */
export function checkPassword(password: string): string | undefined {
  if (charCount(password) < PASSWORD_MIN_CHARS) return `must be at least ${PASSWORD_MIN_CHARS} characters`;
  if (byteLength(password) > PASSWORD_MAX_BYTES)
    return `must be at most ${PASSWORD_MAX_BYTES} bytes (UTF-8); this one is ${byteLength(password)}`;
  return undefined;
}

export function validatePassword(password: string, field = 'password'): string {
  const problem = checkPassword(password);
  if (problem) throw new BadUserInputError(`${field} ${problem}`, { field });
  return password;
}

/**
 * A name from an input: undefined leaves it unchanged, null or blank clears it, anything else
 * is trimmed and limited to NAME_MAX_CHARS characters.
 */
export function normaliseName(raw: string | null | undefined, field: string): string | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === null) return null;
  const name = raw.trim();
  if (name.length === 0) return null;
  if (charCount(name) > NAME_MAX_CHARS)
    throw new BadUserInputError(`${field} must be at most ${NAME_MAX_CHARS} characters`, { field });
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new BadUserInputError(`${field} must not contain control characters`, { field });
  return name;
}
