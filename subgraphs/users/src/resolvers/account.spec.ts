import { ANONYMOUS } from '@shop/kit';
import { waitFor } from '@shop/kit/testing';
import {
  CHANGE_PASSWORD,
  codeOf,
  LOGIN,
  login,
  LOGOUT,
  ME,
  REFRESH,
  register,
  REGISTER,
  startHarness,
  uniqueEmail,
  UPDATE_PROFILE,
  type UsersHarness,
} from '../testing/harness';

let h: UsersHarness;

beforeAll(async () => {
  h = await startHarness('users_account', { LOGIN_FAILURE_LIMIT: '3', ACCESS_TOKEN_TTL_SECONDS: '600' });
});
afterAll(async () => {
  await h?.stop();
});

describe('register', () => {
  it('creates a customer, returns tokens and the user with their own email', async () => {
    const email = uniqueEmail('Reg');
    const before = Date.now();
    const res = await h.call(REGISTER, {
      input: { email: `  ${email.toUpperCase()} `, password: 'a good password', firstName: '  Ada ', lastName: 'Lovelace' },
    });
    expect(res.errors).toBeUndefined();
    const auth = res.data!.register;
    expect(auth.user).toMatchObject({ email: email.toLowerCase(), firstName: 'Ada', lastName: 'Lovelace', role: 'CUSTOMER' });
    expect(auth.user.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(auth.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const expiresAt = Date.parse(auth.expiresAt);
    expect(expiresAt).toBeGreaterThan(before + 590_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 601_000);
    const header = JSON.parse(Buffer.from(auth.accessToken.split('.')[0], 'base64url').toString());
    expect(header).toMatchObject({ alg: 'ES256', kid: h.keys.access.kid });

    const [{ password_hash }] = await h.service.runtime.db.dataSource.query('SELECT password_hash FROM users WHERE id = $1', [
      auth.user.id,
    ]);
    expect(password_hash).toMatch(/^\$2[aby]\$10\$/);
    expect(password_hash).not.toContain('a good password');
  });

  it('refuses an email already registered with another password, whatever its case, with CONFLICT', async () => {
    const email = uniqueEmail('dup');
    await register(h, email);
    const res = await h.call(REGISTER, { input: { email: ` ${email.toUpperCase()}`, password: 'another password' } });
    expect(codeOf(res)).toBe('CONFLICT');
    expect(res.data).toBeNull();
  });

  it('answers a retried registration (same email, same password) as the registration: signed in, same account', async () => {
    const email = uniqueEmail('retry');
    const input = { email, password: 'retried password', firstName: 'Retry' };
    const first = await h.call(REGISTER, { input });
    const again = await h.call(REGISTER, { input: { ...input, email: email.toUpperCase() } });
    expect(again.errors).toBeUndefined();
    expect(again.data!.register.user).toEqual(first.data!.register.user);
    // a session of its own, usable like the first
    expect(again.data!.register.refreshToken).not.toBe(first.data!.register.refreshToken);
    const [{ n }] = await h.service.runtime.db.dataSource.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [email]);
    expect(n).toBe(1);
  });

  // Each registration that finds the email taken is a sign-in attempt for that account: this
  // harness allows 3 at a time, so the races stay within it.
  it('gives exactly one account to concurrent registrations of one email; the same password signs each in', async () => {
    const email = uniqueEmail('race');
    const same = await Promise.all(
      Array.from({ length: 3 }, () => h.call(REGISTER, { input: { email, password: 'racing password' } })),
    );
    expect(same.map((r) => codeOf(r))).toEqual(Array(3).fill(undefined));
    expect(new Set(same.map((r) => r.data!.register.user.id)).size).toBe(1);
    const other = uniqueEmail('race');
    const different = await Promise.all(
      Array.from({ length: 3 }, (_, i) => h.call(REGISTER, { input: { email: other, password: `racing password ${i}` } })),
    );
    expect(different.filter((r) => r.data?.register).length).toBe(1);
    expect(different.filter((r) => codeOf(r) === 'CONFLICT').length).toBe(2);
  });

  it.each([
    ['a malformed email', { email: 'not-an-email', password: 'long enough pw' }, /email/],
    ['an empty email', { email: '   ', password: 'long enough pw' }, /email/],
    ['a password under 8 characters', { email: uniqueEmail(), password: 'short12' }, /at least 8/],
    ['a password over 72 bytes', { email: uniqueEmail(), password: 'x'.repeat(73) }, /72 bytes/],
    ['a multibyte password over 72 bytes', { email: uniqueEmail(), password: 'é'.repeat(37) }, /72 bytes/],
    ['a first name over 100 characters', { email: uniqueEmail(), password: 'long enough pw', firstName: 'n'.repeat(101) }, /firstName/],
  ])('refuses %s with BAD_USER_INPUT', async (_label, input, message) => {
    const res = await h.call(REGISTER, { input });
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).toMatch(message);
  });

  it('accepts a password of exactly 72 bytes', async () => {
    const res = await h.call(REGISTER, { input: { email: uniqueEmail(), password: 'é'.repeat(36) } });
    expect(res.errors).toBeUndefined();
  });
});

