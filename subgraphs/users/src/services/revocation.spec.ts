import { SESSION_STATE, sessionStateKey } from '@shop/kit';
import { TestRedisServer, waitFor } from '@shop/kit/testing';
import Redis from 'ioredis';
import { CHANGE_PASSWORD, codeOf, login, LOGOUT, ME, REFRESH, register, startHarness, type UsersHarness } from '../testing/harness';

/**
 * Revocation while the store is down: the database records it at once (and answers the
 * gateway's status question), and the REVOKED mark reaches Redis once it is back.
 */
describe('revocation with a test-owned Redis that goes away', () => {
  let redis: TestRedisServer;
  let h: UsersHarness;
  let reader: Redis;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    h = await startHarness('users_revocation', { REDIS_URL: redis.url, REDIS_KEY_PREFIX: '', REVOCATION_PUBLISH_INTERVAL_MS: '200' });
    reader = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    reader.on('error', () => undefined);
  });
  afterAll(async () => {
    reader?.disconnect();
    await h?.stop();
    await redis?.stop();
  });

  const published = async (sessionId: string) =>
    (await h.service.runtime.db.dataSource.query('SELECT revoked_at, revocation_published FROM sessions WHERE id = $1', [sessionId]))[0];
  const status = async (sessionId: string) => (await h.internal('sessions/status', { sessionId })).body.data.active;

  it('logs out while Redis is down, and publishes the mark when it is back', async () => {
    const account = await register(h);
    const other = await login(h, account.email, account.password);
    await redis.stop();

    // Everything that only uses the store as an accelerator keeps working.
    const res = await h.call(LOGOUT, {}, account.identity);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ logout: true });
    const row = await published(account.sessionId);
    expect(row.revoked_at).not.toBeNull();
    expect(row.revocation_published).toBe(false);
    expect(await status(account.sessionId)).toBe(false);
    expect((await h.call(ME, {}, account.identity)).data).toEqual({ me: null });
    expect(codeOf(await h.call(REFRESH, { refreshToken: account.refreshToken }))).toBe('UNAUTHENTICATED');

    // changePassword while down: the other session ends in the database too.
    const third = await login(h, account.email, account.password);
    const changed = await h.call(
      CHANGE_PASSWORD,
      { input: { currentPassword: account.password, newPassword: 'changed while down' } },
      third.identity,
    );
    expect(changed.data).toEqual({ changePassword: true });
    expect(await status(other.sessionId)).toBe(false);
    expect(await status(third.sessionId)).toBe(true);

    await redis.start();
    await reader.connect();
    await waitFor(
      async () => (await reader.get(sessionStateKey(account.sessionId))) === SESSION_STATE.REVOKED,
      'the logout mark to reach Redis',
    );
    await waitFor(
      async () => (await reader.get(sessionStateKey(other.sessionId))) === SESSION_STATE.REVOKED,
      'the password-change mark to reach Redis',
    );
    await waitFor(async () => (await published(account.sessionId)).revocation_published === true, 'the logout to be marked published');
    await waitFor(async () => (await published(other.sessionId)).revocation_published === true, 'the change to be marked published');
    expect(await reader.get(sessionStateKey(third.sessionId))).toBeNull();
    const ttl = await reader.pttl(sessionStateKey(account.sessionId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(61 * 60 * 1000);
  });

  it('signs in and registers while Redis is down (no per-account limit then)', async () => {
    const account = await register(h);
    await redis.stop();
    try {
      for (let i = 0; i < 12; i++) {
        const res = await h.call(CHANGE_PASSWORD, { input: { currentPassword: 'nope nope', newPassword: 'whatever pw' } }, account.identity);
        expect(codeOf(res)).toBe('UNAUTHENTICATED');
      }
      await expect(login(h, account.email, account.password)).resolves.toMatchObject({ userId: account.userId });
      await expect(register(h)).resolves.toBeDefined();
    } finally {
      await redis.start();
    }
  });
});
