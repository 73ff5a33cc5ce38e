/**
 * The benchmark: `npm run bench` (full, ~10-15 min on 2 cores) or `npm run bench -- --quick`
 * (smoke run, ~3 min). Needs Postgres and Redis on 127.0.0.1 (as the tests do); installs Hive
 * Gateway on demand into bench/.hive. Options: --quick, --no-build, --no-hive, --out <file>,
 * --profile (CPU profiles of our gateway), --hold <s> (start everything, wait, stop),
 * --gateway-entry <file> (measure another build of our gateway, e.g. a patched copy),
 * --compare <file> (A/B: our gateway against another build of it, both uncached, catalog only;
 *   add --compare-cached for both with a warm response cache).
 *
 * 1. catalog: ProductList/ProductPage through our gateway (response cache off, then on),
 *    vanilla @apollo/gateway, Hive Gateway and a bare node:http ceiling, in alternating rounds;
 * 2. checkout: checkouts/s and p95 at 10 and 50 buyers, on distinct products and one hot one;
 * 3. scale: ProductList p95 through our gateway (uncached) at a small and a large catalog.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  contractOperation,
  createTestDatabase,
  createTestKeys,
  freePort,
  postGraphQL,
  startServiceProcess,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type ServiceProcess,
  type TestDatabase,
} from '@shop/kit/testing';
import { currentSupergraphPath } from '../gateway/src/testing/stack';
import { catalogChart } from './lib/chart';
import { load, type LoadResult } from './lib/load';
import { startProcess, type BenchProcess } from './lib/processes';
import { summariseProfiles } from './lib/profile';
import { median, percentile, round } from './lib/stats';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const BUILD = !args.includes('--no-build');
const HIVE = !args.includes('--no-hive');
/** CPU-profile our uncached gateway (node --cpu-prof) and print where its time goes. */
const PROFILE = args.includes('--profile');
const outIndex = args.indexOf('--out');
/** Another build of our gateway to measure (e.g. a patched copy), instead of gateway/dist/index.js. */
const gatewayEntryIndex = args.indexOf('--gateway-entry');
/** A/B of two builds of our gateway, both uncached (catalog only): --compare <entry of build B>. */
const compareIndex = args.indexOf('--compare');
const COMPARE_ENTRY = compareIndex >= 0 ? path.resolve(args[compareIndex + 1]) : null;
/** With --compare: both builds with the response cache on (warm), instead of both uncached. */
const COMPARE_CACHED = args.includes('--compare-cached');
const GATEWAY_ENTRY = gatewayEntryIndex >= 0 ? path.resolve(args[gatewayEntryIndex + 1]) : path.join(ROOT, 'gateway', 'dist', 'index.js');

const plan = QUICK
  ? { rounds: 1, seconds: 3, warmup: 1, connections: 16, checkoutSeconds: 3, buyers: [10], small: 1000, large: 5000, scaleSeconds: 3 }
  : { rounds: 3, seconds: 8, warmup: 2, connections: 16, checkoutSeconds: 10, buyers: [10, 50], small: 1000, large: 100_000, scaleSeconds: 10 };
const SUBGRAPHS = ['users', 'products', 'inventory', 'payments', 'orders'] as const;
type Subgraph = (typeof SUBGRAPHS)[number];

// Every loop below is bounded; this is the last resort if something hangs anyway.
const WATCHDOG_MS = (QUICK ? 15 : 40) * 60_000;

