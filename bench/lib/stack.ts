import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createTestDatabase, freePort, TEST_DATABASE_URL, uniqueRedisPrefix, type TestDatabase, type TestKeys } from '@shop/kit/testing';
import { containerNodeOptions, imageMallocEnv } from './heap';
import { StackMeter, type CpuSplit, type MeteredPart } from './meter';
import { healthy, startProcess, startRedisServer, type BenchProcess } from './processes';

export const SUBGRAPHS = ['users', 'products', 'inventory', 'payments', 'orders'] as const;
export type Subgraph = (typeof SUBGRAPHS)[number];
/** The subgraphs `--profile` records (the catalog's read path and the checkout's). */
const PROFILED: Subgraph[] = ['products', 'inventory', 'orders', 'payments'];

export const ADMIN = { email: 'bench-admin@bench.test', password: 'bench-admin-password-1' };

export interface GatewaySpec {
  key: string;
  /** RESPONSE_CACHE_ENABLED */
  cache: boolean;
  /** Entry file (default <root>/gateway/dist/index.js). */
  entry?: string;
  nodeArgs?: string[];
  /** Without the container's heap bound (NODE_OPTIONS of kustomize/base): --heap-ab's B side. */
  unbounded?: boolean;
  /** NODE_OPTIONS instead of the container's (--compare-node-options). */
  nodeOptions?: string;
}

export interface StackOptions {
  /** Short name in logs and process names: "" for the working tree, "base" for the baseline. */
  label: string;
  /** Repository root whose built dist is run. */
  root: string;
  supergraphPath: string;
  keys: TestKeys;
  logDir: string;
  products: number;
  gateways: GatewaySpec[];
  /** Directory for CPU profiles of the products and inventory subgraphs (node --cpu-prof). */
  profileDir?: string;
  /** Extra environment of every process of the stack (--tracing: the OTEL_* variables). */
  env?: Record<string, string>;
  /** Extra node arguments per process, by name (a subgraph's, or a gateway's key): --soak's heap snapshots. */
  nodeArgs?: (name: string) => string[];
  log: (line: string) => void;
}

/**
 * One whole platform: its own redis-server, its own five databases seeded with the same
 * catalog, the five subgraphs and the listed gateways, all built from `root`. Two stacks
 * (the working tree and a baseline) can run side by side without sharing anything but
 * Postgres's server process.
 */
export class Stack {
  readonly subgraphs = {} as Record<Subgraph, BenchProcess>;
  readonly gateways: Record<string, BenchProcess> = {};
  readonly databases = {} as Record<Subgraph, TestDatabase>;
  redis!: BenchProcess;
  private ports = {} as Record<Subgraph, number>;
  private prefix = uniqueRedisPrefix('bench');
  private redisPort = 0;

  private constructor(readonly options: StackOptions) {}

