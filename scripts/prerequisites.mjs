// What `npm test`, `npm run bench` and `npm run chaos` need on the machine beyond the
// repository, checked before anything runs: one line per missing piece, saying how to get it.
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './ensure-installed.mjs';

const require = createRequire(path.join(ROOT, 'package.json'));

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TIMEOUT_MS = 3_000;

const redact = (url) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

function onPath(binary) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function postgresAnswers(url) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message || error.code || String(error) : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function redisAnswers(url) {
  const Redis = require('ioredis');
  const client = new Redis(url, { lazyConnect: true, connectTimeout: TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause;
  client.on('error', (error) => {
    cause ??= error;
  });
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    const reason = cause ?? error;
    return reason instanceof Error ? reason.message : String(reason);
  } finally {
    client.disconnect();
  }
}

/** Every check by name; each resolves to null when satisfied, else the line that says how to get it. */
export const CHECKS = {
  postgres: async () => {
    const problem = await postgresAnswers(TEST_DATABASE_URL);
    return problem
      ? `Postgres is not answering at ${redact(TEST_DATABASE_URL)} (${problem}): start it ` +
          `(Debian: pg_ctlcluster <version> main start), or set TEST_DATABASE_URL to the postgres database of a server where the user may CREATE DATABASE`
      : null;
  },
  redis: async () => {
    const problem = await redisAnswers(TEST_REDIS_URL);
    return problem
      ? `Redis is not answering at ${redact(TEST_REDIS_URL)} (${problem}): start one (redis-server --daemonize yes), or set TEST_REDIS_URL`
      : null;
  },
  'redis-server': async () =>
    onPath('redis-server')
      ? null
      : 'redis-server is not on PATH: tests that stop Redis start their own (Debian: apt-get install redis-server)',
  kubectl: async () =>
    onPath('kubectl') || process.env.KUSTOMIZE_CMD
      ? null
      : 'kubectl is not on PATH: the overlay tests render with `kubectl kustomize` (install kubectl, or set KUSTOMIZE_CMD="kustomize build")',
  chromium: async () =>
    existsSync(CHROMIUM)
      ? null
      : `${CHROMIUM} is missing: the playground test drives Chromium (Debian: apt-get install chromium), or set CHROMIUM_PATH`,
  git: async () => (onPath('git') ? null : 'git is not on PATH: the benchmark builds its --baseline in a git worktree'),
};

/** Runs the named checks; prints every missing piece and exits 1 when any is missing. */
export async function requirePrerequisites(names, what) {
  const results = await Promise.all(names.map((name) => CHECKS[name]()));
  const missing = results.filter(Boolean);
  if (missing.length === 0) return;
  console.error(`${what} cannot run; missing:`);
  for (const line of missing) console.error(`  - ${line}`);
  process.exit(1);
}

// `node scripts/prerequisites.mjs <what> <check>...` for scripts that are not Node (npm run chaos).
if (process.argv[1] && path.resolve(process.argv[1]) === path.join(ROOT, 'scripts', 'prerequisites.mjs')) {
  const [what, ...names] = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in CHECKS));
  if (!what || unknown.length > 0) {
    console.error(`usage: node scripts/prerequisites.mjs <what> <${Object.keys(CHECKS).join('|')}>...`);
    process.exit(2);
  }
  await requirePrerequisites(names, what);
}