const ms = (value: number) => `${value.toFixed(1)} ms`;
/** 1-minute load average: the machine is shared, so every line says how busy it was. */
const loadAverage = () => os.loadavg()[0].toFixed(1);
const log = (line: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Target {
  key: string;
  label: string;
  process: BenchProcess;
  /** ours: signed in; the others ignore the header (they forward no client identity). */
  headers: Record<string, string>;
}

async function main() {
  mkdirSync(path.join(RESULTS, 'logs'), { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = path.join(RESULTS, 'logs', stamp);
  mkdirSync(logDir, { recursive: true });
  const cleanup: (() => Promise<void>)[] = [];
  const watchdog = setTimeout(() => {
    log(`watchdog: still running after ${WATCHDOG_MS / 60_000} min, giving up`);
    void runCleanup().finally(() => process.exit(2));
  }, WATCHDOG_MS);
  watchdog.unref();
  let cleaning: Promise<void> | undefined;
  function runCleanup(): Promise<void> {
    cleaning ??= (async () => {
      for (const step of cleanup.reverse()) await step().catch(() => undefined);
    })();
    return cleaning;
  }
  process.once('SIGINT', () => void runCleanup().finally(() => process.exit(130)));

  try {
    if (BUILD) {
      log('building (npx turbo run build)');
      execFileSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: ROOT, stdio: 'inherit' });
    }
    const hiveBin = HIVE ? ensureHive() : null;
    const machine = describeMachine(hiveBin);
    log(`machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memory}`);
    const responseCacheSwitch = readFileSync(path.join(ROOT, 'gateway', 'src', 'env.ts'), 'utf8').includes('RESPONSE_CACHE_ENABLED');
    if (!responseCacheSwitch) log('note: the gateway has no RESPONSE_CACHE_ENABLED yet, so "cached" and "uncached" run the same code');

    // ------------------------------------------------------------------ platform
    const keys = createTestKeys();
    const names = [...SUBGRAPHS, 'gateway', 'gatewayCached', 'gatewayB', 'vanilla', 'hive', 'ceilingList', 'ceilingPage'];
    const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()]))) as Record<string, number>;
    const urls = Object.fromEntries(SUBGRAPHS.map((n) => [`${n.toUpperCase()}_URL`, `http://127.0.0.1:${ports[n]}`]));
    const common: Record<string, string> = {
      NODE_ENV: 'production',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: uniqueRedisPrefix('bench'),
      ...urls,
    };
    const databases: Partial<Record<Subgraph, TestDatabase>> = {};
    for (const name of SUBGRAPHS) databases[name] = await createTestDatabase(`bench_${name}`);
    cleanup.push(async () => {
      for (const db of Object.values(databases)) await db!.drop().catch(() => undefined);
    });
    const adminEmail = 'bench-admin@bench.test';
    const adminPassword = 'bench-admin-password-1';
    const subgraphEnv = (name: Subgraph, extra: Record<string, string> = {}) => ({
      ...common,
      ...keys.envFor(name),
      // The subgraphs are the same for every gateway; warn keeps their logging off the 2 cores.
      LOG_LEVEL: 'warn',
      DATABASE_URL: databases[name]!.url,
      ...(name === 'users' ? { BCRYPT_COST: '10', ADMIN_EMAIL: adminEmail, ADMIN_PASSWORD: adminPassword } : {}),
      ...extra,
    });

    log(`seeding ${plan.small} products and their stock`);
    seed(subgraphEnv('products'), subgraphEnv('inventory'), plan.small);

    const services: Partial<Record<Subgraph, ServiceProcess>> = {};
    const startSubgraph = async (name: Subgraph, extra: Record<string, string> = {}) => {
      services[name] = await startServiceProcess({
        name,
        entry: path.join(ROOT, 'subgraphs', name, 'dist', 'index.js'),
        port: ports[name],
        env: subgraphEnv(name, extra),
      });
    };
    cleanup.push(async () => {
      for (const service of Object.values(services)) if (service) await stopService(service);
    });
    for (const name of SUBGRAPHS) await startSubgraph(name);
    log('subgraphs up');

    const supergraphPath = currentSupergraphPath();
    // Vanilla and Hive read routing URLs from the supergraph: point them at this run's ports.
    const routedSupergraph = path.join(logDir, 'supergraph.graphql');
    writeFileSync(
      routedSupergraph,
      readFileSync(supergraphPath, 'utf8').replace(
        /@join__graph\(name: "(\w+)", url: "[^"]*"\)/g,
        (_m, name: string) => `@join__graph(name: "${name}", url: "http://127.0.0.1:${ports[name]}/graphql")`,
      ),
    );

    const processes: BenchProcess[] = [];
    cleanup.push(async () => {
      for (const p of processes) await p.kill();
    });
    const gatewayEnv = (cache: boolean) => ({
      ...common,
      ...keys.envFor('gateway'),
      // As in production: token verification, rate limits (raised so the bench is not
      // throttled), operation limits at their defaults, info-level request logs.
      LOG_LEVEL: 'info',
      SUPERGRAPH_PATH: supergraphPath,
      RATE_LIMIT_MAX: '1000000000',
      AUTH_RATE_LIMIT_MAX: '1000000',
      RESPONSE_CACHE_ENABLED: String(cache),
    });
    const profileDir = path.join(logDir, 'profile');
    const nodeProcess = (name: string, entry: string, env: Record<string, string>, port: number, nodeArgs: string[] = []) =>
      startProcess({ name, command: process.execPath, args: [...nodeArgs, entry], env, port, logFile: path.join(logDir, `${name}.log`) }).then(
        (p) => (processes.push(p), p),
      );
    const ours = await nodeProcess(
      'gateway',
      GATEWAY_ENTRY,
      gatewayEnv(false),
      ports.gateway,
      PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, 'uncached')}`] : [],
    );
    const oursCached = await nodeProcess(
      'gateway-cached',
      GATEWAY_ENTRY,
      gatewayEnv(true),
      ports.gatewayCached,
      PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, 'cached')}`] : [],
    );
    const patched = COMPARE_ENTRY ? await nodeProcess('gateway-b', COMPARE_ENTRY, gatewayEnv(COMPARE_CACHED), ports.gatewayB) : null;
    const tokenEnv = {
      NODE_ENV: 'production',
      SUPERGRAPH_PATH: routedSupergraph,
      SERVICE_TOKEN_PRIVATE_KEY: keys.services.gateway.privateKey,
      SERVICE_TOKEN_KID: keys.services.gateway.kid,
    };
    const vanilla = await nodeProcess('vanilla', path.join(__dirname, 'gateways', 'vanilla.cjs'), tokenEnv, ports.vanilla);
    let hive: BenchProcess | null = null;
    let hiveProblem: string | null = HIVE ? null : 'skipped (--no-hive)';
    if (hiveBin) {
      try {
        hive = await startProcess({
          name: 'hive',
          command: process.execPath,
          args: [hiveBin, 'supergraph', routedSupergraph, '-c', path.join(__dirname, 'gateways', 'hive.config.mjs'), '--port', String(ports.hive), '--host', '127.0.0.1'],
          env: tokenEnv,
          port: ports.hive,
          cwd: path.join(__dirname, '.hive'),
          logFile: path.join(logDir, 'hive.log'),
        });
        processes.push(hive);
      } catch (error) {
        hiveProblem = `Hive Gateway did not start: ${(error as Error).message}`;
        log(hiveProblem);
      }
    }
    log('gateways up');
    const holdIndex = args.indexOf('--hold');
    if (holdIndex >= 0) {
      // For profiling by hand: everything stays up (bounded) while you probe it.
      const seconds = Math.min(1800, Number(args[holdIndex + 1]) || 300);
      log(`holding for ${seconds} s: ours ${ours.url}, cached ${oursCached.url}, vanilla ${vanilla.url}${hive ? `, hive ${hive.url}` : ''}`);
      log(`subgraphs: ${JSON.stringify(urls)}; gateway env in ${path.join(logDir, 'gateway.env.json')}`);
      writeFileSync(path.join(logDir, 'gateway.env.json'), JSON.stringify(gatewayEnv(false), null, 2));
      await new Promise((r) => setTimeout(r, seconds * 1000));
      return;
    }

    // ------------------------------------------------------------------ users and documents
    const gql = (url: string, query: string, variables: Record<string, unknown> = {}, token?: string) =>
      postGraphQL(url, query, variables, token ? { authorization: `Bearer ${token}` } : {});
    const register = async (email: string) => {
      const result = await gql(ours.url, contractOperation('Register'), {
        input: { email, password: 'bench-password-1', firstName: 'Bench', lastName: 'Buyer' },
      });
      const token = (result.data as { register?: { accessToken: string } } | null)?.register?.accessToken;
      if (!token) throw new Error(`register ${email} failed: ${JSON.stringify(result.errors)}`);
      return token;
    };
    const customerToken = await register(`reader-${randomUUID()}@bench.test`);
    const auth = { authorization: `Bearer ${customerToken}` };

    const productList = { query: contractOperation('ProductList'), variables: { first: 20 }, operationName: 'ProductList' };
    const firstPage = await gql(ours.url, productList.query, productList.variables, customerToken);
    const slug = (firstPage.data as { products: { edges: { node: { slug: string } }[] } }).products.edges[0].node.slug;
    const productPage = { query: contractOperation('ProductPage'), variables: { slug }, operationName: 'ProductPage' };
    const operations = [
      { name: 'ProductList', body: JSON.stringify(productList), ceiling: 'ceilingList' },
      { name: 'ProductPage', body: JSON.stringify(productPage), ceiling: 'ceilingPage' },
    ];

    // The ceiling answers with the very bytes our gateway gave, and every target must give
    // the same data before it is measured.
    const targetsFor: Record<string, Target[]> = {};
    for (const op of operations) {
      const reference = await fetch(ours.url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: op.body });
      const bytes = Buffer.from(await reference.arrayBuffer());
      const referenceData = JSON.parse(bytes.toString('utf8'));
      if (referenceData.errors || !referenceData.data) throw new Error(`${op.name} through our gateway failed: ${bytes.toString('utf8')}`);
      const bodyFile = path.join(logDir, `${op.name}.response.json`);
      writeFileSync(bodyFile, bytes);
      const ceiling = await nodeProcess(op.ceiling, path.join(__dirname, 'gateways', 'ceiling.cjs'), { BODY_FILE: bodyFile }, ports[op.ceiling]);
      const targets: Target[] = [
        { key: 'ours', label: 'ours, uncached', process: ours, headers: auth },
        { key: 'oursCached', label: 'ours, warm cache', process: oursCached, headers: auth },
        { key: 'vanilla', label: 'vanilla @apollo/gateway', process: vanilla, headers: auth },
        ...(hive ? [{ key: 'hive', label: 'Hive Gateway', process: hive, headers: auth }] : []),
        { key: 'ceiling', label: 'node:http ceiling', process: ceiling, headers: auth },
      ];
      for (const target of targets) {
        const response = await fetch(target.process.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...target.headers },
          body: op.body,
        });
        const body = (await response.json()) as { data?: unknown; errors?: unknown };
        if (body.errors || JSON.stringify(body.data) !== JSON.stringify(referenceData.data)) {
          const problem = `${target.label} answered ${op.name} differently: ${JSON.stringify(body).slice(0, 500)}`;
          if (target.key === 'hive') {
            hiveProblem = problem;
            log(problem);
            continue;
          }
          throw new Error(problem);
        }
      }
      targetsFor[op.name] = patched
        ? [targets[COMPARE_CACHED ? 1 : 0], { key: 'oursB', label: `ours B, ${COMPARE_CACHED ? 'warm cache' : 'uncached'}`, process: patched, headers: auth }]
        : targets.filter((t) => t.key !== 'hive' || !hiveProblem);
    }

    // ------------------------------------------------------------------ 1. catalog
    const catalog: Record<string, Record<string, LoadResult[]>> = {};
    for (const op of operations) {
      catalog[op.name] = {};
      for (let round = 1; round <= plan.rounds; round++) {
        for (const target of targetsFor[op.name]) {
          await load({ url: target.process.url, body: op.body, headers: target.headers, connections: plan.connections, seconds: plan.warmup });
          const cpuBefore = target.process.cpuMs();
          const result = await load({
            url: target.process.url,
            body: op.body,
            headers: target.headers,
            connections: plan.connections,
            seconds: plan.seconds,
          });
          result.cpuMsPerRequest = (target.process.cpuMs() - cpuBefore) / Math.max(1, result.requests);
          (catalog[op.name][target.key] ??= []).push(result);
          log(
            `${op.name} round ${round} ${target.label.padEnd(24)} ${result.rps.toFixed(0).padStart(6)} rps  p50 ${ms(result.p50)}  p95 ${ms(result.p95)}  p99 ${ms(result.p99)}  errors ${result.errors}  cpu ${result.cpuMsPerRequest!.toFixed(2)} ms/req  load ${loadAverage()}`,
          );
        }
      }
    }
    const rss: Record<string, number> = {
      ours: ours.peakRssMb(),
      oursCached: oursCached.peakRssMb(),
      vanilla: vanilla.peakRssMb(),
      ...(hive && !hiveProblem ? { hive: hive.peakRssMb() } : {}),
      ceiling: Math.max(...processes.filter((p) => p.name.startsWith('ceiling')).map((p) => p.peakRssMb())),
    };
    if (patched) {
      const summary = summarise(catalog, { ours: ours.peakRssMb(), oursCached: oursCached.peakRssMb(), oursB: patched.peakRssMb() });
      printTables(summary, [], []);
      for (const s of summary) {
        const [a, b] = [s.targets.find((t) => t.key === (COMPARE_CACHED ? 'oursCached' : 'ours'))!, s.targets.find((t) => t.key === 'oursB')!];
        log(`${s.operation}: B ÷ A throughput ${(b.rps / a.rps).toFixed(2)}, A ÷ B CPU per request ${(a.cpuMsPerRequest / b.cpuMsPerRequest).toFixed(2)}`);
      }
      writeFileSync(path.join(RESULTS, `compare-${stamp}.json`), `${JSON.stringify({ a: GATEWAY_ENTRY, b: COMPARE_ENTRY, summary, rounds: catalog }, null, 2)}\n`);
      return;
    }
    // Done with the peers: give their memory and any background work back.
    for (const p of processes.filter((p) => p !== ours && p !== oursCached)) await p.kill();

    // ------------------------------------------------------------------ 2. checkout
    const adminLogin = await gql(ours.url, contractOperation('Login'), { input: { email: adminEmail, password: adminPassword } });
    const adminToken = (adminLogin.data as { login?: { accessToken: string } } | null)?.login?.accessToken;
    if (!adminToken) throw new Error(`admin login failed: ${JSON.stringify(adminLogin.errors)}`);
    const maxBuyers = Math.max(...plan.buyers);
    // Product ids as a client finds them: paging through ProductList.
    const catalogIds: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20 && catalogIds.length < maxBuyers + 1; page++) {
      const result = await gql(ours.url, productList.query, { first: 20, after }, customerToken);
      const products = (result.data as { products?: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string | null } } } | null)
        ?.products;
      if (!products) throw new Error(`ProductList failed: ${JSON.stringify(result.errors)}`);
      catalogIds.push(...products.edges.map((e) => e.node.id));
      after = products.pageInfo.endCursor;
    }
    const hotProduct = catalogIds[0];
    const distinctProducts = catalogIds.slice(1, maxBuyers + 1);
    if (distinctProducts.length < maxBuyers) throw new Error(`only ${catalogIds.length} products to check out`);
    for (const productId of [hotProduct, ...distinctProducts]) {
      const result = await gql(ours.url, contractOperation('SetStock'), { productId, onHand: 1_000_000 }, adminToken);
      if (result.errors) throw new Error(`setStock failed: ${JSON.stringify(result.errors)}`);
    }
    log(`registering ${maxBuyers} buyers`);
    const buyers: string[] = [];
    for (let i = 0; i < maxBuyers; i += 5)
      buyers.push(...(await Promise.all(Array.from({ length: Math.min(5, maxBuyers - i) }, () => register(`buyer-${randomUUID()}@bench.test`)))));

    const checkout: (CheckoutResult & { buyers: number; mode: string })[] = [];
    for (const concurrency of plan.buyers)
      for (const mode of ['distinct', 'hot'] as const) {
        const productFor = (i: number) => (mode === 'hot' ? hotProduct : distinctProducts[i]);
        await runCheckouts(ours.url, buyers.slice(0, concurrency), productFor, Math.min(2, plan.checkoutSeconds));
        const result = await runCheckouts(ours.url, buyers.slice(0, concurrency), productFor, plan.checkoutSeconds);
        const entry = { buyers: concurrency, mode, ...result };
        checkout.push(entry);
        log(
          `checkout ${concurrency} buyers ${mode.padEnd(8)} ${result.checkoutsPerSecond.toFixed(1)} checkouts/s  p50 ${result.p50} ms  p95 ${result.p95} ms  errors ${result.errors}${result.errorSample ? ` (${result.errorSample})` : ''}`,
        );
      }

    // ------------------------------------------------------------------ 3. scale
    const scale: { products: number; p50: number; p95: number; p99: number; rps: number; errors: number }[] = [];
    const measureScale = async (products: number) => {
      const body = JSON.stringify(productList);
      await load({ url: ours.url, body, headers: auth, connections: plan.connections, seconds: plan.warmup });
      const result = await load({ url: ours.url, body, headers: auth, connections: plan.connections, seconds: plan.scaleSeconds });
      scale.push({
        products,
        p50: round(result.p50, 1)!,
        p95: round(result.p95, 1)!,
        p99: round(result.p99, 1)!,
        rps: round(result.rps, 0)!,
        errors: result.errors,
      });
      log(`scale ${products} products: ProductList p50 ${ms(result.p50)}  p95 ${ms(result.p95)}  (${result.rps.toFixed(0)} rps, errors ${result.errors})`);
    };
    await measureScale(plan.small);
    log(`seeding up to ${plan.large} products (products and inventory restarted on a fresh cache prefix)`);
    await stopService(services.products!);
    await stopService(services.inventory!);
    seed(subgraphEnv('products'), subgraphEnv('inventory'), plan.large);
    const freshPrefix = { REDIS_KEY_PREFIX: uniqueRedisPrefix('bench') };
    await startSubgraph('products', freshPrefix);
    await startSubgraph('inventory', freshPrefix);
    // The gateway may need a moment (its pooled connections to the old processes are gone,
    // and its circuit breaker may have opened): bounded retries.
    let total: number | undefined;
    let lastErrors: unknown;
    for (let attempt = 0; attempt < 40 && total !== plan.large; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
      const check = await gql(ours.url, productList.query, productList.variables, customerToken);
      total = (check.data as { products?: { totalCount: number } } | null)?.products?.totalCount;
      lastErrors = check.errors;
    }
    if (total !== plan.large)
      throw new Error(`expected ${plan.large} products after seeding, the gateway says ${total}: ${JSON.stringify(lastErrors)}`);
    await measureScale(plan.large);
    rss.ours = Math.max(rss.ours, ours.peakRssMb());

    // ------------------------------------------------------------------ report
    const summary = summarise(catalog, rss);
    const report = {
      when: new Date().toISOString(),
      mode: QUICK ? 'quick' : 'full',
      machine,
      plan,
      notes: {
        gatewayEntry: path.relative(ROOT, GATEWAY_ENTRY),
        responseCacheSwitch,
        hive: hiveProblem ?? 'ok',
        ours: 'NODE_ENV=production, LOG_LEVEL=info, signed-in access token, rate limits on (raised), default operation limits',
      },
      catalog: summary,
      rounds: catalog,
      checkout,
      scale,
    };
    printTables(report.catalog, checkout, scale);
    const jsonFile = outIndex >= 0 ? path.resolve(args[outIndex + 1]) : path.join(RESULTS, `bench-${stamp}.json`);
    writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(path.join(RESULTS, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    const svg = catalogChart(report);
    writeFileSync(path.join(RESULTS, 'chart.svg'), svg);
    // The committed chart BENCHMARKS.md shows is only replaced by a full run.
    if (!QUICK) writeFileSync(path.join(__dirname, 'chart.svg'), svg);
    log(`results: ${jsonFile}, chart: ${path.join(RESULTS, 'chart.svg')}${QUICK ? '' : ' and bench/chart.svg'}; process logs in ${logDir}`);
  } finally {
    await runCleanup();
    clearTimeout(watchdog);
    printProfiles(logDir);
  }
}