  static async start(options: StackOptions): Promise<Stack> {
    const stack = new Stack(options);
    try {
      await stack.boot();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  private name(part: string) {
    return this.options.label ? `${this.options.label}-${part}` : part;
  }

  get redisUrl() {
    return `redis://127.0.0.1:${this.redisPort}`;
  }

  private common(): Record<string, string> {
    return {
      NODE_ENV: 'production',
      ...imageMallocEnv(this.options.root),
      REDIS_URL: this.redisUrl,
      REDIS_KEY_PREFIX: this.prefix,
      ...Object.fromEntries(SUBGRAPHS.map((n) => [`${n.toUpperCase()}_URL`, `http://127.0.0.1:${this.ports[n]}`])),
      ...this.options.env,
    };
  }

  /** As its container runs it: the heap bound of kustomize/base/<name>.yaml, when that tree sets one. */
  private nodeOptions(name: string): Record<string, string> {
    const value = containerNodeOptions(this.options.root, name);
    return value ? { NODE_OPTIONS: value } : {};
  }

  subgraphEnv(name: Subgraph): Record<string, string> {
    return {
      ...this.common(),
      ...this.nodeOptions(name),
      ...this.options.keys.envFor(name),
      // The subgraphs are the same for every gateway; warn keeps their logging off the 2 cores.
      LOG_LEVEL: 'warn',
      DATABASE_URL: this.databases[name].url,
      // Two whole stacks at 50 buyers with the default 10 connections per service (plus orders'
      // lock connection) ran the machine's Postgres out of connections (max_connections 100,
      // shared with other work) and the bench died with "too many clients". Two cores cannot
      // run more than two statements at once anyway. BENCH_DATABASE_POOL_MAX overrides.
      DATABASE_POOL_MAX: process.env.BENCH_DATABASE_POOL_MAX ?? '5',
      ...(name === 'users' ? { BCRYPT_COST: '10', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } : {}),
    };
  }

  gatewayEnv(cache: boolean, unbounded = false, nodeOptions?: string): Record<string, string> {
    return {
      ...this.common(),
      ...(unbounded ? {} : nodeOptions !== undefined ? { NODE_OPTIONS: nodeOptions } : this.nodeOptions('gateway')),
      ...this.options.keys.envFor('gateway'),
      // As in production: token verification, rate limits (raised so the bench is not
      // throttled), operation limits at their defaults, info-level request logs.
      LOG_LEVEL: 'info',
      SUPERGRAPH_PATH: this.options.supergraphPath,
      RATE_LIMIT_MAX: '1000000000',
      AUTH_RATE_LIMIT_MAX: '1000000',
      RESPONSE_CACHE_ENABLED: String(cache),
    };
  }

  subgraphPort(name: Subgraph) {
    return this.ports[name];
  }

  private async boot() {
    const { options } = this;
    for (const name of SUBGRAPHS) this.ports[name] = await freePort();
    this.redisPort = await freePort();
    this.redis = await startRedisServer(this.name('redis'), this.redisPort, path.join(options.logDir, `${this.name('redis')}.log`));
    for (const name of SUBGRAPHS) this.databases[name] = await createTestDatabase(`bench_${options.label || 'ours'}_${name}`);
    options.log(`${this.describe()}: seeding ${options.products} products and their stock`);
    this.seed(options.products);
    for (const name of SUBGRAPHS) await this.startSubgraph(name);
    for (const spec of options.gateways) await this.startGateway(spec);
  }

  describe() {
    return this.options.label ? `stack ${this.options.label}` : 'stack';
  }

  private async startSubgraph(name: Subgraph) {
    const { options } = this;
    const profile = options.profileDir && PROFILED.includes(name) ? ['--cpu-prof', `--cpu-prof-dir=${path.join(options.profileDir, this.name(name))}`] : [];
    const base = `http://127.0.0.1:${this.ports[name]}`;
    this.subgraphs[name] = await startProcess({
      name: this.name(name),
      command: process.execPath,
      args: [...profile, ...(options.nodeArgs?.(name) ?? []), path.join(options.root, 'subgraphs', name, 'dist', 'index.js')],
      env: this.subgraphEnv(name),
      port: this.ports[name],
      logFile: path.join(options.logDir, `${this.name(name)}.log`),
      ready: healthy(base),
    });
  }

  async startGateway(spec: GatewaySpec): Promise<BenchProcess> {
    const { options } = this;
    const process_ = await startProcess({
      name: this.name(spec.key),
      command: process.execPath,
      args: [...(spec.nodeArgs ?? []), ...(options.nodeArgs?.(spec.key) ?? []), spec.entry ?? path.join(options.root, 'gateway', 'dist', 'index.js')],
      env: this.gatewayEnv(spec.cache, spec.unbounded, spec.nodeOptions),
      port: await freePort(),
      logFile: path.join(options.logDir, `${this.name(spec.key)}.log`),
    });
    this.gateways[spec.key] = process_;
    return process_;
  }

  /** The seed CLIs of this stack's build (the same data for every stack). */
  private seed(products: number) {
    // With the stack's own Redis and key prefix: the seed bumps the catalog version the stack reads.
    for (const name of ['products', 'inventory'] as const)
      execFileSync(process.execPath, [path.join(this.options.root, 'subgraphs', name, 'dist', 'seed.js'), '--products', String(products)], {
        // The seed is a command, not the service: no service heap bound (its Job has its own).
        env: { PATH: process.env.PATH ?? '', ...this.subgraphEnv(name), NODE_OPTIONS: '' },
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 600_000,
      });
  }

  /** Grows the catalog: products and inventory stopped, seeded up to `products`, restarted on a fresh cache prefix. */
  async reseed(products: number) {
    await this.subgraphs.products.kill();
    await this.subgraphs.inventory.kill();
    this.prefix = uniqueRedisPrefix('bench');
    this.seed(products);
    await this.startSubgraph('products');
    await this.startSubgraph('inventory');
  }

  /**
   * Runs `fn` (a load on `gateway`, the other gateways idle) and measures the stack's CPU
   * meanwhile, split per process, with that gateway as the "gateway" column.
   */
  async measure<T>(gateway: BenchProcess, fn: () => Promise<T>): Promise<{ result: T; cpu: CpuSplit; statements: StatementCounts | null }> {
    const parts: MeteredPart[] = [
      { name: 'gateway', pid: gateway.pid },
      ...SUBGRAPHS.map((name) => ({ name, pid: this.subgraphs[name].pid })),
      { name: 'redis', pid: this.redis.pid },
    ];
    const meter = await StackMeter.open(
      parts,
      SUBGRAPHS.map((n) => this.databases[n].name),
      TEST_DATABASE_URL,
    );
    try {
      const before = await this.statementCounts();
      const stop = await meter.start();
      const result = await fn();
      const cpu = await stop();
      const after = await this.statementCounts();
      const statements = before && after ? diffCounts(before, after) : null;
      return { result, cpu, statements };
    } finally {
      await meter.close();
    }
  }

  /**
   * SQL statements each subgraph has sent so far (db_statements_total from its /metrics, by
   * subgraph: all statements, and transactions begun); null when the build has no such metric.
   */
  async statementCounts(): Promise<StatementCounts | null> {
    const counts: StatementCounts = {};
    for (const name of SUBGRAPHS) {
      const text = await (await fetch(`http://127.0.0.1:${this.ports[name]}/metrics`)).text();
      let sql = 0;
      let transactions = 0;
      let found = false;
      for (const match of text.matchAll(/^db_statements_total\{([^}]*)\} (\d+(?:\.\d+)?)$/gm)) {
        found = true;
        sql += Number(match[2]);
        if (/kind="(begin|start)"/.test(match[1])) transactions += Number(match[2]);
      }
      if (!found && !/# TYPE db_statements_total/.test(text)) return null;
      counts[name] = { sql, transactions };
    }
    return counts;
  }

  /** Peak RSS (VmHWM) of every process of the stack, in MB. */
  peakRss(): Record<string, number> {
    const all = { ...this.gateways, ...this.subgraphs };
    return Object.fromEntries(Object.entries(all).map(([k, p]) => [k, Math.round(p.peakRssMb())]));
  }

  async stop() {
    for (const p of Object.values(this.gateways)) await p.kill();
    for (const p of Object.values(this.subgraphs)) await p.kill();
    await this.redis?.kill();
    for (const db of Object.values(this.databases)) await db.drop().catch(() => undefined);
  }
}

export function ensureDir(dir: string) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Per subgraph: SQL statements (round trips) and transactions begun. */
export type StatementCounts = Partial<Record<Subgraph, { sql: number; transactions: number }>>;

function diffCounts(before: StatementCounts, after: StatementCounts): StatementCounts {
  return Object.fromEntries(
    Object.entries(after).map(([name, a]) => {
      const b = before[name as Subgraph] ?? { sql: 0, transactions: 0 };
      return [name, { sql: a.sql - b.sql, transactions: a.transactions - b.transactions }];
    }),
  );
}

/** Statements per request (or per checkout), rounded, only the subgraphs that sent any. */
export function statementsPerRequest(counts: StatementCounts | null, requests: number): Record<string, { sql: number; transactions: number }> | null {
  if (!counts) return null;
  const per = (n: number) => Math.round((n / Math.max(1, requests)) * 100) / 100;
  return Object.fromEntries(
    Object.entries(counts)
      .filter(([, c]) => c.sql > 0)
      .map(([name, c]) => [name, { sql: per(c.sql), transactions: per(c.transactions) }]),
  );
}
