/**
 * `npm run bench -- --soak <minutes>`: mixed storefront traffic through our gateway (production
 * mode, response cache on, every protection on) from a fixed number of virtual users, with every
 * service's memory sampled; a table per minute and a verdict at the end (memory growth after the
 * warm-up, 5xx, error codes). See BENCHMARKS.md, "Soak".
 *
 * A virtual user's visit: sometimes a new session (Logout, Login) or a refresh of an old token,
 * Categories, one or two ProductList pages (first page, a category, a sort, the next page), one
 * to three ProductPage views, then perhaps AddToCart of an in-stock product, and perhaps Cart +
 * Checkout (mostly tok_visa, 5 % declined cards) followed by Order or MyOrders, with a random
 * think time between requests. An admin restocks what was bought every 15 s (SetStock), so
 * stock does not run out; OUT_OF_STOCK can still answer a race for the last units and is
 * counted as expected.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contractOperation, createTestKeys } from '@shop/kit/testing';
import { ADMIN, Stack, SUBGRAPHS } from './stack';
import { median, percentile, round } from './stats';

export interface SoakPlan {
  minutes: number;
  /** Virtual users, each one visit after another. */
  users: number;
  /** Mean think time between a user's requests (uniform 0..2×). */
  thinkMs: number;
  /** Products seeded. */
  products: number;
  /** Memory growth is judged from the end of this many minutes (5, or half a shorter run). */
  warmupMinutes: number;
  /** Memory sample interval. */
  sampleSeconds: number;
  /** Heap snapshot of every Node service at the end of the warm-up and at the end (--soak-snapshots). */
  heapSnapshots: boolean;
}

export function soakPlan(minutes: number, users: number | null, heapSnapshots: boolean): SoakPlan {
  return {
    minutes,
    users: users ?? 16,
    thinkMs: 150,
    products: 1000,
    warmupMinutes: Math.min(5, minutes / 2),
    sampleSeconds: 5,
    heapSnapshots,
  };
}

/** The growth target: no service grows more than this after the warm-up. */
const GROWTH_LIMIT = 0.1;
/** Contract codes that are expected answers in this traffic, by operation. */
const EXPECTED_CODES: Record<string, string[]> = { AddToCart: ['OUT_OF_STOCK'], Checkout: ['OUT_OF_STOCK'] };
const REQUEST_TIMEOUT_MS = 30_000;
const SERVICES = ['gateway', ...SUBGRAPHS] as const;

interface Call {
  status: number;
  data: Record<string, unknown> | null;
  codes: string[];
}

/** Per minute: requests, latencies and outcomes, per operation. */
class Tally {
  readonly latencies = new Map<string, number[]>();
  readonly codes = new Map<string, number>();
  requests = 0;
  status5xx = 0;
  transport = 0;

  record(operation: string, ms: number, status: number, codes: string[]) {
    this.requests++;
    let list = this.latencies.get(operation);
    if (!list) this.latencies.set(operation, (list = []));
    list.push(ms);
    if (status >= 500) this.status5xx++;
    if (status === 0) this.transport++;
    for (const code of codes) {
      const key = `${operation}:${code}`;
      this.codes.set(key, (this.codes.get(key) ?? 0) + 1);
    }
  }

  all(): number[] {
    return [...this.latencies.values()].flat();
  }
}

interface Sample {
  at: number;
  /** VmRSS in MB, per service (and the stack's redis-server). */
  rss: Record<string, number>;
  /** nodejs_heap_size_used_bytes in MB, per Node service (from its /metrics). */
  heap: Record<string, number | null>;
}

export interface SoakResult {
  when: string;
  plan: SoakPlan;
  machine: { cpus: number; memory: string; node: string };
  minutes: {
    minute: number;
    requests: number;
    rps: number;
    p95: number | null;
    status5xx: number;
    errors: Record<string, number>;
    rssMb: Record<string, number>;
    heapMb: Record<string, number | null>;
    load: number;
  }[];
  operations: Record<string, { count: number; p50: number | null; p95: number | null }>;
  checkouts: Record<string, number>;
  restocks: number;
  memory: Record<string, { atWarmupMb: number; endMb: number; peakAfterWarmupMb: number; growth: number; heapAtWarmupMb: number | null; heapEndMb: number | null; heapGrowth: number | null; ok: boolean }>;
  status5xx: number;
  transportErrors: number;
  codes: Record<string, number>;
  unexpectedCodes: Record<string, number>;
  verdict: { memory: boolean; no5xx: boolean; onlyExpectedCodes: boolean; pass: boolean };
  loadAverage: { min: number; max: number; median: number };
  samples: Sample[];
}

