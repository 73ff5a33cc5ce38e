import { createHash } from 'node:crypto';
import { RateLimitedError, tolerant, type KeyValueStore } from '@shop/kit';

/**
 * Failed logins per account, counted in the store: after `limit` failures within the window
 * the account refuses further attempts (RATE_LIMITED) without looking at the password, until
 * the window ends. The store is only an accelerator: while it is down there is no limit.
 */
export class LoginLimiter {
  constructor(
    private readonly options: {
      store: KeyValueStore;
      limit: number;
      windowSeconds: number;
      onStoreError: (error: unknown) => void;
    },
  ) {}

  private keys(email: string) {
    // Hashed so that the store never holds addresses.
    const id = createHash('sha256').update(email).digest('hex').slice(0, 32);
    return { failures: `users:login-failures:${id}`, lockedUntil: `users:login-locked:${id}` };
  }

  /** Throws RATE_LIMITED while the account is locked. */
  async check(email: string): Promise<void> {
    const { store, onStoreError } = this.options;
    const until = await tolerant(() => store.get(this.keys(email).lockedUntil), null, onStoreError);
    if (!until) return;
    const remainingMs = Number(until) - Date.now();
    if (remainingMs > 0)
      throw new RateLimitedError(Math.ceil(remainingMs / 1000), 'Too many failed sign-in attempts for this account; try again later');
  }

  async recordFailure(email: string): Promise<void> {
    const { store, limit, windowSeconds, onStoreError } = this.options;
    const keys = this.keys(email);
    await tolerant(
      async () => {
        const { count, resetMs } = await store.incrWindow(keys.failures, windowSeconds * 1000);
        if (count >= limit) await store.set(keys.lockedUntil, String(Date.now() + resetMs), resetMs);
      },
      undefined,
      onStoreError,
    );
  }

  /** After a successful sign-in the account's own count starts again. */
  async reset(email: string): Promise<void> {
    const { store, onStoreError } = this.options;
    await tolerant(() => store.del(this.keys(email).failures), undefined, onStoreError);
  }
}
