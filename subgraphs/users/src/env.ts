import { createPrivateKey } from 'node:crypto';
import { parsePublicKeys, pemFromEnv, port, type ConfigOf } from '@shop/kit';
import { z } from 'zod';
import { checkPassword, normaliseEmail } from './services/account-rules';

/** An EC P-256 private key in PEM (real newlines or "\n" escapes), as ES256 needs. */
const ecPrivateKey = z.string().superRefine((value, issue) => {
  try {
    const key = createPrivateKey(pemFromEnv(value));
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      issue.addIssue({ code: 'custom', message: 'must be an EC P-256 private key (PEM) for ES256' });
  } catch {
    issue.addIssue({ code: 'custom', message: 'is not a valid PEM private key' });
  }
});

const publicKeyMap = z.string().superRefine((value, issue) => {
  try {
    parsePublicKeys(value, 'ACCESS_TOKEN_PUBLIC_KEYS');
  } catch (error) {
    issue.addIssue({ code: 'custom', message: String((error as Error).message).replace(/^config error: \S+ /, '') });
  }
});

const optionalEmail = z
  .string()
  .optional()
  .superRefine((value, issue) => {
    if (value === undefined) return;
    try {
      normaliseEmail(value);
    } catch {
      issue.addIssue({ code: 'custom', message: 'is not a valid email address' });
    }
  });

const optionalPassword = z
  .string()
  .optional()
  .superRefine((value, issue) => {
    if (value === undefined) return;
    const problem = checkPassword(value);
    if (problem) issue.addIssue({ code: 'custom', message: problem });
  });

/**
 * Every variable the users subgraph reads beyond the common ones. In development the kit
 * fills the ACCESS_TOKEN_* keys from the generated dev keyring; elsewhere a missing signing
 * key stops the process with a line naming the variable.
 */
export const usersConfigShape = {
  PORT: port(4001),
  /** bcrypt work factor; at least 10. */
  BCRYPT_COST: z.coerce.number().int().min(10).max(16).default(12),
  /** bcrypt hashes and comparisons run at once; the rest queue. Unset: the CPUs this process may use. */
  PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * Longest estimated queue wait a sign-up or sign-in is accepted with; beyond it the request is
   * refused at once with SERVICE_UNAVAILABLE (retryable, nothing done). Keep it, plus one bcrypt,
   * under the gateway's users timeout (USERS_TIMEOUT_MS, else SUBGRAPH_TIMEOUT_MS, 5 s).
   */
  PASSWORD_HASH_MAX_WAIT_MS: z.coerce.number().int().min(0).default(3_000),
  /** PEM EC P-256 key that signs access tokens (ES256). */
  ACCESS_TOKEN_PRIVATE_KEY: ecPrivateKey,
  /** kid written into every access token's header; the gateway picks the verification key by it. */
  ACCESS_TOKEN_KID: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 . _ : -'),
  /** JSON {kid: PEM public key}: the current key and, during a rotation, the previous one. */
  ACCESS_TOKEN_PUBLIC_KEYS: publicKeyMap.optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** With ADMIN_PASSWORD: this account exists with role ADMIN after start-up. */
  ADMIN_EMAIL: optionalEmail,
  ADMIN_PASSWORD: optionalPassword,
  /** Failed logins per account allowed within the window; the next attempt is RATE_LIMITED. */
  LOGIN_FAILURE_LIMIT: z.coerce.number().int().min(1).default(10),
  LOGIN_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  /** How often revocations that could not reach the store (Redis down) are retried. */
  REVOCATION_PUBLISH_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(3_000),
};

export type UsersConfig = ConfigOf<typeof usersConfigShape>;