/**
 * Runs the soak on a stack of the working tree (`root`): returns when the time is up and every
 * user has finished its current request (each request has its own timeout).
 */
export async function runSoak(options: {
  plan: SoakPlan;
  root: string;
  supergraphPath: string;
  logDir: string;
  resultsDir: string;
  stamp: string;
  log: (line: string) => void;
  /** Stops the stack at the end (the caller's cleanup list). */
  cleanup: (() => Promise<void>)[];
}): Promise<SoakResult> {
  const { plan, log } = options;
  const heapDir = path.join(options.logDir, 'heap');
  const stack = await Stack.start({
    label: '',
    root: options.root,
    supergraphPath: options.supergraphPath,
    keys: createTestKeys(),
    logDir: options.logDir,
    products: plan.products,
    // As in production: response cache on (its default), rate limits on (raised by the stack so
    // one address is not throttled), operation limits, token verification, info-level logs.
    gateways: [{ key: 'gateway', cache: true }],
    nodeArgs: plan.heapSnapshots ? (name) => ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${ensure(path.join(heapDir, name))}`] : undefined,
    log,
  });
  options.cleanup.push(() => stack.stop());
  const gateway = stack.gateways.gateway;
  const url = gateway.url;
  const processes: Record<string, { pid: number; metrics: string | null }> = {
    gateway: { pid: gateway.pid, metrics: url.replace(/\/graphql$/, '/metrics') },
    ...Object.fromEntries(SUBGRAPHS.map((n) => [n, { pid: stack.subgraphs[n].pid, metrics: `http://127.0.0.1:${stack.subgraphPort(n)}/metrics` }])),
    redis: { pid: stack.redis.pid, metrics: null },
  };

  let tally = new Tally();
  const client = new SoakClient(url, () => tally);
  const admin = await client.signIn(ADMIN.email, ADMIN.password);
  const users: VirtualUser[] = [];
  log(`soak: registering ${plan.users} users`);
  for (let i = 0; i < plan.users; i++) {
    const email = `soak-${i}-${randomUUID()}@bench.test`;
    const password = 'soak-password-1';
    const registered = await client.call('Register', { input: { email, password, firstName: 'Soak', lastName: `User${i}` } });
    const session = registered.data?.register as SessionTokens | undefined;
    if (!session) throw new Error(`soak: register failed: ${registered.codes.join(', ')}`);
    users.push(new VirtualUser(client, email, password, session, plan.thinkMs));
  }
  tally = new Tally(); // set-up requests are not part of the soak

  const started = Date.now();
  const deadline = started + plan.minutes * 60_000;
  const samples: Sample[] = [];
  const minutes: SoakResult['minutes'] = [];
  const loads: number[] = [];
  const operations = new Map<string, number[]>();
  const totals = new Tally();
  const bought = new Set<string>();
  let restocks = 0;
  const checkouts: Record<string, number> = {};
  let stopping = false;
  let snapshotsTaken = 0;

  const sample = async () => {
    const rss: Record<string, number> = {};
    const heap: Record<string, number | null> = {};
    for (const [name, p] of Object.entries(processes)) {
      rss[name] = vmRssMb(p.pid);
      if (p.metrics) heap[name] = await heapUsedMb(p.metrics);
    }
    samples.push({ at: Date.now() - started, rss, heap });
  };
  await sample();
  log(`soak: ${plan.minutes} min, ${plan.users} users (think ${plan.thinkMs} ms), ${plan.products} products; memory judged after ${plan.warmupMinutes} min; load ${loadAverage()}`);
  log(`| min | requests | req/s | p95 ms | 5xx | errors | ${Object.keys(processes).map((n) => `${n} RSS/heap MB`).join(' | ')} | load |`);

  const sampler = setInterval(() => void sample().catch(() => undefined), plan.sampleSeconds * 1000);
  const minuteTimer = setInterval(() => {
    const closed = tally;
    tally = new Tally();
    merge(totals, closed, operations);
    const last = samples.at(-1)!;
    const load = os.loadavg()[0];
    loads.push(load);
    const row = {
      minute: minutes.length + 1,
      requests: closed.requests,
      rps: round(closed.requests / 60, 1)!,
      p95: round(percentile(closed.all(), 95), 0),
      status5xx: closed.status5xx,
      errors: Object.fromEntries(closed.codes),
      rssMb: last.rss,
      heapMb: last.heap,
      load: round(load, 1)!,
    };
    minutes.push(row);
    const errors = Object.entries(row.errors).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    log(
      `| ${row.minute} | ${row.requests} | ${row.rps} | ${row.p95 ?? '-'} | ${row.status5xx} | ${errors}${closed.transport ? `, transport ${closed.transport}` : ''} | ${Object.keys(processes)
        .map((n) => `${last.rss[n].toFixed(0)}${last.heap[n] !== undefined ? `/${last.heap[n]?.toFixed(0) ?? '?'}` : ''}`)
        .join(' | ')} | ${row.load} |`,
    );
  }, 60_000);
  const snapshot = async (when: string) => {
    if (!plan.heapSnapshots) return;
    log(`soak: heap snapshots (${when}) into ${heapDir}`);
    // One service at a time: writing a snapshot stalls its process (and doubles its memory) for a while.
    for (const name of SERVICES) {
      const dir = path.join(heapDir, name);
      const before = new Set(readdirSync(dir));
      process.kill(processes[name].pid, 'SIGUSR2');
      // The file appears at once and fills for up to a minute or more: wait (bounded) until its size stays put.
      let size = -1;
      for (let i = 0; i < 300; i++) {
        await sleep(1000);
        const file = readdirSync(dir).find((f) => !before.has(f));
        const now = file ? statSync(path.join(dir, file)).size : 0;
        if (now > 0 && now === size) break;
        size = now;
      }
    }
    snapshotsTaken++;
  };
  const warmupTimer = setTimeout(() => void snapshot('end of warm-up'), plan.warmupMinutes * 60_000);

  // Restocking: the admin sets what was bought back to 1,000 units every 15 s.
  const restocker = (async () => {
    let token = admin;
    while (!stopping) {
      await sleep(15_000, () => stopping);
      if (Date.now() - token.at > 10 * 60_000) token = await client.signIn(ADMIN.email, ADMIN.password);
      const ids = [...bought];
      bought.clear();
      for (const productId of ids) {
        if (stopping) break;
        await client.call('SetStock', { productId, onHand: 1000 }, token.accessToken);
        restocks++;
      }
    }
  })();

  await Promise.all(
    users.map(async (user) => {
      for (let visit = 0; visit < 1_000_000 && Date.now() < deadline; visit++) {
        const outcome = await user.visit(deadline).catch(() => null);
        if (!outcome) continue;
        for (const id of outcome.bought) bought.add(id);
        if (outcome.checkout) checkouts[outcome.checkout] = (checkouts[outcome.checkout] ?? 0) + 1;
      }
    }),
  );
  stopping = true;
  clearTimeout(warmupTimer);
  clearInterval(minuteTimer);
  clearInterval(sampler);
  await restocker;
  merge(totals, tally, operations);
  await sample();
  if (plan.heapSnapshots && snapshotsTaken < 2) await snapshot('end');

  const result = verdict({ plan, samples, minutes, totals, operations, checkouts, restocks, loads });
  printVerdict(result, log);
  const file = path.join(options.resultsDir, `soak-${options.stamp}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`soak: results in ${file}; process logs in ${options.logDir}${plan.heapSnapshots ? `; heap snapshots in ${heapDir}` : ''}`);
  return result;
}

// ---------------------------------------------------------------------- traffic

interface SessionTokens {
  accessToken: string;
  refreshToken: string;
}

class SoakClient {
  private readonly documents = new Map<string, string>();

  constructor(
    private readonly url: string,
    private readonly tally: () => Tally,
  ) {}

  private document(operation: string) {
    let text = this.documents.get(operation);
    if (!text) this.documents.set(operation, (text = contractOperation(operation)));
    return text;
  }

  /** One operation of the contract; every outcome (latency, status, error codes) is tallied. */
  async call(operation: string, variables: Record<string, unknown>, token?: string): Promise<Call> {
    const t0 = performance.now();
    let status = 0;
    let data: Record<string, unknown> | null = null;
    let codes: string[] = [];
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query: this.document(operation), variables, operationName: operation }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = response.status;
      const text = await response.text();
      try {
        const body = JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
        data = body.data ?? null;
        codes = (body.errors ?? []).map((e) => e.extensions?.code ?? 'NO_CODE');
      } catch {
        codes = [`HTTP_${status}_NOT_JSON`];
      }
    } catch (error) {
      codes = [(error as Error).name === 'TimeoutError' ? 'CLIENT_TIMEOUT' : 'TRANSPORT_ERROR'];
    }
    this.tally().record(operation, performance.now() - t0, status, codes);
    return { status, data, codes };
  }

  async signIn(email: string, password: string): Promise<SessionTokens & { at: number }> {
    const result = await this.call('Login', { input: { email, password } });
    const login = result.data?.login as SessionTokens | undefined;
    if (!login) throw new Error(`soak: login of ${email} failed: ${result.codes.join(', ')}`);
    return { ...login, at: Date.now() };
  }
}

interface ProductCard {
  id: string;
  slug: string;
  inStock: boolean;
}

const SHIPPING = { name: 'Soak Buyer', line1: '1 Endurance Road', city: 'Testville', postalCode: '12345', country: 'US' };
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];

class VirtualUser {
  /** Null after a logout until the next sign-in succeeds (a failed sign-in is retried next visit). */
  private session: (SessionTokens & { at: number }) | null;
  private categories: string[] = [];

  constructor(
    private readonly client: SoakClient,
    private readonly email: string,
    private readonly password: string,
    session: SessionTokens,
    private readonly thinkMs: number,
  ) {
    this.session = { ...session, at: Date.now() };
  }

  private async think(deadline: number) {
    await sleep(Math.random() * 2 * this.thinkMs);
    if (Date.now() >= deadline) throw new Error('time is up');
  }

  private call(operation: string, variables: Record<string, unknown> = {}) {
    return this.client.call(operation, variables, this.session?.accessToken);
  }

  /** One visit; what it bought (for the restocker) and how its checkout ended, if it had one. */
  async visit(deadline: number): Promise<{ bought: string[]; checkout: string | null }> {
    const bought: string[] = [];
    // Sign-in: a new session one visit in ten (the old one logged out), a refresh before the access token's 15 minutes are up.
    if (!this.session || Math.random() < 0.1) {
      if (this.session) await this.call('Logout');
      this.session = null;
      this.session = await this.client.signIn(this.email, this.password);
    } else if (Date.now() - this.session.at > 8 * 60_000) {
      const refreshed = await this.client.call('RefreshSession', { refreshToken: this.session.refreshToken });
      const tokens = refreshed.data?.refreshSession as SessionTokens | undefined;
      this.session = null;
      this.session = tokens ? { ...tokens, at: Date.now() } : await this.client.signIn(this.email, this.password);
    }
    await this.think(deadline);

    if (this.categories.length === 0 || Math.random() < 0.3) {
      const categories = await this.call('Categories');
      this.categories = ((categories.data?.categories as { slug: string }[] | undefined) ?? []).map((c) => c.slug);
      await this.think(deadline);
    }
    const roll = Math.random();
    const variables: Record<string, unknown> =
      roll < 0.55 || this.categories.length === 0
        ? { first: 20 }
        : roll < 0.85
          ? { first: 20, filter: { categorySlug: pick(this.categories) } }
          : { first: 20, sort: pick(['PRICE_ASC', 'PRICE_DESC', 'NAME_ASC', 'NEWEST']) };
    let list = await this.call('ProductList', variables);
    let products = list.data?.products as { edges: { node: ProductCard }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } | undefined;
    await this.think(deadline);
    if (products?.pageInfo.hasNextPage && Math.random() < 0.4) {
      list = await this.call('ProductList', { ...variables, after: products.pageInfo.endCursor });
      products = (list.data?.products as typeof products) ?? products;
      await this.think(deadline);
    }
    const cards = products?.edges.map((e) => e.node) ?? [];
    if (cards.length === 0) return { bought, checkout: null };

    let chosen: { id: string; available: number } | null = null;
    for (let i = 0, views = 1 + Math.floor(Math.random() * 3); i < views; i++) {
      const card = pick(cards);
      const page = await this.call('ProductPage', { slug: card.slug });
      const product = page.data?.product as { id: string; inventory: { available: number } | null } | null | undefined;
      if (product?.inventory && product.inventory.available > 0) chosen = { id: product.id, available: product.inventory.available };
      await this.think(deadline);
    }
    if (Math.random() < 0.1) {
      await this.call('Me');
      await this.think(deadline);
    }

    let itemCount = 0;
    if (chosen && Math.random() < 0.5) {
      const added = await this.call('AddToCart', { productId: chosen.id, quantity: 1 });
      itemCount = (added.data?.addToCart as { itemCount: number } | undefined)?.itemCount ?? 0;
      bought.push(chosen.id);
      await this.think(deadline);
    }
    // Check out when the cart holds something and the shopper decides to (or it is getting full).
    if (itemCount === 0 || (itemCount < 3 && Math.random() < 0.6)) return { bought, checkout: null };
    const cart = await this.call('Cart');
    const cartItems = (cart.data?.cart as { items: { product: { id: string } }[] } | undefined)?.items ?? [];
    bought.push(...cartItems.map((i) => i.product.id));
    await this.think(deadline);
    const checkout = await this.call('Checkout', {
      input: { idempotencyKey: randomUUID(), paymentToken: Math.random() < 0.05 ? 'tok_chargeDeclined' : 'tok_visa', shippingAddress: SHIPPING },
    });
    const order = checkout.data?.checkout as { id: string; status: string } | undefined;
    if (!order) return { bought, checkout: `error ${checkout.codes.join(',')}` };
    // A declined card leaves the cart as it was: empty it, as a shopper giving up would.
    if (order.status === 'PAYMENT_FAILED') for (const item of cartItems) await this.call('RemoveFromCart', { productId: item.product.id });
    await this.think(deadline);
    if (Math.random() < 0.5) await this.call('Order', { id: order.id });
    else await this.call('MyOrders', { first: 5 });
    return { bought, checkout: order.status };
  }
}

// ---------------------------------------------------------------------- memory and verdict

function vmRssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function heapUsedMb(metricsUrl: string): Promise<number | null> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) })).text();
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
    return match ? Number(match[1]) / 2 ** 20 : null;
  } catch {
    return null;
  }
}

function merge(into: Tally, from: Tally, operations: Map<string, number[]>) {
  into.requests += from.requests;
  into.status5xx += from.status5xx;
  into.transport += from.transport;
  for (const [k, v] of from.codes) into.codes.set(k, (into.codes.get(k) ?? 0) + v);
  for (const [op, list] of from.latencies) {
    let all = operations.get(op);
    if (!all) operations.set(op, (all = []));
    for (const ms of list) all.push(ms);
  }
}

function verdict(input: {
  plan: SoakPlan;
  samples: Sample[];
  minutes: SoakResult['minutes'];
  totals: Tally;
  operations: Map<string, number[]>;
  checkouts: Record<string, number>;
  restocks: number;
  loads: number[];
}): SoakResult {
  const { plan, samples } = input;
  const warm = plan.warmupMinutes * 60_000;
  const end = samples.at(-1)!.at;
  // At the warm-up: the samples of its last minute; at the end: those of the last minute.
  const window = (from: number, to: number) => samples.filter((s) => s.at >= from && s.at <= to);
  const atWarmup = window(warm - 60_000, warm);
  const atEnd = window(end - 60_000, end);
  const after = window(warm, end);
  const memory: SoakResult['memory'] = {};
  for (const name of Object.keys(samples[0].rss)) {
    const rss = (list: Sample[]) => median(list.map((s) => s.rss[name]).filter(Number.isFinite));
    const heap = (list: Sample[]) => {
      const values = list.map((s) => s.heap[name]).filter((v): v is number => typeof v === 'number');
      return values.length ? median(values) : null;
    };
    const atWarmupMb = rss(atWarmup);
    const endMb = rss(atEnd);
    const heapAtWarmupMb = heap(atWarmup);
    const heapEndMb = heap(atEnd);
    const growth = endMb / atWarmupMb - 1;
    memory[name] = {
      atWarmupMb: round(atWarmupMb, 0)!,
      endMb: round(endMb, 0)!,
      peakAfterWarmupMb: round(Math.max(...after.map((s) => s.rss[name]).filter(Number.isFinite)), 0)!,
      growth: round(growth, 3)!,
      heapAtWarmupMb: heapAtWarmupMb === null ? null : round(heapAtWarmupMb, 0),
      heapEndMb: heapEndMb === null ? null : round(heapEndMb, 0),
      heapGrowth: heapAtWarmupMb && heapEndMb ? round(heapEndMb / heapAtWarmupMb - 1, 3) : null,
      ok: growth <= GROWTH_LIMIT,
    };
  }
  const codes = Object.fromEntries([...input.totals.codes].sort());
  const unexpectedCodes = Object.fromEntries(
    Object.entries(codes).filter(([key]) => {
      const [operation, code] = key.split(':');
      return !(EXPECTED_CODES[operation] ?? []).includes(code);
    }),
  );
  const memoryOk = Object.values(memory).every((m) => m.ok);
  const no5xx = input.totals.status5xx === 0;
  const onlyExpectedCodes = Object.keys(unexpectedCodes).length === 0;
  const sortedLoads = [...input.loads].sort((a, b) => a - b);
  return {
    when: new Date().toISOString(),
    plan,
    machine: { cpus: os.cpus().length, memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`, node: process.version },
    minutes: input.minutes,
    operations: Object.fromEntries(
      [...input.operations].map(([op, list]) => [op, { count: list.length, p50: round(percentile(list, 50), 0), p95: round(percentile(list, 95), 0) }]),
    ),
    checkouts: input.checkouts,
    restocks: input.restocks,
    memory,
    status5xx: input.totals.status5xx,
    transportErrors: input.totals.transport,
    codes,
    unexpectedCodes,
    verdict: { memory: memoryOk, no5xx, onlyExpectedCodes, pass: memoryOk && no5xx && onlyExpectedCodes },
    loadAverage: {
      min: round(sortedLoads[0] ?? os.loadavg()[0], 1)!,
      max: round(sortedLoads.at(-1) ?? os.loadavg()[0], 1)!,
      median: round(sortedLoads.length ? median(sortedLoads) : os.loadavg()[0], 1)!,
    },
    samples,
  };
}