describe('login', () => {
  it('signs in with the email in any case and returns a fresh session', async () => {
    const account = await register(h);
    const res = await h.call(LOGIN, { input: { email: account.email.toUpperCase(), password: account.password } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.login.user).toEqual({ id: account.userId, email: account.email, role: 'CUSTOMER' });
    const session = await login(h, account.email, account.password);
    expect(session.sessionId).not.toBe(account.sessionId);
  });

  it('gives the same UNAUTHENTICATED error for an unknown email and a wrong password', async () => {
    const account = await register(h);
    const unknown = await h.call(LOGIN, { input: { email: uniqueEmail('nobody'), password: account.password } });
    const wrong = await h.call(LOGIN, { input: { email: account.email, password: 'wrong password!' } });
    expect(codeOf(unknown)).toBe('UNAUTHENTICATED');
    expect(wrong.errors).toEqual(unknown.errors);
    expect(wrong.errors![0].message).toBe('invalid email or password');
  });

  it('refuses a password over 72 bytes even when its first 72 bytes are right', async () => {
    const password = 'p'.repeat(72);
    const account = await register(h, uniqueEmail(), password);
    const res = await h.call(LOGIN, { input: { email: account.email, password: `${password}extra` } });
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
  });

  it('limits failed logins per account: RATE_LIMITED after the limit, even with the right password', async () => {
    const account = await register(h);
    for (let i = 0; i < 3; i++) {
      const res = await h.call(LOGIN, { input: { email: account.email, password: `wrong ${i} password` } });
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
    }
    const limited = await h.call(LOGIN, { input: { email: account.email, password: account.password } });
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(limited.errors![0].extensions!.retryAfter).toBeGreaterThan(0);
    // Another account is not affected.
    const other = await register(h);
    await expect(login(h, other.email, other.password)).resolves.toMatchObject({ userId: other.userId });
  });

  it('reserves each attempt before checking the password: of 10 parallel guesses only 3 are checked', async () => {
    const account = await register(h);
    const guesses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.call(LOGIN, { input: { email: account.email, password: `guess ${i} password` } })),
    );
    const codes = guesses.map(codeOf).sort();
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(3);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(7);
  });

  it('limits unknown emails too, so guessing cannot tell them apart', async () => {
    const email = uniqueEmail('ghost');
    for (let i = 0; i < 3; i++) {
      expect(codeOf(await h.call(LOGIN, { input: { email, password: 'whatever pw' } }))).toBe('UNAUTHENTICATED');
    }
    expect(codeOf(await h.call(LOGIN, { input: { email, password: 'whatever pw' } }))).toBe('RATE_LIMITED');
  });
});