function printProfiles(logDir: string) {
  for (const which of PROFILE ? ['uncached', 'cached'] : []) {
    const dir = path.join(logDir, 'profile', which);
    if (!existsSync(dir)) continue;
    const summary = summariseProfiles(dir);
    writeFileSync(path.join(dir, 'summary.txt'), `${summary}\n`);
    process.stdout.write(`\nour gateway (${which}), CPU profile over the whole run:\n${summary}\n`);
  }
}

// ---------------------------------------------------------------------- helpers

/** SIGTERM, and SIGKILL if the service has not drained within 15 s (seen: products did not exit). */
async function stopService(service: ServiceProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    service.kill('SIGTERM').then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 15_000))),
  ]);
  clearTimeout(timer);
  if (!exited) {
    log(`${service.name} did not exit within 15 s of SIGTERM; killing it. Its last output:\n${service.output().slice(-2000)}`);
    await service.kill('SIGKILL');
  }
}

function seed(productsEnv: Record<string, string>, inventoryEnv: Record<string, string>, products: number) {
  // No REDIS_URL: the CLI would otherwise bump an unprefixed cache version in the shared Redis.
  const strip = ({ REDIS_URL: _r, ...rest }: Record<string, string>) => ({ PATH: process.env.PATH ?? '', ...rest });
  for (const [name, env] of [['products', productsEnv], ['inventory', inventoryEnv]] as const)
    execFileSync(process.execPath, [path.join(ROOT, 'subgraphs', name, 'dist', 'seed.js'), '--products', String(products)], {
      env: strip(env),
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    });
}

