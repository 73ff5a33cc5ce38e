#!/usr/bin/env node
/**
 * `npm start`: the whole platform in one process, for trying it on a machine with only Node.
 *
 * - No DATABASE_URL: each subgraph gets its own embedded PGlite under DATA_DIR (default .data/<service>).
 *   DATABASE_URL set: it names a Postgres server; each subgraph uses its own database on it
 *   (<database>_<service>, created when missing).
 * - No REDIS_URL: one in-memory store shared by the services of this process (so logout
 *   revocation reaches the gateway). REDIS_URL set: every service uses that Redis.
 * - The catalog and stock are seeded (idempotently); an admin account is ensured.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalled, run } from './ensure-installed.mjs';

ensureInstalled();
// SKIP_BUILD=1: the caller has just built (the embedded-mode test does).
if (!process.env.SKIP_BUILD) run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kit = require(path.join(root, 'subgraphs/kit/dist/index.js'));

// PORT_BASE moves the whole platform (gateway at PORT_BASE, users at +1 … payments at +5).
const PORT_BASE = Number(process.env.PORT_BASE ?? 4000);
const SUBGRAPHS = [
  { name: 'users', port: PORT_BASE + 1 },
  { name: 'products', port: PORT_BASE + 2 },
  { name: 'inventory', port: PORT_BASE + 3 },
  { name: 'payments', port: PORT_BASE + 5 },
  { name: 'orders', port: PORT_BASE + 4 },
];

const baseEnv = {
  NODE_ENV: 'development',
  DATA_DIR: path.join(root, '.data'),
  ADMIN_EMAIL: 'admin@shop.local',
  ADMIN_PASSWORD: 'admin-password',
  ...process.env,
};

async function databaseUrlFor(service) {
  if (!baseEnv.DATABASE_URL) return undefined;
  const server = new URL(baseEnv.DATABASE_URL);
  const database = `${server.pathname.replace(/^\//, '') || 'shop'}_${service}`;
  const { Client } = require('pg');
  const admin = new Client({ connectionString: baseEnv.DATABASE_URL });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  server.pathname = `/${database}`;
  return server.toString();
}

/** Seeds the development catalog and its stock (idempotent: a second start adds nothing). */
async function seed(name, service) {
  const seedFile = path.join(root, 'subgraphs', name, 'dist', 'seed.js');
  if (!existsSync(seedFile)) return;
  const seeds = require(seedFile);
  const products = Number(baseEnv.SEED_PRODUCTS ?? 300);
  const log = (message) => console.log(`[seed ${name}] ${message}`);
  if (seeds.seedCatalog) await seeds.seedCatalog(service.dataSource, { products, log });
  if (seeds.seedStock) await seeds.seedStock(service.dataSource, { products, log });
}

function capitalized(name) {
  return name[0].toUpperCase() + name.slice(1);
}

async function main() {
  const store = baseEnv.REDIS_URL ? undefined : new kit.MemoryStore();
  const running = [];
  const stopAll = async () => {
    for (const service of running.reverse()) await service.stop().catch(() => undefined);
  };
  process.on('SIGINT', () => stopAll().then(() => process.exit(0)));
  process.on('SIGTERM', () => stopAll().then(() => process.exit(0)));

  const urls = Object.fromEntries(SUBGRAPHS.map((s) => [`${s.name.toUpperCase()}_URL`, `http://127.0.0.1:${s.port}`]));
  for (const { name, port } of SUBGRAPHS) {
    const entry = path.join(root, 'subgraphs', name, 'dist', 'index.js');
    if (!existsSync(entry)) {
      console.warn(`(${name} subgraph not built; skipping)`);
      continue;
    }
    const module = require(entry);
    const env = { ...baseEnv, ...urls, PORT: String(port), DATABASE_URL: await databaseUrlFor(name) };
    if (!env.DATABASE_URL) delete env.DATABASE_URL;
    const service = await module[`start${capitalized(name)}`](env, { store });
    running.push(service);
    await seed(name, service);
  }
  const { startGateway } = require(path.join(root, 'gateway/dist/index.js'));
  const gateway = await startGateway({ ...baseEnv, ...urls, PORT: String(PORT_BASE) }, { store });
  running.push(gateway);
  console.log(`\nShop supergraph ready: http://localhost:${gateway.port}/graphql (playground in a browser)`);
  console.log(`Admin account: ${baseEnv.ADMIN_EMAIL} / ${baseEnv.ADMIN_PASSWORD} (set ADMIN_EMAIL / ADMIN_PASSWORD to change)\n`);
}

main().catch((error) => {
  if (error instanceof kit.ConfigError) for (const line of error.problems) console.error(line);
  else console.error(error);
  process.exit(1);
});
