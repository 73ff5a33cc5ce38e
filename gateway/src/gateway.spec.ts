import jwt from 'jsonwebtoken';
import { createPrivateKey } from 'node:crypto';
import { generateKeyPair, publicKeysJson } from '@shop/kit';
import { postGraphQL, TestRedisServer, waitFor } from '@shop/kit/testing';
import { startUsersStack, type Stack } from './testing/stack';

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresAt user { id email role } }
}`;
const ME = `query Me { me { id email role } }`;
const LOGOUT = `mutation Logout { logout }`;

let counter = 0;
async function register(stack: Stack) {
  counter += 1;
  const email = `gw-${process.pid}-${Date.now()}-${counter}@example.com`;
  const result = await postGraphQL<{ register: { accessToken: string; user: { id: string } } }>(
    stack.graphqlUrl,
    REGISTER,
    {
      input: { email, password: 'correct horse battery' },
    },
  );
  expect(result.errors).toBeUndefined();
  return { email, ...result.data!.register };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('gateway authentication', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startUsersStack();
  });
  afterAll(() => stack?.stop());

  it('serves me for a signed-in user and null for an anonymous one', async () => {
    const { accessToken, email } = await register(stack);
    const signedIn = await postGraphQL<{ me: { email: string } }>(
      stack.graphqlUrl,
      ME,
      {},
      bearer(accessToken),
    );
    expect(signedIn.data?.me.email).toBe(email);
    const anonymous = await postGraphQL<{ me: null }>(stack.graphqlUrl, ME);
    expect(anonymous.errors).toBeUndefined();
    expect(anonymous.data?.me).toBeNull();
  });

  describe('refuses bad access tokens with UNAUTHENTICATED, never as anonymous', () => {
    const expectRefused = async (token: string) => {
      const result = await postGraphQL(stack.graphqlUrl, ME, {}, bearer(token));
      expect(result.status).toBe(401);
      expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      expect(result.data ?? null).toBeNull();
    };

    it('a tampered token', async () => {
      const { accessToken } = await register(stack);
      const [header, payload, signature] = accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, role: 'ADMIN' })).toString('base64url');
      await expectRefused(`${header}.${forged}.${signature}`);
    });

    it('an unsigned (alg none) token', async () => {
      const { accessToken } = await register(stack);
      const claims = jwt.decode(accessToken) as jwt.JwtPayload;
      await expectRefused(jwt.sign(claims, '', { algorithm: 'none', keyid: stack.keys.access.kid }));
    });

    it('an HS256 token keyed with the public key', async () => {
      const { accessToken } = await register(stack);
      const claims = jwt.decode(accessToken) as jwt.JwtPayload;
      await expectRefused(
        jwt.sign(claims, stack.keys.access.publicKey, { algorithm: 'HS256', keyid: stack.keys.access.kid }),
      );
    });

    it('an expired token', async () => {
      const { accessToken } = await register(stack);
      const claims = jwt.decode(accessToken) as jwt.JwtPayload;
      const expired = jwt.sign(
        { ...claims, exp: Math.floor(Date.now() / 1000) - 10 },
        createPrivateKey(stack.keys.access.privateKey),
        {
          algorithm: 'ES256',
          keyid: stack.keys.access.kid,
        },
      );
      await expectRefused(expired);
    });

    it('a token signed with a key the gateway does not know (wrong kid)', async () => {
      const { accessToken } = await register(stack);
      const claims = jwt.decode(accessToken) as jwt.JwtPayload;
      const stranger = generateKeyPair('access.unknown');
      await expectRefused(
        jwt.sign(claims, createPrivateKey(stranger.privateKey), { algorithm: 'ES256', keyid: stranger.kid }),
      );
      // the right kid with the wrong key is no better
      await expectRefused(
        jwt.sign(claims, createPrivateKey(stranger.privateKey), {
          algorithm: 'ES256',
          keyid: stack.keys.access.kid,
        }),
      );
    });

    it('a header that is not a bearer token', async () => {
      const result = await postGraphQL(stack.graphqlUrl, ME, {}, { authorization: 'Basic Zm9vOmJhcg==' });
      expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  it('refuses the access token of a session that logged out, from the next request on', async () => {
    const { accessToken } = await register(stack);
    expect((await postGraphQL(stack.graphqlUrl, ME, {}, bearer(accessToken))).data?.me).not.toBeNull();
    const logout = await postGraphQL(stack.graphqlUrl, LOGOUT, {}, bearer(accessToken));
    expect(logout.data).toEqual({ logout: true });
    const after = await postGraphQL(stack.graphqlUrl, ME, {}, bearer(accessToken));
    expect(after.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('accepts tokens of the previous key during a rotation, and refuses them once it is removed', async () => {
    const { accessToken } = await register(stack);
    const { exp: _exp, iat: _iat, ...claims } = jwt.decode(accessToken) as jwt.JwtPayload;
    const next = generateKeyPair('access.test2');
    const signedWithNext = jwt.sign(claims, createPrivateKey(next.privateKey), {
      algorithm: 'ES256',
      keyid: next.kid,
      expiresIn: 300,
    });
    await stack.restartGateway({ ACCESS_TOKEN_PUBLIC_KEYS: publicKeysJson([stack.keys.access, next]) });
    expect((await postGraphQL(stack.graphqlUrl, ME, {}, bearer(accessToken))).data?.me).not.toBeNull();
    expect((await postGraphQL(stack.graphqlUrl, ME, {}, bearer(signedWithNext))).data?.me).not.toBeNull();
    await stack.restartGateway({ ACCESS_TOKEN_PUBLIC_KEYS: publicKeysJson([next]) });
    expect(
      (await postGraphQL(stack.graphqlUrl, ME, {}, bearer(accessToken))).errors?.[0].extensions?.code,
    ).toBe('UNAUTHENTICATED');
    expect((await postGraphQL(stack.graphqlUrl, ME, {}, bearer(signedWithNext))).data?.me).not.toBeNull();
    await stack.restartGateway();
  });

  it('answers health, readiness and metrics outside GraphQL', async () => {
    expect((await fetch(`${stack.gateway.url}/health`)).status).toBe(200);
    const ready = await fetch(`${stack.gateway.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { supergraph: true } });
    const metrics = await (await fetch(`${stack.gateway.url}/metrics`)).text();
    expect(metrics).toContain('http_requests_total');
    expect(metrics).toContain('gateway_subgraph_fetch_duration_seconds');
  });

  it('keeps a sane x-request-id and replaces an insane one', async () => {
    const kept = await postGraphQL(stack.graphqlUrl, ME, {}, { 'x-request-id': 'client-id_1.2:3' });
    expect(kept.headers.get('x-request-id')).toBe('client-id_1.2:3');
    const replaced = await postGraphQL(stack.graphqlUrl, ME, {}, { 'x-request-id': 'bad id with spaces' });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const generated = await postGraphQL(stack.graphqlUrl, ME);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers partial data with an error when a subgraph is down, not HTTP 500', async () => {
    const { accessToken } = await register(stack);
    const result = await postGraphQL<{ me: { id: string }; product: unknown }>(
      stack.graphqlUrl,
      '{ me { id } product(slug: "anything") { id } }',
      {},
      bearer(accessToken),
    );
    expect(result.status).toBe(200);
    expect(result.data?.me?.id).toBeDefined();
    expect(result.errors?.length).toBeGreaterThan(0);
  });
});

