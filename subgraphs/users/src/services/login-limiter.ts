import { createHash } from 'node:crypto';
import { RateLimitedError, tolerant, type KeyValueStore } from '@shop/kit';

/**
 * Sign-in attempts per account, counted in the store. Each attempt is reserved (one atomic
 * INCR) before the password is checked, so parallel guesses cannot all pass a check made
 * before any of them was recorded: after `limit` attempts within the window the account
 * refuses further ones (RATE_LIMITED) without looking at the password, until the window
 * ends. A successful attempt starts the count again; a failed one stays counted. The store
 * is only an accelerator: while it is down there is no limit.
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

  private key(email: string) {
    // Hashed so that the store never holds addresses.
    const id = createHash('sha256').update(email).digest('hex').slice(0, 32);
    return `users:login-attempts:${id}`;
  }

  /** Counts one attempt for the account; throws RATE_LIMITED when it is over the limit. */
  async reserve(email: string): Promise<void> {
    const { store, limit, windowSeconds, onStoreError } = this.options;
    const counted = await tolerant(() => store.incrWindow(this.key(email), windowSeconds * 1000), null, onStoreError);
    if (counted && counted.count > limit)
      throw new RateLimitedError(
        Math.max(1, Math.ceil(counted.resetMs / 1000)),
        'Too many failed sign-in attempts for this account; try again later',
      );
  }

  /** After a successful sign-in (or password check) the account's own count starts again. */
  async reset(email: string): Promise<void> {
    const { store, onStoreError } = this.options;
    await tolerant(() => store.del(this.key(email)), undefined, onStoreError);
  }
}
