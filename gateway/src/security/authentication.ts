import {
  ACTIVE_MARK_TTL_MS,
  ANONYMOUS,
  bearerToken,
  rememberExpiring,
  REVOKED_MARK_TTL_MS,
  SESSION_STATE,
  sessionStateKey,
  UnauthenticatedError,
  verifyAccessToken,
  type Identity,
  type KeyValueStore,
  type Logger,
  type ServiceClient,
  type ServiceMetrics,
  type AccessClaims,
  type TokenVerifier,
} from '@shop/kit';

/**
 * Turns the Authorization header into an identity. No header: anonymous. A header that is
 * not a valid, unexpired, unrevoked access token fails the request (never anonymous).
 *
 * Revocation: the users database is the source of truth. The store answers quickly
 * ("session:<sid>" = active | revoked); on a miss, or while the store is down, the gateway
 * asks the users service, so logout holds from the next request on even without Redis.
 */
export class Authenticator {
  /**
   * Verified claims per access-token string, until the token's exp: the signature check is
   * done once per token, expiry is checked on every use, and the session state still is.
   * Bounded, and holds only tokens still alive (rememberExpiring).
   */
  private readonly verified = new Map<string, AccessClaims>();
  static readonly MAX_CACHED_TOKENS = 10_000;

  constructor(
    private readonly deps: {
      verifier: TokenVerifier;
      store: KeyValueStore;
      users: ServiceClient;
      logger: Logger;
      metrics: ServiceMetrics;
    },
  ) {}

  async identify(authorization: string | undefined): Promise<Identity> {
    if (authorization === undefined || authorization.trim() === '') return ANONYMOUS;
    const token = bearerToken(authorization);
    if (!token) throw new UnauthenticatedError('Authorization header must be "Bearer <access token>"');
    const claims = this.claims(token);
    if (!(await this.sessionActive(claims.sessionId)))
      throw new UnauthenticatedError('This session has ended; sign in again');
    return { userId: claims.userId, role: claims.role, sessionId: claims.sessionId };
  }

  /** The token's verified claims (cached until its exp); throws UnauthenticatedError like verifyAccessToken. */
  claims(token: string): AccessClaims {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt.getTime() > Date.now()) return cached;
      this.verified.delete(token);
      throw new UnauthenticatedError('Token expired');
    }
    const claims = verifyAccessToken(this.deps.verifier, token);
    const now = Date.now();
    rememberExpiring(this.verified, token, claims, Authenticator.MAX_CACHED_TOKENS, (old) => old.expiresAt.getTime() <= now);
    return claims;
  }

  /** How many verified tokens are remembered (for tests of the bound). */
  get cachedTokens(): number {
    return this.verified.size;
  }

  /** Whether the session is active: the store's answer, else the users service's. */
  async sessionActive(sessionId: string): Promise<boolean> {
    const { store, users, logger, metrics } = this.deps;
    const key = sessionStateKey(sessionId);
    let cached: string | null = null;
    let storeUp = true;
    try {
      cached = await store.get(key);
    } catch {
      storeUp = false;
      metrics.storeErrors.inc({ operation: 'session_lookup' });
    }
    if (cached === SESSION_STATE.REVOKED) return false;
    if (cached === SESSION_STATE.ACTIVE) return true;
    const { active } = await users.call<{ active: boolean }>('sessions/status', { sessionId });
    if (storeUp) {
      const write = active
        ? store.setIfAbsent(key, SESSION_STATE.ACTIVE, ACTIVE_MARK_TTL_MS)
        : store.set(key, SESSION_STATE.REVOKED, REVOKED_MARK_TTL_MS);
      await write.catch((error: unknown) => {
        metrics.storeErrors.inc({ operation: 'session_cache' });
        logger.debug({ err: String(error) }, 'could not cache session state');
      });
    }
    return active;
  }
}
