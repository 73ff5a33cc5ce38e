import { createPrivateKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { UnauthenticatedError } from './errors';
import { rememberExpiring } from './expiring-entries';
import { pemFromEnv } from './keys';

/** Pinned: a token of any other algorithm (none, HS256 with the public key, ...) is refused. */
export const TOKEN_ALGORITHM = 'ES256' as const;

export type Role = 'CUSTOMER' | 'ADMIN';

/** Who is calling: a signed-in user (userId, role, sessionId) or an anonymous visitor. */
export interface Identity {
  userId: string | null;
  role: Role | null;
  sessionId: string | null;
}
export const ANONYMOUS: Identity = { userId: null, role: null, sessionId: null };

export class TokenSigner {
  private readonly key: KeyObject;
  constructor(
    privateKeyPem: string,
    readonly kid: string,
  ) {
    this.key = createPrivateKey(pemFromEnv(privateKeyPem));
  }

  sign(payload: Record<string, unknown>, options: { expiresInSeconds: number; audience?: string; issuer?: string }) {
    return jwt.sign(payload, this.key, {
      algorithm: TOKEN_ALGORITHM,
      keyid: this.kid,
      expiresIn: options.expiresInSeconds,
      ...(options.audience ? { audience: options.audience } : {}),
      ...(options.issuer ? { issuer: options.issuer } : {}),
    });
  }
}

/** Verifies ES256 tokens against a keyring picked by `kid`, so keys rotate without downtime. */
export class TokenVerifier {
  constructor(private readonly keys: Map<string, KeyObject>) {}

  verify(token: string, options: { audience?: string; issuer?: string } = {}): jwt.JwtPayload & { kid: string } {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload === 'string') throw new UnauthenticatedError('Malformed token');
    const kid = decoded.header.kid;
    const key = kid ? this.keys.get(kid) : undefined;
    if (!kid || !key) throw new UnauthenticatedError('Token signed with an unknown key');
    try {
      const payload = jwt.verify(token, key, {
        algorithms: [TOKEN_ALGORITHM],
        ...(options.audience ? { audience: options.audience } : {}),
        ...(options.issuer ? { issuer: options.issuer } : {}),
      }) as jwt.JwtPayload;
      // jsonwebtoken accepts a token without exp as valid forever; ours always carry one.
      if (typeof payload.exp !== 'number') throw new UnauthenticatedError('Token without expiry');
      return { ...payload, kid };
    } catch (error) {
      if (error instanceof UnauthenticatedError) throw error;
      if (error instanceof jwt.TokenExpiredError) throw new UnauthenticatedError('Token expired');
      throw new UnauthenticatedError('Invalid token');
    }
  }
}

// ---------------------------------------------------------------- access tokens (users → clients → gateway)

export interface AccessClaims {
  userId: string;
  role: Role;
  sessionId: string;
  expiresAt: Date;
}

export const ACCESS_TOKEN_ISSUER = 'shop-users';

export function issueAccessToken(
  signer: TokenSigner,
  claims: { userId: string; role: Role; sessionId: string },
  ttlSeconds: number,
): { token: string; expiresAt: Date } {
  const token = signer.sign(
    { sub: claims.userId, role: claims.role, sid: claims.sessionId, typ: 'access' },
    { expiresInSeconds: ttlSeconds, issuer: ACCESS_TOKEN_ISSUER },
  );
  const { exp } = jwt.decode(token) as jwt.JwtPayload;
  return { token, expiresAt: new Date((exp as number) * 1000) };
}

export function verifyAccessToken(verifier: TokenVerifier, token: string): AccessClaims {
  const payload = verifier.verify(token, { issuer: ACCESS_TOKEN_ISSUER });
  if (payload.typ !== 'access' || typeof payload.sub !== 'string' || typeof payload.sid !== 'string')
    throw new UnauthenticatedError('Invalid access token');
  if (payload.role !== 'CUSTOMER' && payload.role !== 'ADMIN') throw new UnauthenticatedError('Invalid access token');
  return { userId: payload.sub, role: payload.role, sessionId: payload.sid, expiresAt: new Date(payload.exp! * 1000) };
}

// ---------------------------------------------------------------- service tokens (gateway/services → subgraphs)

/**
 * A service token says "service <iss> calls service <aud> on behalf of <identity>". It lives
 * seconds, is bound to one audience, and its kid must belong to its issuer: the key of the
 * orders service cannot mint a token that claims to come from the gateway.
 */
export interface ServiceCall {
  caller: string;
  identity: Identity;
}

