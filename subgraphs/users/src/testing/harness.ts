/* eslint-disable @typescript-eslint/no-explicit-any -- test helper: responses are read loosely by the specs */
import { randomBytes } from 'node:crypto';
import { ANONYMOUS, issueServiceToken, TokenSigner, type Identity, type KeyValueStore } from '@shop/kit';
import {
  createTestDatabase,
  createTestKeys,
  subgraphCaller,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type TestDatabase,
  type TestKeys,
} from '@shop/kit/testing';
import { startUsers, type UsersService } from '../index';

export interface UsersHarness {
  db: TestDatabase;
  keys: TestKeys;
  service: UsersService;
  /** Calls the users subgraph as the gateway does, on behalf of `identity`. */
  call: <T = Record<string, any>>(query: string, variables?: Record<string, unknown>, identity?: Identity) => Promise<{
    status: number;
    data?: T | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  }>;
  /** Calls an internal route as `caller` (a key of the test keyring). */
  internal: (path: string, body: unknown, caller?: string) => Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export function env(db: TestDatabase, keys: TestKeys, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    // Runs share the machine's Redis: every key of this run under its own prefix.
    REDIS_KEY_PREFIX: uniqueRedisPrefix('users'),
    BCRYPT_COST: '10',
    ...keys.envFor('users'),
    ...extra,
  };
}

export async function startHarness(
  prefix: string,
  extra: Record<string, string> = {},
  options: { store?: KeyValueStore; keys?: TestKeys; db?: TestDatabase } = {},
): Promise<UsersHarness> {
  const db = options.db ?? (await createTestDatabase(prefix));
  const keys = options.keys ?? createTestKeys();
  const service = await startUsers(env(db, keys, extra), { store: options.store });
  const gateway = subgraphCaller({ url: service.url, audience: 'users', key: keys.services.gateway });
  return {
    db,
    keys,
    service,
    call: (query, variables = {}, identity = ANONYMOUS) => gateway(query, variables, identity) as never,
    internal: async (path, body, caller = 'gateway') => {
      const key = keys.services[caller];
      const token = issueServiceToken(new TokenSigner(key.privateKey, key.kid), caller, 'users', ANONYMOUS, 30);
      const response = await fetch(`${service.url}/internal/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    async stop() {
      await service.stop();
      if (!options.db) await db.drop();
    },
  };
}

export const uniqueEmail = (label = 'user') => `${label}.${randomBytes(6).toString('hex')}@example.test`;

export const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      accessToken
      refreshToken
      expiresAt
      user { id email firstName lastName role createdAt }
    }
  }
`;
export const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) { accessToken refreshToken expiresAt user { id email role } }
  }
`;
export const REFRESH = /* GraphQL */ `
  mutation RefreshSession($refreshToken: String!) {
    refreshSession(refreshToken: $refreshToken) { accessToken refreshToken expiresAt user { id } }
  }
`;
export const ME = /* GraphQL */ `
  query Me { me { id email firstName lastName role createdAt } }
`;
export const LOGOUT = /* GraphQL */ `
  mutation Logout { logout }
`;
export const UPDATE_PROFILE = /* GraphQL */ `
  mutation UpdateProfile($input: UpdateProfileInput!) { updateProfile(input: $input) { id firstName lastName } }
`;
export const CHANGE_PASSWORD = /* GraphQL */ `
  mutation ChangePassword($input: ChangePasswordInput!) { changePassword(input: $input) }
`;

export interface Signed {
  userId: string;
  sessionId: string;
  accessToken: string;
  refreshToken: string;
  identity: Identity;
}

/** The identity the gateway would derive from an access token (it reads sub, role and sid). */
export function identityFromAccessToken(accessToken: string): Identity {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8'));
  return { userId: payload.sub, role: payload.role, sessionId: payload.sid };
}

export function signedIn(auth: { accessToken: string; refreshToken: string }): Signed {
  const identity = identityFromAccessToken(auth.accessToken);
  return {
    userId: identity.userId!,
    sessionId: identity.sessionId!,
    accessToken: auth.accessToken,
    refreshToken: auth.refreshToken,
    identity,
  };
}

export async function register(h: UsersHarness, email = uniqueEmail(), password = 'correct horse battery') {
  const res = await h.call<{ register: { accessToken: string; refreshToken: string; user: { id: string } } }>(REGISTER, {
    input: { email, password },
  });
  if (!res.data?.register) throw new Error(`register failed: ${JSON.stringify(res.errors)}`);
  return { email, password, ...signedIn(res.data.register) };
}

export async function login(h: UsersHarness, email: string, password: string) {
  const res = await h.call<{ login: { accessToken: string; refreshToken: string } }>(LOGIN, { input: { email, password } });
  if (!res.data?.login) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
  return signedIn(res.data.login);
}

export const codeOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions?.code;
