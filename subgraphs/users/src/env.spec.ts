import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, generateKeyPair, parseServiceConfig, publicKeysJson } from '@shop/kit';
import { createTestKeys } from '@shop/kit/testing';
import { generateKeyPairSync } from 'node:crypto';
import { usersConfigShape } from './env';
import { startUsers } from './index';

const keys = createTestKeys();
const base = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => ({
  NODE_ENV: 'test',
  ...keys.envFor('users'),
  ...extra,
});
const parse = (env: NodeJS.ProcessEnv) => parseServiceConfig('users', usersConfigShape, env);
const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    parse(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('users configuration', () => {
  it('has the documented defaults', () => {
    const config = parse(base());
    expect(config).toMatchObject({
      PORT: 4001,
      BCRYPT_COST: 12,
      ACCESS_TOKEN_TTL_SECONDS: 900,
      REFRESH_TOKEN_TTL_DAYS: 30,
      LOGIN_FAILURE_LIMIT: 10,
      LOGIN_FAILURE_WINDOW_SECONDS: 900,
      ACCESS_TOKEN_KID: keys.access.kid,
    });
    expect(config.ADMIN_EMAIL).toBeUndefined();
  });

  it.each(['production', 'test'])('outside development a missing signing key is a config error naming it (%s)', (NODE_ENV) => {
    const problems = problemsOf(base({ NODE_ENV, ACCESS_TOKEN_PRIVATE_KEY: undefined, ACCESS_TOKEN_KID: undefined }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config error: ACCESS_TOKEN_PRIVATE_KEY /),
        expect.stringMatching(/^config error: ACCESS_TOKEN_KID /),
      ]),
    );
  });

  it('startUsers refuses to start without the key, before opening anything', async () => {
    await expect(startUsers(base({ NODE_ENV: 'production', ACCESS_TOKEN_PRIVATE_KEY: '' }))).rejects.toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining('ACCESS_TOKEN_PRIVATE_KEY') }),
    );
  });

  it('in development fills the keys from the generated dev keyring', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'users-dev-'));
    try {
      const config = parse({ NODE_ENV: 'development', DATA_DIR: dataDir });
      expect(config.ACCESS_TOKEN_KID).toBe('access.dev');
      expect(config.ACCESS_TOKEN_PRIVATE_KEY).toContain('PRIVATE KEY');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.each([
    ['BCRYPT_COST', '9'],
    ['BCRYPT_COST', 'twelve'],
    ['ACCESS_TOKEN_TTL_SECONDS', '3601'],
    ['ACCESS_TOKEN_TTL_SECONDS', '0'],
    ['REFRESH_TOKEN_TTL_DAYS', '0'],
    ['LOGIN_FAILURE_LIMIT', '0'],
    ['ACCESS_TOKEN_PRIVATE_KEY', 'not a pem'],
    ['ACCESS_TOKEN_KID', 'has spaces'],
    ['ACCESS_TOKEN_PUBLIC_KEYS', '{"k": "not a pem"}'],
    ['ACCESS_TOKEN_PUBLIC_KEYS', '[]'],
    ['ADMIN_EMAIL', 'not-an-email'],
    ['ADMIN_PASSWORD', 'short'],
    ['PORT', '70000'],
  ])('refuses %s=%j with a line naming it', (variable, value) => {
    const problems = problemsOf(base({ [variable]: value }));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((line) => line.startsWith(`config error: ${variable} `))).toBe(true);
  });

  it('accepts BCRYPT_COST 10 and ACCESS_TOKEN_TTL_SECONDS 3600', () => {
    expect(parse(base({ BCRYPT_COST: '10', ACCESS_TOKEN_TTL_SECONDS: '3600' }))).toMatchObject({ BCRYPT_COST: 10, ACCESS_TOKEN_TTL_SECONDS: 3600 });
  });

  it('refuses a signing key that is not EC P-256 (ES256)', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    for (const pem of [rsa, p384]) expect(problemsOf(base({ ACCESS_TOKEN_PRIVATE_KEY: pem }))).toEqual([expect.stringMatching(/ACCESS_TOKEN_PRIVATE_KEY .*P-256/)]);
  });

  it('accepts a PEM written on one line with \\n escapes', () => {
    const escaped = keys.access.privateKey.replace(/\n/g, '\\n');
    expect(problemsOf(base({ ACCESS_TOKEN_PRIVATE_KEY: escaped }))).toEqual([]);
  });

  it('refuses public keys that do not include the signing kid', async () => {
    const other = generateKeyPair('access.other');
    await expect(startUsers(base({ ACCESS_TOKEN_PUBLIC_KEYS: publicKeysJson([other]) }))).rejects.toThrow(/ACCESS_TOKEN_PUBLIC_KEYS has no key for ACCESS_TOKEN_KID/);
  });

  /** Starts the users entry point as a production process would and waits for it to exit. */
  const runProcess = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'index.ts')], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', ...env },
      encoding: 'utf8',
      timeout: 30_000,
      cwd: path.join(__dirname, '..'),
    });

  it('a process started without the key exits 1 with one line naming the variable', () => {
    const env: NodeJS.ProcessEnv = keys.envFor('users');
    delete env.ACCESS_TOKEN_PRIVATE_KEY;
    const result = runProcess(env);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^config error: ACCESS_TOKEN_PRIVATE_KEY is required but not set$/m);
  });

  it('a production process without DATABASE_URL or REDIS_URL exits 1 naming each, instead of embedding them', () => {
    const result = runProcess({ LOG_LEVEL: 'silent', PORT: '0', ...keys.envFor('users') });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^config error: DATABASE_URL is required when NODE_ENV=production \(.*embedded database/),
      expect.stringMatching(/^config error: REDIS_URL is required when NODE_ENV=production \(.*in memory/),
    ]);
  });
});