/** A users stack on a Redis the describe block owns, so a test can stop that Redis. */
function usersStackOnOwnRedis() {
  const own = {} as { redis: TestRedisServer; stack: Stack };
  beforeAll(async () => {
    own.redis = await TestRedisServer.start();
    own.stack = await startUsersStack({ redisUrl: own.redis.url });
  });
  afterAll(async () => {
    await own.stack?.stop();
    await own.redis?.stop();
  });
  return own;
}

describe('gateway revocation while Redis is down', () => {
  const own = usersStackOnOwnRedis();

  it('still refuses a logged-out session (asking the users service) and keeps serving', async () => {
    const { accessToken } = await register(own.stack);
    const other = await register(own.stack);
    expect((await postGraphQL(own.stack.graphqlUrl, ME, {}, bearer(accessToken))).data?.me).not.toBeNull();
    await own.redis.stop();
    const logout = await postGraphQL(own.stack.graphqlUrl, LOGOUT, {}, bearer(accessToken));
    expect(logout.data).toEqual({ logout: true });
    const after = await postGraphQL(own.stack.graphqlUrl, ME, {}, bearer(accessToken));
    expect(after.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    // other sessions keep working without Redis, and the gateway stays ready
    expect((await postGraphQL(own.stack.graphqlUrl, ME, {}, bearer(other.accessToken))).data?.me).not.toBeNull();
    expect((await fetch(`${own.stack.gateway.url}/ready`)).status).toBe(200);
    // Redis comes back (empty): the revocation still holds
    await own.redis.start();
    await new Promise((r) => setTimeout(r, 1_000));
    const later = await postGraphQL(own.stack.graphqlUrl, ME, {}, bearer(accessToken));
    expect(later.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('session check while Redis and users are both unreachable', () => {
  const own = usersStackOnOwnRedis();

  it('cannot decide the request: HTTP 503 SERVICE_UNAVAILABLE, retryable, naming no address', async () => {
    const { accessToken } = await register(own.stack);
    await own.redis.stop();
    await own.stack.users.stop();
    const result = await postGraphQL(own.stack.graphqlUrl, ME, {}, bearer(accessToken));
    expect(result.status).toBe(503);
    expect(result.errors).toEqual([
      {
        message: 'Cannot check the session right now; retry in a moment',
        extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true },
      },
    ]);
    // It used to answer 400 with the transport's words: "connect ECONNREFUSED <address>".
    expect(JSON.stringify(result.errors)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    expect(result.data ?? null).toBeNull();
    // back for the gateway's shutdown (closing a store whose Redis is gone waits on reconnects)
    await own.redis.start();
  });
});

describe('a registration the client saw fail', () => {
  let stack: Stack;
  beforeAll(async () => {
    // The gateway gives users 50 ms, far less than one bcrypt at cost 12: the client is told
    // the registration failed while users goes on to create the account.
    stack = await startUsersStack({ gatewayEnv: { USERS_TIMEOUT_MS: '50' }, usersEnv: { BCRYPT_COST: '12' } });
  });
  afterAll(() => stack?.stop());

  it('does not confuse its retry: the same email and password are answered as a registration, not CONFLICT', async () => {
    const email = `saw-fail-${process.pid}-${Date.now()}@example.com`;
    const input = { email, password: 'correct horse battery' };
    const failed = await postGraphQL(stack.graphqlUrl, REGISTER, { input });
    expect(failed.errors?.[0].extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
    await waitFor(
      async () => (await stack.users.dataSource.query('SELECT 1 FROM users WHERE email = $1', [email])).length === 1,
      'the account the failed registration created',
    );
    await stack.restartGateway({ USERS_TIMEOUT_MS: '20000' });
    const retried = await postGraphQL<{ register: { user: { email: string } } }>(stack.graphqlUrl, REGISTER, { input });
    expect(retried.errors).toBeUndefined();
    expect(retried.data?.register.user.email).toBe(email);
  });
});
