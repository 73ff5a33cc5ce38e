/**
 * The benchmark: `npm run bench` (full, ~10-15 min on 2 cores) or `npm run bench -- --quick`
 * (smoke run, ~3 min). Needs Postgres, Redis and redis-server on 127.0.0.1 (as the tests do);
 * installs Hive Gateway on demand into bench/.hive. Options (all parsed in lib/options.ts):
 * --quick, --no-build, --no-hive, --out <file>, --profile (CPU profiles of our gateways and of
 * the products and inventory subgraphs), --hold <s> (start everything, wait, stop),
 * --gateway-entry <file> (measure another build of our gateway, e.g. a patched copy),
 * --compare <file> (A/B: our gateway against another build of it, both uncached, catalog only;
 *   add --compare-cached for both with a warm response cache), --heap-ab and
 *   --compare-node-options "<flags>" (the same A/B of one build: B without the container's
 *   NODE_OPTIONS, or with these instead),
 * --baseline <git ref> (A/B of the whole stack: the ref built in a worktree, both stacks
 *   alternately round by round), --tracing (the same A/B with A = the working tree with
 *   tracing on, every span exported to an OTLP receiver in the bench, B = the working tree
 *   with tracing off; --tracing-ratio <r> samples A at r instead of 1.0), --rate <u>,<c> (A/B
 *   catalog loads at a fixed offered req/s, uncached and warm, instead of flat out), --rounds <n> / --seconds <s> (shorter runs while developing),
 * --phases catalog,checkout,scale (which phases run).
 *
 * Every measured window also reports the stack's CPU per request: gateway, each subgraph, the
 * Postgres backends of the stack's databases and its own redis-server (lib/meter.ts).
 *
 * 1. catalog: ProductList/ProductPage through our gateway (response cache off, then on),
 *    vanilla @apollo/gateway, Hive Gateway and a bare node:http ceiling, in alternating rounds;
 * 2. checkout: checkouts/s and p95 at 10 and 50 buyers, on distinct products and one hot one;
 * 3. scale: ProductList p95 through our gateway (uncached) at a small and a large catalog.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contractOperation, createTestKeys, freePort, postGraphQL, startOtlpReceiver } from '@shop/kit/testing';
import { currentSupergraphPath } from '../gateway/src/testing/stack';
import { describeWorkingTree, prepareBaseline } from './lib/baseline';
import { catalogChart } from './lib/chart';
import { load, type LoadResult } from './lib/load';
import { perRequest, type CpuSplit } from './lib/meter';
import { parseOptions } from './lib/options';
import { startProcess, type BenchProcess } from './lib/processes';
import { summariseProfiles } from './lib/profile';
import { runSoak, soakPlan } from './lib/soak';
import { ADMIN, Stack, statementsPerRequest, SUBGRAPHS, type Subgraph } from './lib/stack';
import { median, percentile, round } from './lib/stats';
import { checkStock, describeStockCheck, type StockCheck } from './lib/stock-check';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');
const options = parseOptions(process.argv.slice(2));
const QUICK = options.quick;
const GATEWAY_ENTRY = options.gatewayEntry ?? path.join(ROOT, 'gateway', 'dist', 'index.js');
// --heap-ab: the same build as B, without the container's heap bound (bench/lib/heap.ts).
const COMPARE_ENTRY = options.compare ?? (options.heapAb || options.compareNodeOptions !== null ? GATEWAY_ENTRY : null);
const COMPARE_CACHED = options.compareCached;

const plan = {
  ...(QUICK
    ? { rounds: 1, seconds: 3, warmup: 1, connections: 16, checkoutSeconds: 3, buyers: [10], small: 1000, large: 5000, scaleSeconds: 3 }
    : { rounds: 3, seconds: 8, warmup: 2, connections: 16, checkoutSeconds: 10, buyers: [10, 50], small: 1000, large: 100_000, scaleSeconds: 10 }),
  ...(options.rounds ? { rounds: options.rounds } : {}),
  ...(options.seconds ? { seconds: options.seconds, checkoutSeconds: options.seconds, scaleSeconds: options.seconds } : {}),
};

// Every loop below is bounded; this is the last resort if something hangs anyway.
const WATCHDOG_MS = (options.soak ? options.soak + 15 : QUICK ? 15 : options.baseline ? 60 : 40) * 60_000;

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

/** A load's figures with the stack's CPU during it, per request and per process. */
type Measured = LoadResult & {
  stackCpu?: CpuSplit;
  statements?: ReturnType<typeof statementsPerRequest>;
  /** CPU ms per request of this bench process during the window: the load generator, mostly (not part of the stack). */
  generatorMsPerRequest?: number;
};

interface Run {
  stamp: string;
  logDir: string;
  cleanup: (() => Promise<void>)[];
}

async function main() {
  mkdirSync(path.join(RESULTS, 'logs'), { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = path.join(RESULTS, 'logs', stamp);
  mkdirSync(logDir, { recursive: true });
  const run: Run = { stamp, logDir, cleanup: [] };
  const watchdog = setTimeout(() => {
    log(`watchdog: still running after ${WATCHDOG_MS / 60_000} min, giving up`);
    void runCleanup().finally(() => process.exit(2));
  }, WATCHDOG_MS);
  watchdog.unref();
  let cleaning: Promise<void> | undefined;
  function runCleanup(): Promise<void> {
    cleaning ??= (async () => {
      for (const step of run.cleanup.reverse()) await step().catch(() => undefined);
    })();
    return cleaning;
  }
  process.once('SIGINT', () => void runCleanup().finally(() => process.exit(130)));

  try {
    if (options.build) {
      log('building (npx turbo run build)');
      execFileSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: ROOT, stdio: 'inherit' });
    }
    if (options.soak)
      await runSoak({
        plan: soakPlan(options.soak, options.soakUsers, options.soakSnapshots),
        root: ROOT,
        supergraphPath: currentSupergraphPath(),
        logDir,
        resultsDir: RESULTS,
        stamp,
        log,
        cleanup: run.cleanup,
      });
    else if (options.baseline || options.tracing) await abRun(run);
    else await peersRun(run);
  } finally {
    await runCleanup();
    clearTimeout(watchdog);
    printProfiles(logDir);
  }
}