function ensureHive(): string | null {
  const dir = path.join(__dirname, '.hive');
  const bin = path.join(dir, 'node_modules', '@graphql-hive', 'gateway', 'dist', 'bin.js');
  if (existsSync(bin)) return bin;
  log('installing @graphql-hive/gateway@2 into bench/.hive (once)');
  mkdirSync(dir, { recursive: true });
  if (!existsSync(path.join(dir, 'package.json'))) writeFileSync(path.join(dir, 'package.json'), '{"name":"bench-hive","private":true}\n');
  try {
    execFileSync('npm', ['install', '@graphql-hive/gateway@2', '--no-audit', '--no-fund', '--no-workspaces'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    });
  } catch (error) {
    log(`could not install Hive Gateway: ${(error as Error).message}`);
    return null;
  }
  return existsSync(bin) ? bin : null;
}

function describeMachine(hiveBin: string | null) {
  const version = (file: string) => {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      return 'n/a';
    }
  };
  const nm = path.join(ROOT, 'node_modules');
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    postgres: safe(() => execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-Atc', 'show server_version'], { encoding: 'utf8' }).trim()),
    redis: safe(() => /redis_version:(\S+)/.exec(execFileSync('redis-cli', ['info', 'server'], { encoding: 'utf8' }))?.[1] ?? 'n/a'),
    apolloGateway: version(path.join(nm, '@apollo', 'gateway', 'package.json')),
    apolloServer: version(path.join(nm, '@apollo', 'server', 'package.json')),
    hiveGateway: hiveBin ? version(path.join(path.dirname(hiveBin), '..', 'package.json')) : 'n/a',
    autocannon: version(path.join(nm, 'autocannon', 'package.json')),
  };
}

