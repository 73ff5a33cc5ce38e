import { createHmac } from 'node:crypto';
import {
  generateKeyPair,
  issueAccessToken,
  issueServiceToken,
  parsePublicKeys,
  publicKeysJson,
  TokenSigner,
  TokenVerifier,
  verifyAccessToken,
  type KeyPairPem,
} from '@shop/kit';
import jwt from 'jsonwebtoken';

/** Access tokens as the users subgraph issues them (kit issueAccessToken) and the gateway verifies them. */
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (token: string) => {
  const [header, payload, signature] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
    signature,
  };
};
const verifierOf = (...pairs: KeyPairPem[]) => new TokenVerifier(parsePublicKeys(publicKeysJson(pairs), 'ACCESS_TOKEN_PUBLIC_KEYS'));
const claims = { userId: '6c1f3a4e-2b8d-4c1e-9f0a-1b2c3d4e5f60', role: 'CUSTOMER' as const, sessionId: '0b5e6f1a-7c8d-4e9f-a0b1-c2d3e4f5a6b7' };

describe('access tokens', () => {
  const current = generateKeyPair('access.2');
  const previous = generateKeyPair('access.1');
  const signer = new TokenSigner(current.privateKey, current.kid);
  const verifier = verifierOf(current, previous);

  it('are ES256 JWTs with the kid, subject, role, session id and a short expiry', () => {
    const before = Date.now();
    const { token, expiresAt } = issueAccessToken(signer, claims, 900);
    const { header, payload } = parts(token);
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: 'access.2' });
    expect(payload).toMatchObject({ sub: claims.userId, role: 'CUSTOMER', sid: claims.sessionId, typ: 'access' });
    expect(expiresAt.getTime()).toBe(payload.exp * 1000);
    expect(expiresAt.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 900_000);
    expect(expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 900_000);
    expect(verifyAccessToken(verifier, token)).toEqual({ ...claims, expiresAt });
  });

  it('refuses a token whose payload was changed', () => {
    const { token } = issueAccessToken(signer, claims, 900);
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64({ ...parts(token).payload, role: 'ADMIN' })}.${signature}`;
    expect(() => verifyAccessToken(verifier, forged)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }));
  });

  it('refuses a token with a broken signature', () => {
    const { token } = issueAccessToken(signer, claims, 900);
    const flipped = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA');
    expect(() => verifyAccessToken(verifier, flipped)).toThrow(/Invalid token|Malformed/);
  });

  it('refuses alg none', () => {
    const { payload } = parts(issueAccessToken(signer, claims, 900).token);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid: current.kid })}.${b64(payload)}.`;
    expect(() => verifyAccessToken(verifier, unsigned)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }));
  });

  it('refuses HS256 signed with the public key as the HMAC secret', () => {
    const { payload } = parts(issueAccessToken(signer, claims, 900).token);
    const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: current.kid })}.${b64(payload)}`;
    const mac = createHmac('sha256', current.publicKey).update(signingInput).digest('base64url');
    expect(() => verifyAccessToken(verifier, `${signingInput}.${mac}`)).toThrow(/Invalid token/);
  });

  it('refuses an expired token', () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = jwt.sign({ sub: claims.userId, role: 'CUSTOMER', sid: claims.sessionId, typ: 'access', iat: now - 1000, exp: now - 10 }, current.privateKey, {
      algorithm: 'ES256',
      keyid: current.kid,
      issuer: 'shop-users',
    });
    expect(() => verifyAccessToken(verifier, expired)).toThrow('Token expired');
  });

  it('refuses a token with an unknown kid, and one signed by another key under a known kid', () => {
    const stranger = generateKeyPair('access.9');
    expect(() => verifyAccessToken(verifier, issueAccessToken(new TokenSigner(stranger.privateKey, stranger.kid), claims, 900).token)).toThrow(
      'Token signed with an unknown key',
    );
    const impostor = generateKeyPair(current.kid);
    expect(() => verifyAccessToken(verifier, issueAccessToken(new TokenSigner(impostor.privateKey, impostor.kid), claims, 900).token)).toThrow(
      'Invalid token',
    );
  });

  it('rotates keys: a token signed by the previous kid verifies while that kid is published, not after', () => {
    const old = issueAccessToken(new TokenSigner(previous.privateKey, previous.kid), claims, 900).token;
    const fresh = issueAccessToken(signer, claims, 900).token;
    expect(verifyAccessToken(verifierOf(current, previous), old).userId).toBe(claims.userId);
    expect(verifyAccessToken(verifierOf(current, previous), fresh).userId).toBe(claims.userId);
    const afterRotation = verifierOf(current);
    expect(verifyAccessToken(afterRotation, fresh).userId).toBe(claims.userId);
    expect(() => verifyAccessToken(afterRotation, old)).toThrow('Token signed with an unknown key');
  });

  it('does not take a service token, signed by a published key, as an access token', () => {
    const gateway = generateKeyPair('gateway.1');
    const serviceToken = issueServiceToken(new TokenSigner(gateway.privateKey, gateway.kid), 'gateway', 'users', { ...claims, role: 'ADMIN' }, 30);
    expect(() => verifyAccessToken(verifierOf(current, gateway), serviceToken)).toThrow(/Invalid/);
  });
});