// ---------------------------------------------------------------------- users, documents, checks

const gql = (url: string, query: string, variables: Record<string, unknown> = {}, token?: string) =>
  postGraphQL(url, query, variables, token ? { authorization: `Bearer ${token}` } : {});

async function register(url: string, email: string): Promise<string> {
  const result = await gql(url, contractOperation('Register'), {
    input: { email, password: 'bench-password-1', firstName: 'Bench', lastName: 'Buyer' },
  });
  const token = (result.data as { register?: { accessToken: string } } | null)?.register?.accessToken;
  if (!token) throw new Error(`register ${email} failed: ${JSON.stringify(result.errors)}`);
  return token;
}

const productListRequest = { query: contractOperation('ProductList'), variables: { first: 20 }, operationName: 'ProductList' };

/** The catalog operations as request bodies (ProductPage of the first listed product). */
async function catalogOperations(url: string, token: string): Promise<{ name: string; body: string; ceiling: string }[]> {
  const firstPage = await gql(url, productListRequest.query, productListRequest.variables, token);
  const edges = (firstPage.data as { products?: { edges: { node: { slug: string } }[] } } | null)?.products?.edges;
  if (!edges?.length) throw new Error(`ProductList failed: ${JSON.stringify(firstPage.errors)}`);
  const productPage = { query: contractOperation('ProductPage'), variables: { slug: edges[0].node.slug }, operationName: 'ProductPage' };
  return [
    { name: 'ProductList', body: JSON.stringify(productListRequest), ceiling: 'ceilingList' },
    { name: 'ProductPage', body: JSON.stringify(productPage), ceiling: 'ceilingPage' },
  ];
}

/** The response a target gives an operation; throws unless it is data without errors. */
async function answer(url: string, body: string, headers: Record<string, string>): Promise<{ bytes: Buffer; data: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const bytes = Buffer.from(await response.arrayBuffer());
  const parsed = JSON.parse(bytes.toString('utf8')) as { data?: unknown; errors?: unknown };
  if (parsed.errors || !parsed.data) throw new Error(`${url} answered with errors: ${bytes.toString('utf8').slice(0, 500)}`);
  return { bytes, data: parsed.data };
}

/**
 * Before the first catalog round (an A/B's or a full run's): every target serves the operation
 * for a while, so that round 1 does not measure anyone's JIT compiling (the short warm-up of
 * each measured load was not enough: a side's first round ran 30-40 % slower than its later ones).
 */
async function jitWarmUp(url: string, body: string, headers: Record<string, string>) {
  await load({ url, body, headers, connections: plan.connections, seconds: Math.min(8, plan.warmup * 4) });
}

/** Warm-up, then a measured load with the stack's CPU per request (split per process). */
async function measuredLoad(stack: Stack, target: BenchProcess, body: string, headers: Record<string, string>, rate?: number): Promise<Measured> {
  await load({ url: target.url, body, headers, connections: plan.connections, seconds: plan.warmup, rate });
  const generatorBefore = process.cpuUsage();
  const { result, cpu, statements } = await stack.measure(target, () =>
    load({ url: target.url, body, headers, connections: plan.connections, seconds: plan.seconds, rate }),
  );
  const generator = process.cpuUsage(generatorBefore);
  return {
    ...result,
    generatorMsPerRequest: (generator.user + generator.system) / 1000 / Math.max(1, result.requests),
    cpuMsPerRequest: cpu.gateway / Math.max(1, result.requests),
    stackCpu: perRequest(cpu, result.requests),
    statements: statementsPerRequest(statements, result.requests),
  };
}

const sqlColumns = (statements?: ReturnType<typeof statementsPerRequest>) =>
  statements
    ? `  SQL per request: ${Object.entries(statements)
        .map(([k, v]) => `${k} ${v.sql}${v.transactions ? ` (${v.transactions} tx)` : ''}`)
        .join(', ')}`
    : '';

const cpuColumns = (split?: CpuSplit, statements?: ReturnType<typeof statementsPerRequest>) =>
  (split
    ? `stack ${split.total.toFixed(2)} ms/req (${Object.entries(split)
        .filter(([k, v]) => k !== 'total' && v >= 0.005)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')})`
    : '') + sqlColumns(statements);

// ---------------------------------------------------------------------- checkout

interface CheckoutSetup {
  buyers: string[];
  hotProduct: string;
  distinctProducts: string[];
  /** on_hand the admin gives every checkout product before the first checkout. */
  initialStock: number;
}

const INITIAL_STOCK = 1_000_000;