function safe(fn: () => string): string {
  try {
    return fn();
  } catch {
    return 'n/a';
  }
}

interface CheckoutResult {
  checkouts: number;
  checkoutsPerSecond: number;
  p50: number;
  p95: number;
  errors: number;
  errorSample: string | null;
}

/**
 * Each buyer (signed in) loops until the deadline: add one unit to the cart, check out with a
 * fresh idempotency key and tok_visa. Latency is the Checkout mutation's.
 */
async function runCheckouts(url: string, tokens: string[], productFor: (buyer: number) => string, seconds: number): Promise<CheckoutResult> {
  const addToCart = contractOperation('AddToCart');
  const checkoutDoc = contractOperation('Checkout');
  const deadline = Date.now() + seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let errorSample: string | null = null;
  const started = Date.now();
  await Promise.all(
    tokens.map(async (token, i) => {
      const headers = { authorization: `Bearer ${token}` };
      for (let n = 0; n < 100_000 && Date.now() < deadline; n++) {
        try {
          const added = await postGraphQL(url, addToCart, { productId: productFor(i), quantity: 1 }, headers);
          if (added.errors) throw new Error(`addToCart: ${added.errors[0].message}`);
          const t0 = performance.now();
          const result = await postGraphQL<{ checkout: { status: string } }>(
            url,
            checkoutDoc,
            {
              input: {
                idempotencyKey: randomUUID(),
                paymentToken: 'tok_visa',
                shippingAddress: { name: 'Bench Buyer', line1: '1 Load Street', city: 'Testville', postalCode: '12345', country: 'US' },
              },
            },
            headers,
          );
          const elapsed = performance.now() - t0;
          if (result.errors || result.data?.checkout.status !== 'CONFIRMED')
            throw new Error(`checkout: ${result.errors?.[0]?.message ?? result.data?.checkout.status}`);
          latencies.push(elapsed);
        } catch (error) {
          errors++;
          errorSample ??= (error as Error).message.slice(0, 120);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  return {
    checkouts: latencies.length,
    checkoutsPerSecond: round(latencies.length / elapsed, 1)!,
    p50: round(percentile(latencies, 50), 1)!,
    p95: round(percentile(latencies, 95), 1)!,
    errors,
    errorSample,
  };
}

export interface Summary {
  operation: string;
  targets: {
    key: string;
    label: string;
    rps: number;
    p50: number;
    p95: number;
    p99: number;
    errors: number;
    cpuMsPerRequest: number;
    peakRssMb: number | null;
  }[];
  ratios: Record<string, number | null>;
}

const LABELS: Record<string, string> = {
  ours: 'ours, uncached',
  oursCached: 'ours, warm cache',
  vanilla: 'vanilla @apollo/gateway',
  hive: 'Hive Gateway',
  ceiling: 'node:http ceiling',
  oursB: 'ours B, uncached',
};

function summarise(catalog: Record<string, Record<string, LoadResult[]>>, rss: Record<string, number>): Summary[] {
  return Object.entries(catalog).map(([operation, byTarget]) => {
    // Median of the rounds; errors summed.
    const targets = Object.entries(byTarget).map(([key, rounds]) => ({
      key,
      label: LABELS[key],
      rps: round(median(rounds.map((r) => r.rps)), 0)!,
      p50: round(median(rounds.map((r) => r.p50)), 1)!,
      p95: round(median(rounds.map((r) => r.p95)), 1)!,
      p99: round(median(rounds.map((r) => r.p99)), 1)!,
      errors: rounds.reduce((sum, r) => sum + r.errors, 0),
      cpuMsPerRequest: round(median(rounds.map((r) => r.cpuMsPerRequest ?? Number.NaN)), 2)!,
      peakRssMb: rss[key] === undefined ? null : round(rss[key], 0),
    }));
    const rps = (key: string) => targets.find((t) => t.key === key)?.rps;
    const cpu = (key: string) => targets.find((t) => t.key === key)?.cpuMsPerRequest;
    const ratio = (a?: number, b?: number) => (a && b ? round(a / b, 2) : null);
    return {
      operation,
      targets,
      ratios: {
        'uncached ÷ vanilla': ratio(rps('ours'), rps('vanilla')),
        'cached ÷ vanilla': ratio(rps('oursCached'), rps('vanilla')),
        'uncached ÷ Hive': ratio(rps('ours'), rps('hive')),
        'cached ÷ Hive': ratio(rps('oursCached'), rps('hive')),
        'cached ÷ ceiling': ratio(rps('oursCached'), rps('ceiling')),
        // Requests per CPU-second, ours over vanilla: the gateway's own cost, whatever the subgraphs do.
        'uncached ÷ vanilla, per CPU': ratio(cpu('vanilla'), cpu('ours')),
        'cached ÷ vanilla, per CPU': ratio(cpu('vanilla'), cpu('oursCached')),
        'uncached ÷ Hive, per CPU': ratio(cpu('hive'), cpu('ours')),
      },
    };
  });
}

function printTables(catalog: Summary[], checkout: (CheckoutResult & { buyers: number; mode: string })[], scale: { products: number; p95: number }[]) {
  const lines: string[] = [];
  for (const s of catalog) {
    lines.push('', `${s.operation}`, '| target | req/s | p50 ms | p95 ms | p99 ms | errors | CPU ms/req | peak RSS MB |', '|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const t of s.targets)
      lines.push(`| ${t.label} | ${t.rps} | ${t.p50} | ${t.p95} | ${t.p99} | ${t.errors} | ${t.cpuMsPerRequest} | ${t.peakRssMb ?? ''} |`);
    lines.push(`ratios: ${Object.entries(s.ratios).map(([k, v]) => `${k} ${v ?? 'n/a'}`).join(', ')}`);
  }
  lines.push('', 'Checkout', '| buyers | products | checkouts/s | p50 ms | p95 ms | errors |', '|---:|---|---:|---:|---:|---:|');
  for (const c of checkout) lines.push(`| ${c.buyers} | ${c.mode} | ${c.checkoutsPerSecond} | ${c.p50} | ${c.p95} | ${c.errors} |`);
  lines.push('', 'Scale (ProductList through our gateway, uncached)', '| products | p95 ms |', '|---:|---:|');
  for (const s of scale) lines.push(`| ${s.products} | ${s.p95} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
