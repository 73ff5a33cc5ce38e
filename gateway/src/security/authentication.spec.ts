import {
  ACCESS_TOKEN_ISSUER,
  createLogger,
  createMetrics,
  issueAccessToken,
  parsePublicKeys,
  RedisStore,
  ServiceClient,
  SESSION_STATE,
  sessionStateKey,
  TokenSigner,
  TokenVerifier,
} from '@shop/kit';
import { createTestKeys, TEST_REDIS_URL, uniqueRedisPrefix } from '@shop/kit/testing';
import jwt from 'jsonwebtoken';
import { Registry } from 'prom-client';
import { Authenticator } from './authentication';

describe('Authenticator: verified claims cached per token, session checked on every request (real Redis)', () => {
  const keys = createTestKeys();
  const accessSigner = new TokenSigner(keys.access.privateKey, keys.access.kid);
  const gatewaySigner = new TokenSigner(keys.services.gateway.privateKey, keys.services.gateway.kid);
  let store: RedisStore;
  let authenticator: Authenticator;

  const newAuthenticator = () =>
    new Authenticator({
      verifier: new TokenVerifier(parsePublicKeys(keys.envFor('gateway').ACCESS_TOKEN_PUBLIC_KEYS, 'keys')),
      store,
      // Nothing listens here: every session state in these tests is in the store.
      users: new ServiceClient({
        caller: 'gateway',
        target: 'users',
        baseUrl: 'http://127.0.0.1:9',
        signer: gatewaySigner,
        tokenTtlSeconds: 30,
        timeoutMs: 500,
      }),
      logger: createLogger('gateway-test', 'silent'),
      metrics: createMetrics('gateway-test', new Registry()),
    });
  beforeAll(() => {
    store = new RedisStore(TEST_REDIS_URL, { keyPrefix: uniqueRedisPrefix('gwauth') });
    authenticator = newAuthenticator();
  });
  afterAll(() => store.close());
  afterEach(() => jest.restoreAllMocks());

  const session = (n: string) => `s-${process.pid}-${Date.now()}-${n}`;

  it('refuses a revoked session on the next request although its claims are cached', async () => {
    const sessionId = session('revoke');
    const { token } = issueAccessToken(accessSigner, { userId: 'u-1', role: 'CUSTOMER', sessionId }, 600);
    await store.set(sessionStateKey(sessionId), SESSION_STATE.ACTIVE, 60_000);
    expect(await authenticator.identify(`Bearer ${token}`)).toEqual({ userId: 'u-1', role: 'CUSTOMER', sessionId });
    expect(await authenticator.identify(`Bearer ${token}`)).toEqual({ userId: 'u-1', role: 'CUSTOMER', sessionId });
    await store.set(sessionStateKey(sessionId), SESSION_STATE.REVOKED, 60_000);
    await expect(authenticator.identify(`Bearer ${token}`)).rejects.toThrow(/session has ended/);
  });

  it('refuses a cached token once it has expired', async () => {
    const sessionId = session('expire');
    const { token, expiresAt } = issueAccessToken(accessSigner, { userId: 'u-2', role: 'ADMIN', sessionId }, 60);
    await store.set(sessionStateKey(sessionId), SESSION_STATE.ACTIVE, 60_000);
    expect((await authenticator.identify(`Bearer ${token}`)).role).toBe('ADMIN');
    jest.spyOn(Date, 'now').mockReturnValue(expiresAt.getTime());
    await expect(authenticator.identify(`Bearer ${token}`)).rejects.toThrow(/expired/);
    jest.restoreAllMocks();
    // and a forged or tampered token is never taken from the cache
    const tampered = `${token.slice(0, -4)}AAAA`;
    await expect(authenticator.identify(`Bearer ${tampered}`)).rejects.toThrow(/Invalid token/);
  });

  it('forgets the verified tokens that have expired when it remembers a new one', () => {
    const fresh = newAuthenticator();
    for (const n of ['1', '2', '3'])
      fresh.claims(issueAccessToken(accessSigner, { userId: `u-${n}`, role: 'CUSTOMER', sessionId: session(n) }, 60).token);
    expect(fresh.cachedTokens).toBe(3);
    const later = Date.now() + 61_000;
    jest.spyOn(Date, 'now').mockReturnValue(later);
    fresh.claims(issueAccessToken(accessSigner, { userId: 'u-4', role: 'CUSTOMER', sessionId: session('4') }, 600).token);
    expect(fresh.cachedTokens).toBe(1);
  });

  it('refuses a token without an expiry (exp), even signed by a current key for an active session', async () => {
    const sessionId = session('no-exp');
    await store.set(sessionStateKey(sessionId), SESSION_STATE.ACTIVE, 60_000);
    const forever = jwt.sign({ sub: 'u-3', role: 'ADMIN', sid: sessionId, typ: 'access' }, keys.access.privateKey, {
      algorithm: 'ES256',
      keyid: keys.access.kid,
      issuer: ACCESS_TOKEN_ISSUER,
    });
    await expect(authenticator.identify(`Bearer ${forever}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('gives each token its own identity', async () => {
    const [s1, s2] = [session('a'), session('b')];
    const a = issueAccessToken(accessSigner, { userId: 'u-a', role: 'CUSTOMER', sessionId: s1 }, 600).token;
    const b = issueAccessToken(accessSigner, { userId: 'u-b', role: 'CUSTOMER', sessionId: s2 }, 600).token;
    await store.set(sessionStateKey(s1), SESSION_STATE.ACTIVE, 60_000);
    await store.set(sessionStateKey(s2), SESSION_STATE.ACTIVE, 60_000);
    for (let i = 0; i < 2; i += 1) {
      expect((await authenticator.identify(`Bearer ${a}`)).userId).toBe('u-a');
      expect((await authenticator.identify(`Bearer ${b}`)).userId).toBe('u-b');
    }
  });
});