/** An admin stocks the products (INITIAL_STOCK each, so nothing sells out) and buyers register. */
async function prepareCheckout(url: string, customerToken: string, maxBuyers: number): Promise<CheckoutSetup> {
  const adminLogin = await gql(url, contractOperation('Login'), { input: { email: ADMIN.email, password: ADMIN.password } });
  const adminToken = (adminLogin.data as { login?: { accessToken: string } } | null)?.login?.accessToken;
  if (!adminToken) throw new Error(`admin login failed: ${JSON.stringify(adminLogin.errors)}`);
  // Product ids as a client finds them: paging through ProductList.
  const catalogIds: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 20 && catalogIds.length < maxBuyers + 1; page++) {
    const result = await gql(url, productListRequest.query, { first: 20, after }, customerToken);
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
    const result = await gql(url, contractOperation('SetStock'), { productId, onHand: INITIAL_STOCK }, adminToken);
    if (result.errors) throw new Error(`setStock failed: ${JSON.stringify(result.errors)}`);
  }
  log(`registering ${maxBuyers} buyers`);
  const buyers: string[] = [];
  for (let i = 0; i < maxBuyers; i += 5)
    buyers.push(...(await Promise.all(Array.from({ length: Math.min(5, maxBuyers - i) }, () => register(url, `buyer-${randomUUID()}@bench.test`)))));
  return { buyers, hotProduct, distinctProducts, initialStock: INITIAL_STOCK };
}

type CheckoutRow = CheckoutResult & {
  buyers: number;
  mode: string;
  stackCpu?: CpuSplit;
  statements?: ReturnType<typeof statementsPerRequest>;
  /** Hot product only: no oversell, from the stack's databases after the window. */
  stock?: StockCheck;
};

async function measuredCheckouts(stack: Stack, url: string, setup: CheckoutSetup, concurrency: number, mode: 'distinct' | 'hot'): Promise<CheckoutRow> {
  const productFor = (i: number) => (mode === 'hot' ? setup.hotProduct : setup.distinctProducts[i]);
  const buyers = setup.buyers.slice(0, concurrency);
  await runCheckouts(url, buyers, productFor, Math.min(2, plan.checkoutSeconds));
  const { result, cpu, statements } = await stack.measure(stack.gateways.ours, () => runCheckouts(url, buyers, productFor, plan.checkoutSeconds));
  // After the measured window, so its reads are not counted in the stack's CPU.
  const stock =
    mode === 'hot'
      ? await checkStock({ orders: stack.databases.orders.url, inventory: stack.databases.inventory.url }, setup.hotProduct, setup.initialStock)
      : undefined;
  // Per checkout (each also added one item to a cart).
  return {
    buyers: concurrency,
    mode,
    ...result,
    stackCpu: perRequest(cpu, result.checkouts),
    statements: statementsPerRequest(statements, result.checkouts),
    ...(stock ? { stock } : {}),
  };
}

const checkoutLine = (row: CheckoutRow) =>
  `${row.checkoutsPerSecond.toFixed(1)} checkouts/s  p50 ${row.p50} ms  p95 ${row.p95} ms  errors ${row.errors}${row.errorSample ? ` (${row.errorSample})` : ''}  ${cpuColumns(row.stackCpu, row.statements)}${row.stock ? `  ${describeStockCheck(row.stock)}` : ''}`;

/** The oversell column: every round's stock check held (n/a where the scenario has none). */
const stockVerdict = (rounds: { stock?: StockCheck }[]) => {
  const checks = rounds.flatMap((r) => (r.stock ? [r.stock] : []));
  if (checks.length === 0) return 'n/a';
  const failed = checks.filter((c) => !c.ok);
  const last = checks.at(-1)!;
  return failed.length === 0
    ? `no oversell (${checks.length}/${checks.length} checks: confirmed ${last.confirmed} + on hand ${last.onHand} = ${last.initial})`
    : `FAILED ${failed.length}/${checks.length}: ${describeStockCheck(failed[0])}`;
};

// ---------------------------------------------------------------------- A/B of whole stacks

/**
 * `--baseline <ref>`: the working tree's stack (A) and the ref's (B), each with its own
 * databases, redis-server, subgraphs and gateways, the same seeded catalog; every
 * measurement runs on both, round by round (A then B, then B then A: inRoundOrder), so both see the same machine.
 */
