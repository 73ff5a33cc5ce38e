import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, parseConfig, port, url } from './config';
import { parseServiceConfig } from './runtime';

const STORES = { DATABASE_URL: 'postgres://db.example/shop', REDIS_URL: 'redis://redis.example:6379' };

describe('configuration from the environment', () => {
  const shape = { PORT: port(4001), DATABASE_URL: url(['postgres']).optional(), LIMIT: z.coerce.number().int().min(1) };

  it('applies defaults and coerces numbers', () => {
    expect(parseConfig(shape, { LIMIT: '5' })).toEqual({ PORT: 4001, LIMIT: 5 });
  });

  it('names every variable that is missing or malformed, one line each', () => {
    expect.assertions(2);
    try {
      parseConfig(shape, { PORT: 'eighty', DATABASE_URL: 'mysql://x' });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(/^config error: PORT /),
        expect.stringMatching(/^config error: DATABASE_URL must be a URL with scheme postgres/),
        'config error: LIMIT is required but not set',
      ]);
    }
  });

  it("gives every service a Redis command timeout: 500 ms unless REDIS_COMMAND_TIMEOUT_MS says otherwise, never zero", () => {
    expect(parseServiceConfig('users', {}, { NODE_ENV: 'test' }).REDIS_COMMAND_TIMEOUT_MS).toBe(500);
    expect(parseServiceConfig('users', {}, { NODE_ENV: 'test', REDIS_COMMAND_TIMEOUT_MS: '2000' }).REDIS_COMMAND_TIMEOUT_MS).toBe(2000);
    expect(() => parseServiceConfig('users', {}, { NODE_ENV: 'test', REDIS_COMMAND_TIMEOUT_MS: '0' })).toThrow(/REDIS_COMMAND_TIMEOUT_MS/);
  });

  it('treats an empty value as unset', () => {
    expect(parseConfig(shape, { LIMIT: '2', DATABASE_URL: '' })).toEqual({ PORT: 4001, LIMIT: 2 });
  });

  it('rejects an unknown NODE_ENV and a bad REDIS_URL for a service, together', () => {
    expect(() => parseServiceConfig('users', {}, { NODE_ENV: 'staging', REDIS_URL: 'http://x' })).toThrow(
      /NODE_ENV[\s\S]*REDIS_URL must be a URL with scheme redis or rediss/,
    );
  });

  it('fills keys from the development keyring only in development', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'keys-'));
    const dev = parseServiceConfig('orders', {}, { NODE_ENV: 'development', DATA_DIR: dataDir });
    expect(dev.SERVICE_TOKEN_KID).toBe('orders.dev');
    expect(dev.SERVICE_TOKEN_PUBLIC_KEYS).toContain('gateway.dev');
    const production = parseServiceConfig('orders', {}, { NODE_ENV: 'production', DATA_DIR: dataDir, ...STORES });
    expect(production.SERVICE_TOKEN_KID).toBeUndefined();
  });

  describe('in production, the stores are required (no embedded database or in-process store per pod)', () => {
    const problemsOf = (env: NodeJS.ProcessEnv, options?: { database?: boolean }) => {
      try {
        parseServiceConfig('orders', {}, env, options);
        return [];
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
    };

    it('names DATABASE_URL and REDIS_URL, each on its own line, when neither is set', () => {
      expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
        expect.stringMatching(/^config error: DATABASE_URL is required when NODE_ENV=production/),
        expect.stringMatching(/^config error: REDIS_URL is required when NODE_ENV=production/),
      ]);
      expect(problemsOf({ NODE_ENV: 'production', DATABASE_URL: STORES.DATABASE_URL })).toEqual([
        expect.stringMatching(/^config error: REDIS_URL /),
      ]);
      expect(problemsOf({ NODE_ENV: 'production', REDIS_URL: STORES.REDIS_URL, DATABASE_URL: '' })).toEqual([
        expect.stringMatching(/^config error: DATABASE_URL /),
      ]);
    });

    it('asks a service without a database (the gateway) for REDIS_URL only', () => {
      expect(problemsOf({ NODE_ENV: 'production' }, { database: false })).toEqual([
        expect.stringMatching(/^config error: REDIS_URL /),
      ]);
    });

    it('leaves development and test free to embed them', () => {
      expect(problemsOf({ NODE_ENV: 'test' })).toEqual([]);
      expect(problemsOf({ NODE_ENV: 'development', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'keys-')) })).toEqual([]);
    });
  });
});