describe('me', () => {
  it('is null for anonymous callers', async () => {
    const res = await h.call(ME, {}, ANONYMOUS);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ me: null });
  });

  it('returns the signed-in user', async () => {
    const account = await register(h);
    const res = await h.call(ME, {}, account.identity);
    expect(res.data!.me).toMatchObject({ id: account.userId, email: account.email, role: 'CUSTOMER', firstName: null });
  });

  it('is null for a session that has ended', async () => {
    const account = await register(h);
    await h.call(LOGOUT, {}, account.identity);
    expect((await h.call(ME, {}, account.identity)).data).toEqual({ me: null });
  });
});

describe('refreshSession', () => {
  it('rotates: returns a new pair and the old refresh token stops working', async () => {
    const account = await register(h);
    const first = await h.call(REFRESH, { refreshToken: account.refreshToken });
    expect(first.errors).toBeUndefined();
    const next = first.data!.refreshSession;
    expect(next.refreshToken).not.toBe(account.refreshToken);
    expect(next.user.id).toBe(account.userId);
    const second = await h.call(REFRESH, { refreshToken: next.refreshToken });
    expect(second.errors).toBeUndefined();
    expect(second.data!.refreshSession.refreshToken).not.toBe(next.refreshToken);
  });

  it('ends the whole session when a used refresh token is presented again', async () => {
    const account = await register(h);
    const rotated = (await h.call(REFRESH, { refreshToken: account.refreshToken })).data!.refreshSession;
    const reuse = await h.call(REFRESH, { refreshToken: account.refreshToken });
    expect(codeOf(reuse)).toBe('UNAUTHENTICATED');
    // The token handed out by the rotation dies with the session.
    expect(codeOf(await h.call(REFRESH, { refreshToken: rotated.refreshToken }))).toBe('UNAUTHENTICATED');
    expect((await h.internal('sessions/status', { sessionId: account.sessionId })).body).toEqual({ data: { active: false } });
    expect(await h.service.runtime.store.get(`session:${account.sessionId}`)).toBe('revoked');
  });

  it('lets exactly one of concurrent uses of one refresh token win', async () => {
    const account = await register(h);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => h.call(REFRESH, { refreshToken: account.refreshToken })),
    );
    const winners = results.filter((r) => r.data?.refreshSession);
    expect(winners.length).toBe(1);
    expect(results.filter((r) => codeOf(r) === 'UNAUTHENTICATED').length).toBe(5);
    // The losers presented a token that had been used: reuse detection ends the session,
    // so the winner's new refresh token is refused as well.
    const winnerToken = (winners[0].data as { refreshSession: { refreshToken: string } }).refreshSession.refreshToken;
    expect(codeOf(await h.call(REFRESH, { refreshToken: winnerToken }))).toBe('UNAUTHENTICATED');
  });

  it('refuses unknown and expired refresh tokens with UNAUTHENTICATED', async () => {
    expect(codeOf(await h.call(REFRESH, { refreshToken: 'not-a-token-we-issued' }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await h.call(REFRESH, { refreshToken: '' }))).toBe('UNAUTHENTICATED');
    const account = await register(h);
    await h.service.runtime.db.dataSource.query(
      `UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1`,
      [account.sessionId],
    );
    expect(codeOf(await h.call(REFRESH, { refreshToken: account.refreshToken }))).toBe('UNAUTHENTICATED');
  });

  it('refuses the refresh token of a logged-out session', async () => {
    const account = await register(h);
    await h.call(LOGOUT, {}, account.identity);
    expect(codeOf(await h.call(REFRESH, { refreshToken: account.refreshToken }))).toBe('UNAUTHENTICATED');
  });
});