async function abRun(run: Run) {
  const working = describeWorkingTree(ROOT);
  // --tracing: B is the working tree itself with tracing off; A exports every sampled span (ratio 1.0 unless --tracing-ratio).
  const receiver = options.tracing ? await startOtlpReceiver({ retain: false }) : null;
  const baseline = receiver
    ? { ref: 'tracing off', commit: `${working} (tracing off)`, root: ROOT }
    : prepareBaseline(options.baseline!, ROOT, log);
  // The batch processor's OTEL_BSP_* settings the bench is started with reach the traced stack (to compare them).
  const batching = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('OTEL_BSP_'))) as Record<string, string>;
  const tracingEnv = receiver
    ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(options.tracingRatio), ...batching }
    : undefined;
  if (receiver) run.cleanup.push(() => receiver.close());
  log(`A/B: A = working tree (${working})${receiver ? ` with tracing on (ratio ${options.tracingRatio})` : ''}, B = ${baseline.ref} (${baseline.commit.slice(0, 7)}, ${baseline.root})${options.rate ? `; catalog offered ${options.rate.uncached} req/s uncached, ${options.rate.cached} warm` : ''}`);
  const keys = createTestKeys();
  const gateways = [
    { key: 'ours', cache: false },
    { key: 'oursCached', cache: true },
  ];
  // --profile: each stack's gateways are profiled too (A's under profile/<key>, B's under profile/base-<key>).
  const profiled = (label: string) =>
    gateways.map((g) => ({
      ...g,
      nodeArgs: options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(run.logDir, 'profile', label ? `${label}-${g.key}` : g.key)}`] : [],
    }));
  const stackOptions = {
    keys,
    logDir: run.logDir,
    products: plan.small,
    gateways,
    profileDir: options.profile ? path.join(run.logDir, 'profile') : undefined,
    log,
  };
  const stacks: { key: 'a' | 'b'; label: string; stack: Stack }[] = [];
  run.cleanup.push(async () => {
    for (const { stack } of stacks) await stack.stop();
  });
  stacks.push({
    key: 'a',
    label: receiver ? 'A tracing' : `A ${working}`,
    stack: await Stack.start({ ...stackOptions, gateways: profiled(''), label: '', root: ROOT, supergraphPath: currentSupergraphPath(), env: tracingEnv }),
  });
  stacks.push({
    key: 'b',
    label: receiver ? 'B no trace' : `B ${baseline.commit.slice(0, 7)}`,
    stack: await Stack.start({
      ...stackOptions,
      gateways: profiled('base'),
      label: 'base',
      root: baseline.root,
      supergraphPath: receiver ? currentSupergraphPath() : path.join(baseline.root, 'gateway', 'supergraph.graphql'),
    }),
  });
  log('both stacks up');

  const readers = await Promise.all(stacks.map(({ stack }) => register(stack.gateways.ours.url, `reader-${randomUUID()}@bench.test`)));
  const operations = await catalogOperations(stacks[0].stack.gateways.ours.url, readers[0]);
  // Same data from both stacks, cached and not, before anything is measured.
  for (const op of operations) {
    const reference = await answer(stacks[0].stack.gateways.ours.url, op.body, { authorization: `Bearer ${readers[0]}` });
    for (const [i, { stack, label }] of stacks.entries())
      for (const gateway of Object.values(stack.gateways)) {
        const { data } = await answer(gateway.url, op.body, { authorization: `Bearer ${readers[i]}` });
        if (JSON.stringify(data) !== JSON.stringify(reference.data)) throw new Error(`${label} ${gateway.name} answered ${op.name} differently`);
      }
  }

  const catalog: { operation: string; gateway: string; a: Measured[]; b: Measured[] }[] = [];
  if (options.phases.has('catalog'))
    for (const op of operations)
      for (const gateway of gateways)
        for (const [i, { stack }] of stacks.entries())
          await jitWarmUp(stack.gateways[gateway.key].url, op.body, { authorization: `Bearer ${readers[i]}` });
  if (options.phases.has('catalog'))
    for (const op of operations)
      for (const gateway of gateways) {
        const row = { operation: op.name, gateway: gateway.key, a: [] as Measured[], b: [] as Measured[] };
        catalog.push(row);
        for (let round = 1; round <= plan.rounds; round++)
          for (const [i, { key, label, stack }] of inRoundOrder(stacks, round)) {
            const rate = options.rate?.[gateway.key === 'oursCached' ? 'cached' : 'uncached'];
            const result = await measuredLoad(stack, stack.gateways[gateway.key], op.body, { authorization: `Bearer ${readers[i]}` }, rate);
            row[key].push(result);
            log(
              `${op.name} ${gateway.cache ? 'warm cache' : 'uncached'} round ${round} ${label.padEnd(12)} ${result.rps.toFixed(0).padStart(6)} rps  p50 ${ms(result.p50)}  p95 ${ms(result.p95)}  errors ${result.errors}  ${cpuColumns(result.stackCpu, result.statements)}  generator ${result.generatorMsPerRequest!.toFixed(2)} ms/req  load ${loadAverage()}`,
            );
          }
      }

  const checkout: { buyers: number; mode: string; a: CheckoutRow[]; b: CheckoutRow[] }[] = [];
  if (options.phases.has('checkout')) {
    const maxBuyers = Math.max(...plan.buyers);
    const setups = [];
    for (const [i, { stack }] of stacks.entries()) setups.push(await prepareCheckout(stack.gateways.ours.url, readers[i], maxBuyers));
    for (const concurrency of plan.buyers)
      for (const mode of ['distinct', 'hot'] as const) {
        const row = { buyers: concurrency, mode, a: [] as CheckoutRow[], b: [] as CheckoutRow[] };
        checkout.push(row);
        for (let round = 1; round <= plan.rounds; round++)
          for (const [i, { key, label, stack }] of inRoundOrder(stacks, round)) {
            const result = await measuredCheckouts(stack, stack.gateways.ours.url, setups[i], concurrency, mode);
            row[key].push(result);
            log(`checkout ${concurrency} buyers ${mode.padEnd(8)} round ${round} ${label.padEnd(12)} ${checkoutLine(result)}  load ${loadAverage()}`);
          }
      }
  }

  const rss = Object.fromEntries(stacks.map(({ key, stack }) => [key, stack.peakRss()]));
  const report = {
    when: new Date().toISOString(),
    mode: receiver ? 'tracing' : 'baseline',
    ...(receiver ? { tracingRatio: options.tracingRatio, batching } : {}),
    ...(options.rate ? { offeredRate: options.rate } : {}),
    ...(receiver ? { spansExported: receiver.spanCount(), exportRequests: receiver.requestCount() } : {}),
    machine: describeMachine(null),
    plan,
    a: { ref: 'working tree', commit: working },
    b: { ref: baseline.ref, commit: baseline.commit },
    catalog: catalog.map((row) => ({ operation: row.operation, gateway: row.gateway, a: summariseLoads(row.a), b: summariseLoads(row.b) })),
    checkout: checkout.map((row) => ({ buyers: row.buyers, mode: row.mode, a: summariseCheckouts(row.a), b: summariseCheckouts(row.b) })),
    rounds: { catalog, checkout },
    peakRssMb: rss,
  };
  printAbTables(report);
  if (receiver) printTracingOverhead(report, receiver.spanCount());
  const jsonFile = options.out ?? path.join(RESULTS, `ab-${run.stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  log(`results: ${jsonFile}; process logs in ${run.logDir}`);
}

/**
 * The stacks with their indexes in the order a round measures them: A then B in odd rounds, B
 * then A in even ones (ABBA), so that whatever drifts during a run (the machine's other work,
 * a process's heap and JIT state) weighs on both sides alike instead of always on the first.
 */
function inRoundOrder<T>(stacks: T[], round: number): [number, T][] {
  const entries = [...stacks.entries()];
  return round % 2 === 1 ? entries : entries.reverse();
}

/** --tracing: what tracing on costs, as gateway and stack CPU per request on ÷ off (1.00 = nothing). */
function printTracingOverhead(
  report: { catalog: { operation: string; gateway: string; a: ReturnType<typeof summariseLoads>; b: ReturnType<typeof summariseLoads> }[]; checkout: { buyers: number; mode: string; a: ReturnType<typeof summariseCheckouts>; b: ReturnType<typeof summariseCheckouts> }[] },
  spans: number,
) {
  const lines = ['', `Tracing overhead (A on at ratio ${options.tracingRatio} ÷ B off; ${spans} spans exported): CPU per request`, '', '| workload | gateway CPU on ÷ off | pooled over the rounds | stack CPU on ÷ off | p95 on ÷ off |', '|---|---:|---:|---:|---:|'];
  for (const row of report.catalog)
    lines.push(
      `| ${row.operation}${row.gateway === 'oursCached' ? ' (warm cache)' : ''} | ${ratio(row.a.stackCpu?.gateway, row.b.stackCpu?.gateway)} | ${ratio(row.a.pooledGatewayMs, row.b.pooledGatewayMs)} | ${ratio(row.a.stackCpu?.total, row.b.stackCpu?.total)} | ${ratio(row.a.p95, row.b.p95)} |`,
    );
  for (const row of report.checkout)
    lines.push(
      `| checkout, ${row.buyers} buyers, ${row.mode} | ${ratio(row.a.stackCpu?.gateway, row.b.stackCpu?.gateway)} | | ${ratio(row.a.stackCpu?.total, row.b.stackCpu?.total)} | ${ratio(row.a.p95, row.b.p95)} |`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Median of the rounds per figure (and per process of the stack CPU); errors summed. */
function summariseLoads(rounds: Measured[]) {
  return {
    rps: round(median(rounds.map((r) => r.rps)), 0)!,
    p50: round(median(rounds.map((r) => r.p50)), 1)!,
    p95: round(median(rounds.map((r) => r.p95)), 1)!,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    stackCpu: medianSplit(rounds.map((r) => r.stackCpu)),
    generatorMs: round(median(rounds.map((r) => r.generatorMsPerRequest ?? 0)), 2)!,
    // Every round's gateway CPU over every round's requests: steadier than a median of rounds when each round is short.
    pooledGatewayMs: round(
      rounds.reduce((sum, r) => sum + (r.stackCpu?.gateway ?? 0) * r.requests, 0) / Math.max(1, rounds.reduce((sum, r) => sum + r.requests, 0)),
      3,
    )!,
    // Statements per request hardly vary between rounds: the last round's.
    statements: rounds.at(-1)?.statements ?? null,
  };
}

function summariseCheckouts(rounds: CheckoutRow[]) {
  return {
    checkoutsPerSecond: round(median(rounds.map((r) => r.checkoutsPerSecond)), 1)!,
    p50: round(median(rounds.map((r) => r.p50)), 1)!,
    p95: round(median(rounds.map((r) => r.p95)), 1)!,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    stackCpu: medianSplit(rounds.map((r) => r.stackCpu)),
    statements: rounds.at(-1)?.statements ?? null,
    stock: stockVerdict(rounds),
  };
}

function medianSplit(splits: (CpuSplit | undefined)[]): Record<string, number> | null {
  const present = splits.filter((s): s is CpuSplit => Boolean(s));
  if (present.length === 0) return null;
  return Object.fromEntries(Object.keys(present[0]).map((k) => [k, round(median(present.map((s) => s[k] ?? 0)), 2)!]));
}

const ratio = (a?: number | null, b?: number | null) => (a && b ? round(a / b, 2) : null);
const splitText = (split: Record<string, number> | null) =>
  split ? [...SUBGRAPHS, 'postgres', 'redis'].map((k) => split[k] ?? '').join(' | ') : ' | | | | | | ';

function printAbTables(report: {
  a: { commit: string };
  b: { commit: string };
  catalog: { operation: string; gateway: string; a: ReturnType<typeof summariseLoads>; b: ReturnType<typeof summariseLoads> }[];
  checkout: { buyers: number; mode: string; a: ReturnType<typeof summariseCheckouts>; b: ReturnType<typeof summariseCheckouts> }[];
}) {
  const lines: string[] = ['', `A = working tree (${report.a.commit}), B = baseline (${report.b.commit.slice(0, 7)}); medians of the rounds; CPU in ms per request`];
  lines.push(
    '',
    `| operation | stack | req/s | p50 ms | p95 ms | errors | stack CPU | gateway | ${[...SUBGRAPHS, 'postgres', 'redis'].join(' | ')} |`,
    `|---|---|---:|---:|---:|---:|---:|---:|${[...SUBGRAPHS, 'postgres', 'redis'].map(() => '---:').join('|')}|`,
  );
  for (const row of report.catalog)
    for (const key of ['b', 'a'] as const) {
      const s = row[key];
      lines.push(
        `| ${row.operation}${row.gateway === 'oursCached' ? ' (warm cache)' : ''} | ${key.toUpperCase()} | ${s.rps} | ${s.p50} | ${s.p95} | ${s.errors} | ${s.stackCpu?.total ?? ''} | ${s.stackCpu?.gateway ?? ''} | ${splitText(s.stackCpu)} |`,
      );
    }
  // With the machine's cores saturated, req/s follows the CPU of everything on them, the bench's
  // own load generator included: (B stack + generator) ÷ (A stack + generator) is the req/s ratio
  // that A's saving can give on this machine.
  lines.push(
    '',
    '| operation | A ÷ B req/s | B ÷ A stack CPU per request | B ÷ A gateway CPU per request | A ÷ B p95 | load generator ms/req A, B | B ÷ A stack + generator CPU |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  const withGenerator = (s: ReturnType<typeof summariseLoads>) => (s.stackCpu ? s.stackCpu.total + s.generatorMs : null);
  for (const row of report.catalog)
    lines.push(
      `| ${row.operation}${row.gateway === 'oursCached' ? ' (warm cache)' : ''} | ${ratio(row.a.rps, row.b.rps)} | ${ratio(row.b.stackCpu?.total, row.a.stackCpu?.total)} | ${ratio(row.b.stackCpu?.gateway, row.a.stackCpu?.gateway)} | ${ratio(row.a.p95, row.b.p95)} | ${row.a.generatorMs}, ${row.b.generatorMs} | ${ratio(withGenerator(row.b), withGenerator(row.a))} |`,
    );
  if (report.checkout.length) {
    lines.push(
      '',
      `| checkout | stack | checkouts/s | p50 ms | p95 ms | errors | stack CPU per checkout | gateway | ${[...SUBGRAPHS, 'postgres', 'redis'].join(' | ')} | oversell check |`,
      `|---|---|---:|---:|---:|---:|---:|---:|${[...SUBGRAPHS, 'postgres', 'redis'].map(() => '---:').join('|')}|---|`,
    );
    for (const row of report.checkout)
      for (const key of ['b', 'a'] as const) {
        const s = row[key];
        lines.push(
          `| ${row.buyers} buyers, ${row.mode} | ${key.toUpperCase()} | ${s.checkoutsPerSecond} | ${s.p50} | ${s.p95} | ${s.errors} | ${s.stackCpu?.total ?? ''} | ${s.stackCpu?.gateway ?? ''} | ${splitText(s.stackCpu)} | ${s.stock} |`,
        );
      }
    lines.push('', '| checkout | A ÷ B checkouts/s | B ÷ A stack CPU per checkout | A ÷ B p95 |', '|---|---:|---:|---:|');
    for (const row of report.checkout)
      lines.push(
        `| ${row.buyers} buyers, ${row.mode} | ${ratio(row.a.checkoutsPerSecond, row.b.checkoutsPerSecond)} | ${ratio(row.b.stackCpu?.total, row.a.stackCpu?.total)} | ${ratio(row.a.p95, row.b.p95)} |`,
      );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------- our gateway against its peers

async function peersRun(run: Run) {
  const { logDir, stamp } = run;
  const hiveBin = options.hive ? ensureHive() : null;
  const machine = describeMachine(hiveBin);
  log(`machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memory}`);
  const responseCacheSwitch = readFileSync(path.join(ROOT, 'gateway', 'src', 'env.ts'), 'utf8').includes('RESPONSE_CACHE_ENABLED');
  if (!responseCacheSwitch) log('note: the gateway has no RESPONSE_CACHE_ENABLED yet, so "cached" and "uncached" run the same code');

  // ------------------------------------------------------------------ platform
  const keys = createTestKeys();
  const profileDir = path.join(logDir, 'profile');
  const cpuProf = (which: string) => (options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, which)}`] : []);
  const supergraphPath = currentSupergraphPath();
  const stack = await Stack.start({
    label: '',
    root: ROOT,
    supergraphPath,
    keys,
    logDir,
    products: plan.small,
    gateways: [
      { key: 'ours', cache: false, entry: GATEWAY_ENTRY, nodeArgs: cpuProf('uncached') },
      { key: 'oursCached', cache: true, entry: GATEWAY_ENTRY, nodeArgs: cpuProf('cached') },
      ...(COMPARE_ENTRY ? [{ key: 'oursB', cache: COMPARE_CACHED, entry: COMPARE_ENTRY, unbounded: options.heapAb, nodeOptions: options.compareNodeOptions ?? undefined }] : []),
    ],
    profileDir: options.profile ? profileDir : undefined,
    log,
  });
  run.cleanup.push(() => stack.stop());
  log('subgraphs and our gateways up');
  const ours = stack.gateways.ours;
  const oursCached = stack.gateways.oursCached;
  const patched = stack.gateways.oursB ?? null;

  // Vanilla and Hive read routing URLs from the supergraph: point them at this run's ports.
  const routedSupergraph = path.join(logDir, 'supergraph.graphql');
  writeFileSync(
    routedSupergraph,
    readFileSync(supergraphPath, 'utf8').replace(
      /@join__graph\(name: "(\w+)", url: "[^"]*"\)/g,
      (_m, name: string) => `@join__graph(name: "${name}", url: "http://127.0.0.1:${stack.subgraphPort(name as Subgraph)}/graphql")`,
    ),
  );

  const processes: BenchProcess[] = [];
  run.cleanup.push(async () => {
    for (const p of processes) await p.kill();
  });
  const nodeProcess = async (name: string, entry: string, env: Record<string, string>) => {
    const p = await startProcess({ name, command: process.execPath, args: [entry], env, port: await freePort(), logFile: path.join(logDir, `${name}.log`) });
    processes.push(p);
    return p;
  };
  const tokenEnv = {
    NODE_ENV: 'production',
    SUPERGRAPH_PATH: routedSupergraph,
    SERVICE_TOKEN_PRIVATE_KEY: keys.services.gateway.privateKey,
    SERVICE_TOKEN_KID: keys.services.gateway.kid,
  };
  const vanilla = await nodeProcess('vanilla', path.join(__dirname, 'gateways', 'vanilla.cjs'), tokenEnv);
  let hive: BenchProcess | null = null;
  let hiveProblem: string | null = options.hive ? null : 'skipped (--no-hive)';
  if (hiveBin) {
    try {
      const port = await freePort();
      hive = await startProcess({
        name: 'hive',
        command: process.execPath,
        args: [hiveBin, 'supergraph', routedSupergraph, '-c', path.join(__dirname, 'gateways', 'hive.config.mjs'), '--port', String(port), '--host', '127.0.0.1'],
        env: tokenEnv,
        port,
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
  if (options.hold) {
    // For profiling by hand: everything stays up (bounded) while you probe it.
    log(`holding for ${options.hold} s: ours ${ours.url}, cached ${oursCached.url}, vanilla ${vanilla.url}${hive ? `, hive ${hive.url}` : ''}`);
    log(`subgraphs: ${JSON.stringify(Object.fromEntries(SUBGRAPHS.map((n) => [n, stack.subgraphPort(n)])))}; gateway env in ${path.join(logDir, 'gateway.env.json')}`);
    writeFileSync(path.join(logDir, 'gateway.env.json'), JSON.stringify(stack.gatewayEnv(false), null, 2));
    await new Promise((r) => setTimeout(r, options.hold! * 1000));
    return;
  }

  // ------------------------------------------------------------------ users and documents
  const customerToken = await register(ours.url, `reader-${randomUUID()}@bench.test`);
  const auth = { authorization: `Bearer ${customerToken}` };
  const operations = await catalogOperations(ours.url, customerToken);

  // The ceiling answers with the very bytes our gateway gave, and every target must give
  // the same data before it is measured.
  const targetsFor: Record<string, Target[]> = {};
  for (const op of operations) {
    const reference = await answer(ours.url, op.body, auth);
    const bodyFile = path.join(logDir, `${op.name}.response.json`);
    writeFileSync(bodyFile, reference.bytes);
    const ceiling = await nodeProcess(op.ceiling, path.join(__dirname, 'gateways', 'ceiling.cjs'), { BODY_FILE: bodyFile });
    const targets: Target[] = [
      { key: 'ours', label: 'ours, uncached', process: ours, headers: auth },
      { key: 'oursCached', label: 'ours, warm cache', process: oursCached, headers: auth },
      { key: 'vanilla', label: 'vanilla @apollo/gateway', process: vanilla, headers: auth },
      ...(hive ? [{ key: 'hive', label: 'Hive Gateway', process: hive, headers: auth }] : []),
      { key: 'ceiling', label: 'node:http ceiling', process: ceiling, headers: auth },
    ];
    for (const target of targets) {
      const problem = await answer(target.process.url, op.body, target.headers).then(
        ({ data }) => (JSON.stringify(data) === JSON.stringify(reference.data) ? null : `${target.label} answered ${op.name} differently: ${JSON.stringify(data).slice(0, 500)}`),
        (error: Error) => `${target.label}: ${error.message}`,
      );
      if (!problem) continue;
      if (target.key !== 'hive') throw new Error(problem);
      hiveProblem = problem;
      log(problem);
    }
    targetsFor[op.name] = patched
      ? [targets[COMPARE_CACHED ? 1 : 0], { key: 'oursB', label: `ours B, ${COMPARE_CACHED ? 'warm cache' : 'uncached'}`, process: patched, headers: auth }]
      : targets.filter((t) => t.key !== 'hive' || !hiveProblem);
  }

  // ------------------------------------------------------------------ 1. catalog
  const catalog: Record<string, Record<string, Measured[]>> = {};
  if (options.phases.has('catalog'))
    for (const op of operations) for (const target of targetsFor[op.name]) await jitWarmUp(target.process.url, op.body, target.headers);
  if (options.phases.has('catalog'))
    for (const op of operations) {
      catalog[op.name] = {};
      for (let round = 1; round <= plan.rounds; round++) {
        // An A/B of two builds alternates which goes first (ABBA); a full run keeps its fixed order.
        const order = patched ? inRoundOrder(targetsFor[op.name], round).map(([, target]) => target) : targetsFor[op.name];
        for (const target of order) {
          const result = await measuredLoad(stack, target.process, op.body, target.headers);
          (catalog[op.name][target.key] ??= []).push(result);
          log(
            `${op.name} round ${round} ${target.label.padEnd(24)} ${result.rps.toFixed(0).padStart(6)} rps  p50 ${ms(result.p50)}  p95 ${ms(result.p95)}  p99 ${ms(result.p99)}  errors ${result.errors}  cpu ${result.cpuMsPerRequest!.toFixed(2)} ms/req  ${target.key === 'ceiling' ? '' : cpuColumns(result.stackCpu, result.statements)}  load ${loadAverage()}`,
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
      const pooled = (key: string) => {
        const rounds = catalog[s.operation][key];
        return rounds.reduce((sum, r) => sum + r.cpuMsPerRequest! * r.requests, 0) / rounds.reduce((sum, r) => sum + r.requests, 0);
      };
      const aKey = COMPARE_CACHED ? 'oursCached' : 'ours';
      log(
        `${s.operation}: B ÷ A throughput ${(b.rps / a.rps).toFixed(2)}, A ÷ B CPU per request ${(a.cpuMsPerRequest / b.cpuMsPerRequest).toFixed(2)} (medians), ${(pooled(aKey) / pooled('oursB')).toFixed(2)} (pooled over the rounds)`,
      );
    }
    writeFileSync(path.join(RESULTS, `compare-${stamp}.json`), `${JSON.stringify({ a: GATEWAY_ENTRY, b: COMPARE_ENTRY, summary, rounds: catalog }, null, 2)}\n`);
    return;
  }
  // Done with the peers: give their memory and any background work back.
  for (const p of processes) await p.kill();

  // ------------------------------------------------------------------ 2. checkout
  const checkout: CheckoutRow[] = [];
  if (options.phases.has('checkout')) {
    const setup = await prepareCheckout(ours.url, customerToken, Math.max(...plan.buyers));
    for (const concurrency of plan.buyers)
      for (const mode of ['distinct', 'hot'] as const) {
        const entry = await measuredCheckouts(stack, ours.url, setup, concurrency, mode);
        checkout.push(entry);
        log(`checkout ${concurrency} buyers ${mode.padEnd(8)} ${checkoutLine(entry)}`);
      }
  }

  // ------------------------------------------------------------------ 3. scale
  const scale: { products: number; p50: number; p95: number; p99: number; rps: number; errors: number }[] = [];
  const measureScale = async (products: number) => {
    const body = JSON.stringify(productListRequest);
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
  if (options.phases.has('scale')) {
    await measureScale(plan.small);
    log(`seeding up to ${plan.large} products (products and inventory restarted on a fresh cache prefix)`);
    await stack.reseed(plan.large);
    // The gateway may need a moment (its pooled connections to the old processes are gone,
    // and its circuit breaker may have opened): bounded retries.
    let total: number | undefined;
    let lastErrors: unknown;
    for (let attempt = 0; attempt < 40 && total !== plan.large; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
      const check = await gql(ours.url, productListRequest.query, productListRequest.variables, customerToken);
      total = (check.data as { products?: { totalCount: number } } | null)?.products?.totalCount;
      lastErrors = check.errors;
    }
    if (total !== plan.large)
      throw new Error(`expected ${plan.large} products after seeding, the gateway says ${total}: ${JSON.stringify(lastErrors)}`);
    await measureScale(plan.large);
  }
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
    peakRssMb: stack.peakRss(),
  };
  printTables(report.catalog, checkout, scale);
  const jsonFile = options.out ?? path.join(RESULTS, `bench-${stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(RESULTS, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const svg = catalogChart(report);
  writeFileSync(path.join(RESULTS, 'chart.svg'), svg);
  // The committed chart BENCHMARKS.md shows is only replaced by a full run.
  const full = !QUICK && !options.rounds && !options.seconds && options.phases.size === 3;
  if (full) writeFileSync(path.join(__dirname, 'chart.svg'), svg);
  log(`results: ${jsonFile}, chart: ${path.join(RESULTS, 'chart.svg')}${full ? ' and bench/chart.svg' : ''}; process logs in ${logDir}`);
}

function printProfiles(logDir: string) {
  const root = path.join(logDir, 'profile');
  if (!options.profile || !existsSync(root)) return;
  for (const which of readdirSync(root)) {
    const dir = path.join(root, which);
    const summary = summariseProfiles(dir);
    writeFileSync(path.join(dir, 'summary.txt'), `${summary}\n`);
    process.stdout.write(`\n${which}: CPU profile over the whole run:\n${summary}\n`);
  }
}

// ---------------------------------------------------------------------- helpers

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
    /** The whole stack's CPU per request (gateway, subgraphs, Postgres backends, Redis), and per process. */
    stackCpuMsPerRequest: number | null;
    stackCpu: Record<string, number> | null;
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
  oursB: `ours B, ${COMPARE_CACHED ? 'warm cache' : 'uncached'}`,
};

function summarise(catalog: Record<string, Record<string, Measured[]>>, rss: Record<string, number>): Summary[] {
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
      stackCpu: key === 'ceiling' ? null : medianSplit(rounds.map((r) => r.stackCpu)),
      stackCpuMsPerRequest: key === 'ceiling' ? null : (medianSplit(rounds.map((r) => r.stackCpu))?.total ?? null),
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

function printTables(catalog: Summary[], checkout: CheckoutRow[], scale: { products: number; p95: number }[]) {
  const lines: string[] = [];
  for (const s of catalog) {
    lines.push(
      '',
      `${s.operation}`,
      `| target | req/s | p50 ms | p95 ms | p99 ms | errors | CPU ms/req | stack CPU ms/req | ${[...SUBGRAPHS, 'postgres', 'redis'].join(' | ')} | peak RSS MB |`,
      `|---|---:|---:|---:|---:|---:|---:|---:|${[...SUBGRAPHS, 'postgres', 'redis'].map(() => '---:').join('|')}|---:|`,
    );
    for (const t of s.targets)
      lines.push(
        `| ${t.label} | ${t.rps} | ${t.p50} | ${t.p95} | ${t.p99} | ${t.errors} | ${t.cpuMsPerRequest} | ${t.stackCpuMsPerRequest ?? ''} | ${splitText(t.stackCpu)} | ${t.peakRssMb ?? ''} |`,
      );
    lines.push(`ratios: ${Object.entries(s.ratios).map(([k, v]) => `${k} ${v ?? 'n/a'}`).join(', ')}`);
  }
  lines.push(
    '',
    'Checkout',
    '| buyers | products | checkouts/s | p50 ms | p95 ms | errors | stack CPU ms per checkout | oversell check |',
    '|---:|---|---:|---:|---:|---:|---:|---|',
  );
  for (const c of checkout)
    lines.push(
      `| ${c.buyers} | ${c.mode} | ${c.checkoutsPerSecond} | ${c.p50} | ${c.p95} | ${c.errors} | ${c.stackCpu ? round(c.stackCpu.total, 2) : ''} | ${stockVerdict([c])} |`,
    );
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