function printVerdict(result: SoakResult, log: (line: string) => void) {
  const lines = [
    '',
    `Soak: ${result.plan.minutes} min, ${result.plan.users} users; load average ${result.loadAverage.min}-${result.loadAverage.max} (median ${result.loadAverage.median})`,
    '',
    '| operation | count | p50 ms | p95 ms |',
    '|---|---:|---:|---:|',
    ...Object.entries(result.operations).map(([op, s]) => `| ${op} | ${s.count} | ${s.p50 ?? '-'} | ${s.p95 ?? '-'} |`),
    '',
    `checkouts: ${Object.entries(result.checkouts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; restocks ${result.restocks}`,
    '',
    `| service | RSS MB at ${result.plan.warmupMinutes} min | RSS MB at the end | peak after warm-up | growth | heap MB at ${result.plan.warmupMinutes} min → end | ≤ ${GROWTH_LIMIT * 100} %? |`,
    '|---|---:|---:|---:|---:|---:|---|',
    ...Object.entries(result.memory).map(
      ([name, m]) =>
        `| ${name} | ${m.atWarmupMb} | ${m.endMb} | ${m.peakAfterWarmupMb} | ${(m.growth * 100).toFixed(1)} % | ${m.heapAtWarmupMb ?? '-'} → ${m.heapEndMb ?? '-'} | ${m.ok ? 'yes' : '**no**'} |`,
    ),
    '',
    `5xx: ${result.status5xx}; transport errors/timeouts: ${result.transportErrors}`,
    `error codes: ${Object.entries(result.codes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `unexpected: ${Object.entries(result.unexpectedCodes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `verdict: memory ${result.verdict.memory ? 'ok' : 'GROWS'}, 5xx ${result.verdict.no5xx ? 'none' : 'SOME'}, codes ${result.verdict.onlyExpectedCodes ? 'only expected' : 'UNEXPECTED'} → ${result.verdict.pass ? 'PASS' : 'FAIL'}`,
  ];
  for (const line of lines) log(line);
}

// ---------------------------------------------------------------------- helpers

const loadAverage = () => os.loadavg()[0].toFixed(1);

/** Sleeps `ms`, waking early (checked every second) when `stop` says so. */
async function sleep(ms: number, stop?: () => boolean) {
  const until = Date.now() + ms;
  while (Date.now() < until && !stop?.()) await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
}

function ensure(dir: string) {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  return dir;
}