describe('logout', () => {
  it('ends the calling session at once: status inactive, REVOKED mark in the store, other sessions kept', async () => {
    const account = await register(h);
    const other = await login(h, account.email, account.password);
    const res = await h.call(LOGOUT, {}, account.identity);
    expect(res.data).toEqual({ logout: true });
    expect((await h.internal('sessions/status', { sessionId: account.sessionId })).body).toEqual({ data: { active: false } });
    expect(await h.service.runtime.store.get(`session:${account.sessionId}`)).toBe('revoked');
    expect((await h.internal('sessions/status', { sessionId: other.sessionId })).body).toEqual({ data: { active: true } });
    const [{ revocation_published }] = await h.service.runtime.db.dataSource.query(
      'SELECT revocation_published FROM sessions WHERE id = $1',
      [account.sessionId],
    );
    expect(revocation_published).toBe(true);
  });

  it('needs a signed-in caller', async () => {
    expect(codeOf(await h.call(LOGOUT))).toBe('UNAUTHENTICATED');
  });

  it('only ends a session of the calling user', async () => {
    const [alice, bob] = await Promise.all([register(h), register(h)]);
    await h.call(LOGOUT, {}, { ...alice.identity, sessionId: bob.sessionId });
    expect((await h.internal('sessions/status', { sessionId: bob.sessionId })).body).toEqual({ data: { active: true } });
  });
});

describe('updateProfile', () => {
  it('trims and saves names; omitted fields stay, blank clears', async () => {
    const account = await register(h);
    const first = await h.call(UPDATE_PROFILE, { input: { firstName: '  Grace ', lastName: 'Hopper ' } }, account.identity);
    expect(first.data!.updateProfile).toEqual({ id: account.userId, firstName: 'Grace', lastName: 'Hopper' });
    const second = await h.call(UPDATE_PROFILE, { input: { lastName: '  ' } }, account.identity);
    expect(second.data!.updateProfile).toEqual({ id: account.userId, firstName: 'Grace', lastName: null });
    const me = await h.call(ME, {}, account.identity);
    expect(me.data!.me).toMatchObject({ firstName: 'Grace', lastName: null });
  });

  it('refuses names over 100 characters with BAD_USER_INPUT', async () => {
    const account = await register(h);
    const res = await h.call(UPDATE_PROFILE, { input: { lastName: 'ü'.repeat(101) } }, account.identity);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    const ok = await h.call(UPDATE_PROFILE, { input: { lastName: 'ü'.repeat(100) } }, account.identity);
    expect(ok.errors).toBeUndefined();
  });

  it('is UNAUTHENTICATED for anonymous callers and ended sessions', async () => {
    expect(codeOf(await h.call(UPDATE_PROFILE, { input: { firstName: 'X' } }))).toBe('UNAUTHENTICATED');
    const account = await register(h);
    await h.call(LOGOUT, {}, account.identity);
    expect(codeOf(await h.call(UPDATE_PROFILE, { input: { firstName: 'X' } }, account.identity))).toBe('UNAUTHENTICATED');
  });
});