export function issueServiceToken(
  signer: TokenSigner,
  caller: string,
  audience: string,
  identity: Identity,
  ttlSeconds: number,
): string {
  return signer.sign(
    { sub: identity.userId ?? undefined, role: identity.role ?? undefined, sid: identity.sessionId ?? undefined, typ: 'service' },
    { expiresInSeconds: ttlSeconds, audience, issuer: caller },
  );
}

/**
 * Mints the service tokens one caller sends to one audience, and reuses each (per identity:
 * userId|role|sessionId) until half its life has passed: the same claims, audience and expiry
 * as a freshly minted one, never extended. Signing is then rare, and the callee's
 * ServiceTokenVerifier checks each signature once instead of on every call. Bounded, and holds
 * only identities whose token is still reusable (rememberExpiring).
 */
export class ServiceTokenMinter {
  static readonly MAX_REMEMBERED = 10_000;
  private readonly tokens = new Map<string, { token: string; reuseUntil: number }>();

  constructor(
    private readonly signer: TokenSigner,
    private readonly caller: string,
    private readonly audience: string,
    private readonly ttlSeconds: number,
  ) {}

  tokenFor(identity: Identity): string {
    const key = `${identity.userId ?? ''}|${identity.role ?? ''}|${identity.sessionId ?? ''}`;
    const now = Date.now();
    const cached = this.tokens.get(key);
    if (cached && now < cached.reuseUntil) return cached.token;
    if (cached) this.tokens.delete(key);
    const token = issueServiceToken(this.signer, this.caller, this.audience, identity, this.ttlSeconds);
    // jsonwebtoken's exp is whole seconds from the signing second: reuse within half the TTL,
    // counted from before signing, so a reused token always has at least half its life left.
    rememberExpiring(this.tokens, key, { token, reuseUntil: now + (this.ttlSeconds * 1000) / 2 - 1000 }, ServiceTokenMinter.MAX_REMEMBERED, (entry) => entry.reuseUntil <= now);
    return token;
  }

  /** How many identities have a token remembered (for tests of the bound). */
  get size(): number {
    return this.tokens.size;
  }
}

export function verifyServiceToken(verifier: TokenVerifier, token: string, audience: string): ServiceCall {
  return verifiedServiceCall(verifier, token, audience).call;
}

function verifiedServiceCall(verifier: TokenVerifier, token: string, audience: string): { call: ServiceCall; expiresAtMs: number } {
  const payload = verifier.verify(token, { audience });
  const caller = payload.iss;
  if (payload.typ !== 'service' || typeof caller !== 'string' || !payload.kid.startsWith(`${caller}.`))
    throw new UnauthenticatedError('Invalid service token');
  // Tokens are always minted with an exp (issueServiceToken); one without is never remembered.
  if (typeof payload.exp !== 'number') throw new UnauthenticatedError('Invalid service token');
  const role = payload.role === 'ADMIN' || payload.role === 'CUSTOMER' ? payload.role : null;
  return {
    call: {
      caller,
      identity: {
        userId: typeof payload.sub === 'string' ? payload.sub : null,
        role: typeof payload.sub === 'string' ? role : null,
        sessionId: typeof payload.sid === 'string' ? payload.sid : null,
      },
    },
    expiresAtMs: payload.exp * 1000,
  };
}

/**
 * Service tokens this service has verified, remembered per token string until they expire.
 * The gateway (and a service calling another) reuses a token per identity for half its
 * life, so the ES256 signature check is done once per token instead of on every request;
 * expiry is still checked on every use (the same instant jsonwebtoken would refuse it), the
 * audience is fixed (this service's name) and a token that failed verification is never
 * remembered. Bounded, and holds only tokens still alive (rememberExpiring).
 */
export class ServiceTokenVerifier {
  private readonly verified = new Map<string, { call: ServiceCall; expiresAtMs: number }>();

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly audience: string,
    private readonly options: { maxRemembered?: number; now?: () => number } = {},
  ) {}

  verify(token: string): ServiceCall {
    const remembered = this.verified.get(token);
    if (remembered) {
      if ((this.options.now ?? Date.now)() < remembered.expiresAtMs) return remembered.call;
      this.verified.delete(token);
      throw new UnauthenticatedError('Token expired');
    }
    const entry = verifiedServiceCall(this.verifier, token, this.audience);
    const now = (this.options.now ?? Date.now)();
    rememberExpiring(this.verified, token, entry, this.options.maxRemembered ?? 10_000, (old) => old.expiresAtMs <= now);
    return entry.call;
  }

  /** How many tokens are remembered (for tests of the bound). */
  get size(): number {
    return this.verified.size;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}
