import { generateKeyPair, TokenSigner, issueServiceToken, ANONYMOUS, type Identity } from '@shop/kit';
import { createTestDatabase, createTestKeys, postGraphQL } from '@shop/kit/testing';
import jwt from 'jsonwebtoken';
import { codeOf, LOGIN, login, ME, register, startHarness, uniqueEmail, type UsersHarness } from './testing/harness';

describe('users subgraph boundary', () => {
  let h: UsersHarness;
  beforeAll(async () => {
    h = await startHarness('users_boundary');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const documents = {
    me: '{ me { id email } }',
    sdl: '{ _service { sdl } }',
    entities: '{ _entities(representations: [{ __typename: "User", id: "00000000-0000-4000-8000-000000000000" }]) { ... on User { id email } } }',
  };

  it('answers a request carrying a gateway token for this subgraph', async () => {
    const res = await h.call<{ _service: { sdl: string } }>(documents.sdl);
    expect(res.status).toBe(200);
    expect(res.data!._service.sdl).toContain('type User');
  });

  const gw = () => h.keys.services.gateway;
  const now = () => Math.floor(Date.now() / 1000);
  const refusedHeaders: [string, () => Record<string, string>][] = [
    ['no token at all', () => ({})],
    ['a forged x-user-id header and no token', () => ({ 'x-user-id': '00000000-0000-4000-8000-000000000001', 'x-user-role': 'ADMIN' })],
    [
      'a token signed by an unknown key that claims the gateway kid',
      () => {
        const impostor = generateKeyPair(gw().kid);
        const token = issueServiceToken(new TokenSigner(impostor.privateKey, impostor.kid), 'gateway', 'users', ANONYMOUS, 30);
        return { authorization: `Bearer ${token}` };
      },
    ],
    [
      'a token with a kid nobody knows',
      () => {
        const stranger = generateKeyPair('gateway.unknown');
        return { authorization: `Bearer ${issueServiceToken(new TokenSigner(stranger.privateKey, stranger.kid), 'gateway', 'users', ANONYMOUS, 30)}` };
      },
    ],
    [
      'a gateway token minted for the products subgraph',
      () => ({
        authorization: `Bearer ${issueServiceToken(new TokenSigner(gw().privateKey, gw().kid), 'gateway', 'products', ANONYMOUS, 30)}`,
      }),
    ],
    [
      'an expired gateway token',
      () => ({
        authorization: `Bearer ${jwt.sign({ typ: 'service', iat: now() - 120, exp: now() - 60 }, gw().privateKey, {
          algorithm: 'ES256',
          keyid: gw().kid,
          audience: 'users',
          issuer: 'gateway',
        })}`,
      }),
    ],
    [
      'an orders-signed token that claims to come from the gateway',
      () => {
        const orders = h.keys.services.orders;
        return { authorization: `Bearer ${issueServiceToken(new TokenSigner(orders.privateKey, orders.kid), 'gateway', 'users', ANONYMOUS, 30)}` };
      },
    ],
  ];

  describe.each(refusedHeaders)('refuses %s with 401 UNAUTHENTICATED', (_label, headers) => {
    it.each(Object.entries(documents))('for %s', async (_name, query) => {
      const res = await postGraphQL(`${h.service.url}/graphql`, query, {}, headers());
      expect(res.status).toBe(401);
      expect(res.data).toBeUndefined();
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
    });
  });

  it('does not take a user access token as a platform token', async () => {
    const account = await register(h);
    const res = await postGraphQL(`${h.service.url}/graphql`, documents.me, {}, { authorization: `Bearer ${account.accessToken}` });
    expect(res.status).toBe(401);
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
  });

  it('keeps health, readiness and metrics open', async () => {
    expect((await fetch(`${h.service.url}/health`)).status).toBe(200);
    expect((await fetch(`${h.service.url}/ready`)).status).toBe(200);
    expect((await fetch(`${h.service.url}/metrics`)).status).toBe(200);
  });

  describe('internal sessions/status', () => {
    it('tells the gateway whether a session is active', async () => {
      const account = await register(h);
      expect(await h.internal('sessions/status', { sessionId: account.sessionId })).toEqual({ status: 200, body: { data: { active: true } } });
      for (const sessionId of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        expect(await h.internal('sessions/status', { sessionId })).toEqual({ status: 200, body: { data: { active: false } } });
      }
    });

    it('is inactive once the session expired', async () => {
      const account = await register(h);
      await h.service.runtime.db.dataSource.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [
        account.sessionId,
      ]);
      expect((await h.internal('sessions/status', { sessionId: account.sessionId })).body).toEqual({ data: { active: false } });
    });

    it('refuses callers other than the gateway', async () => {
      const account = await register(h);
      const res = await h.internal('sessions/status', { sessionId: account.sessionId }, 'orders');
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      const bare = await fetch(`${h.service.url}/internal/sessions/status`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sessionId: account.sessionId }),
      });
      expect(bare.status).toBe(401);
    });

    it('refuses a malformed body with BAD_USER_INPUT', async () => {
      const res = await h.internal('sessions/status', { sessionId: 42 });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('User entity references', () => {
    const ENTITIES = `query ($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on User { id email firstName role createdAt } }
    }`;

    it('resolves many references with one SQL query, null for unknown ids', async () => {
      const accounts = await Promise.all(Array.from({ length: 5 }, () => register(h)));
      const queries: string[] = [];
      const logger = h.service.runtime.db.dataSource.logger;
      const original = logger.logQuery.bind(logger);
      logger.logQuery = (query, parameters, runner) => {
        if (/\bFROM "users"/i.test(query)) queries.push(query);
        return original(query, parameters, runner);
      };
      let res;
      try {
        const representations = [
          ...accounts.map((a) => ({ __typename: 'User', id: a.userId })),
          { __typename: 'User', id: '00000000-0000-4000-8000-000000000000' },
          { __typename: 'User', id: 'not-a-uuid' },
          { __typename: 'User', id: accounts[0].userId },
        ];
        const admin: Identity = { userId: '00000000-0000-4000-8000-0000000000aa', role: 'ADMIN', sessionId: '00000000-0000-4000-8000-0000000000bb' };
        res = await h.call<{ _entities: ({ id: string; email: string | null } | null)[] }>(ENTITIES, { representations }, admin);
      } finally {
        logger.logQuery = original;
      }
      expect(res.errors).toBeUndefined();
      expect(queries).toHaveLength(1);
      const entities = res.data!._entities;
      expect(entities.slice(0, 5).map((u) => u!.id)).toEqual(accounts.map((a) => a.userId));
      expect(entities.slice(0, 5).map((u) => u!.email)).toEqual(accounts.map((a) => a.email));
      expect(entities[5]).toBeNull();
      expect(entities[6]).toBeNull();
      expect(entities[7]!.id).toBe(accounts[0].userId);
    });

    it('shows personal fields only to the user themself and to admins', async () => {
      const [alice, bob] = await Promise.all([register(h), register(h)]);
      const representations = [alice, bob].map((a) => ({ __typename: 'User', id: a.userId }));
      const asAlice = await h.call<{ _entities: { id: string; email: string | null; role: string }[] }>(
        ENTITIES,
        { representations },
        alice.identity,
      );
      expect(asAlice.data!._entities.map((u) => u.email)).toEqual([alice.email, null]);
      expect(asAlice.data!._entities[1]).toMatchObject({ id: bob.userId, role: 'CUSTOMER', firstName: null });
      const anonymous = await h.call<{ _entities: { email: string | null }[] }>(ENTITIES, { representations });
      expect(anonymous.data!._entities.map((u) => u.email)).toEqual([null, null]);
    });
  });
});

describe('admin bootstrap', () => {
  it('creates the admin account, promotes and resets an existing one, and leaves a matching one alone', async () => {
    const db = await createTestDatabase('users_admin');
    const keys = createTestKeys();
    const email = uniqueEmail('admin');
    try {
      // Someone registered the admin address first.
      let h = await startHarness('users_admin', {}, { db, keys });
      const squatter = await register(h, email, 'squatter password');
      await h.stop();

      h = await startHarness('users_admin', { ADMIN_EMAIL: ` ${email.toUpperCase()} `, ADMIN_PASSWORD: 'admin password 1' }, { db, keys });
      const res = await h.call(LOGIN, { input: { email, password: 'admin password 1' } });
      expect(res.data!.login.user).toEqual({ id: squatter.userId, email, role: 'ADMIN' });
      expect(codeOf(await h.call(LOGIN, { input: { email, password: 'squatter password' } }))).toBe('UNAUTHENTICATED');
      // The squatter's session ended with the takeover.
      expect((await h.internal('sessions/status', { sessionId: squatter.sessionId })).body).toEqual({ data: { active: false } });
      const [before] = await h.service.runtime.db.dataSource.query('SELECT password_hash FROM users WHERE email = $1', [email]);
      await h.stop();

      // Same settings again: nothing changes, sessions survive.
      h = await startHarness('users_admin', { ADMIN_EMAIL: email, ADMIN_PASSWORD: 'admin password 1' }, { db, keys });
      const admin = await login(h, email, 'admin password 1');
      await h.stop();
      h = await startHarness('users_admin', { ADMIN_EMAIL: email, ADMIN_PASSWORD: 'admin password 1' }, { db, keys });
      const [after] = await h.service.runtime.db.dataSource.query('SELECT password_hash FROM users WHERE email = $1', [email]);
      expect(after.password_hash).toBe(before.password_hash);
      expect((await h.call(ME, {}, admin.identity)).data!.me).toMatchObject({ email, role: 'ADMIN' });
      await h.stop();

      // A fresh database gets the account created.
      const fresh = await startHarness('users_admin2', { ADMIN_EMAIL: 'root@example.test', ADMIN_PASSWORD: 'root password!' });
      try {
        const created = await login(fresh, 'root@example.test', 'root password!');
        expect(created.identity.role).toBe('ADMIN');
      } finally {
        await fresh.stop();
      }
    } finally {
      await db.drop();
    }
  });
});