describe('changePassword', () => {
  it('refuses a wrong current password with UNAUTHENTICATED and changes nothing', async () => {
    const account = await register(h);
    const res = await h.call(
      CHANGE_PASSWORD,
      { input: { currentPassword: 'not my password', newPassword: 'brand new password' } },
      account.identity,
    );
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
    await expect(login(h, account.email, account.password)).resolves.toBeDefined();
  });

  it('validates the new password', async () => {
    const account = await register(h);
    for (const newPassword of ['short', 'ß'.repeat(40)]) {
      const res = await h.call(CHANGE_PASSWORD, { input: { currentPassword: account.password, newPassword } }, account.identity);
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
    }
  });

  it('keeps the calling session, ends every other one, and the new password works', async () => {
    const account = await register(h);
    const phone = await login(h, account.email, account.password);
    const tablet = await login(h, account.email, account.password);
    const res = await h.call(
      CHANGE_PASSWORD,
      { input: { currentPassword: account.password, newPassword: 'the new password' } },
      account.identity,
    );
    expect(res.data).toEqual({ changePassword: true });

    const status = async (sessionId: string) => (await h.internal('sessions/status', { sessionId })).body.data.active;
    expect(await status(account.sessionId)).toBe(true);
    expect(await status(phone.sessionId)).toBe(false);
    expect(await status(tablet.sessionId)).toBe(false);
    expect(await h.service.runtime.store.get(`session:${phone.sessionId}`)).toBe('revoked');
    expect(codeOf(await h.call(REFRESH, { refreshToken: phone.refreshToken }))).toBe('UNAUTHENTICATED');
    expect((await h.call(REFRESH, { refreshToken: account.refreshToken })).errors).toBeUndefined();
    expect((await h.call(ME, {}, phone.identity)).data).toEqual({ me: null });

    expect(codeOf(await h.call(LOGIN, { input: { email: account.email, password: account.password } }))).toBe('UNAUTHENTICATED');
    await expect(login(h, account.email, 'the new password')).resolves.toBeDefined();
  });
});

describe('metrics', () => {
  it('counts registrations, logins, refreshes and revocations', async () => {
    const text = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(text).toMatch(/users_registrations_total\{[^}]*\} [1-9]/);
    expect(text).toMatch(/users_logins_total\{[^}]*outcome="success"[^}]*\} [1-9]/);
    expect(text).toMatch(/users_logins_total\{[^}]*outcome="invalid_credentials"[^}]*\} [1-9]/);
    expect(text).toMatch(/users_logins_total\{[^}]*outcome="rate_limited"[^}]*\} [1-9]/);
    expect(text).toMatch(/users_session_refreshes_total\{[^}]*outcome="reused"[^}]*\} [1-9]/);
    expect(text).toMatch(/users_session_revocations_total\{[^}]*reason="logout"[^}]*\} [1-9]/);
  });
});

describe('a burst of registrations larger than bcrypt can serve in time', () => {
  let burst: UsersHarness;
  beforeAll(async () => {
    // One bcrypt at a time and a short acceptable wait, so a burst of 20 overflows on any machine.
    burst = await startHarness('users_burst', { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_MAX_WAIT_MS: '300' });
  });
  afterAll(async () => {
    await burst?.stop();
  });
  const accounts = async (emails: string[]) =>
    (await burst.service.runtime.db.dataSource.query('SELECT email FROM users WHERE email = ANY($1)', [emails])).map(
      (row: { email: string }) => row.email,
    );

  it('serves what fits, refuses the rest at once as retryable with nothing created, and every retry then succeeds', async () => {
    const emails = Array.from({ length: 20 }, () => uniqueEmail('burst'));
    const registerAs = (email: string) => burst.call(REGISTER, { input: { email, password: 'burst password' } });
    const first = await Promise.all(emails.map(registerAs));

    const served = emails.filter((_, i) => first[i].data?.register);
    const refused = first.filter((r) => !r.data?.register);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused)
      expect(r.errors).toEqual([
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE', retryable: true, retryAfter: expect.any(Number) }),
        }),
      ]);
    // a refusal happened before anything was done: exactly the served ones exist
    expect((await accounts(emails)).sort()).toEqual([...served].sort());

    // the storefront retries each refused one (same email, same password) until it is served
    for (const email of emails.filter((e) => !served.includes(e))) {
      let outcome: Awaited<ReturnType<typeof registerAs>> | undefined;
      await waitFor(async () => {
        outcome = await registerAs(email);
        return codeOf(outcome) !== 'SERVICE_UNAVAILABLE';
      }, `registration of ${email}`);
      expect(outcome!.errors).toBeUndefined();
    }
    // and a retry of one that was served all along (its answer lost, say) signs in, never CONFLICT
    expect((await registerAs(served[0])).data?.register.user.email).toBe(served[0]);
    expect((await accounts(emails)).length).toBe(20);
  });
});
