/**
 * How the users subgraph and the gateway share session state through the store. The users
 * database is the source of truth; the store only answers "is this session still active"
 * quickly. Users writes REVOKED marks (overwriting); the gateway caches ACTIVE answers only
 * with set-if-absent, so it can never overwrite a revocation that raced with its lookup.
 */
export const SESSION_STATE = { ACTIVE: 'active', REVOKED: 'revoked' } as const;
export const sessionStateKey = (sessionId: string) => `session:${sessionId}`;
/** Revocation marks outlive any access token (max TTL 60 minutes). */
export const REVOKED_MARK_TTL_MS = 61 * 60 * 1000;
/** How long the gateway may trust a cached ACTIVE answer (a revocation overwrites it at once). */
export const ACTIVE_MARK_TTL_MS = 5 * 60 * 1000;
