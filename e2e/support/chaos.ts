import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { contractOperation, TEST_DATABASE_URL, TestRedisServer, waitFor } from '@shop/kit/testing';
import { startPlatform, type Platform, type Subgraph } from './platform';

/**
 * The checkout under faults, from outside: the stack process-per-service on real Postgres and
 * a Redis this run owns, storefronts checking out concurrently (retrying with the same
 * idempotency key, as a storefront does after an error), one fault per round, and then the
 * databases must show that nothing was lost, sold twice or left held. Used by the short
 * round in `npm test` (e2e/chaos.e2e.ts) and the full run (`npm run chaos`).
 */

export const FAULTS = ['none', 'kill-orders', 'kill-payments', 'kill-inventory', 'terminate-db', 'pause-redis'] as const;
export type Fault = (typeof FAULTS)[number];

/** The invariants, by the name reports use. */
export const INVARIANTS = {
  terminal: 'every order terminal',
  onePerKey: 'one order per (customer, key)',
  confirmedCaptured: 'CONFIRMED ⇔ exactly one CAPTURED payment of the total',
  noHeldMoney: 'no AUTHORIZED or PROCESSING payment left',
  stockConserved: 'on hand + confirmed units = initial',
  nothingReserved: 'nothing reserved once settled',
  carts: 'carts emptied only for confirmed orders',
} as const;
export type Invariant = keyof typeof INVARIANTS;
export type Violations = Partial<Record<Invariant, string[]>>;

export interface RoundResult {
  fault: Fault;
  checkouts: number;
  /** Storefront outcomes (order status, or the error code it gave up on). */
  outcomes: Record<string, number>;
  /** From the start of the fault until every invariant held; null when they never did. */
  settledMs: number | null;
  /** Median wall time of one storefront checkout (with its retries). */
  medianCheckoutMs: number;
  /** Storefront checkout wall time (with retries): the round's, and (pause-redis) of the checkouts that overlapped the pause. */
  latency: Latency;
  faultLatency?: Latency;
  /**
   * Kill and database rounds: the checkouts the fault interrupted (order created before it, saga
   * not finished at it) and when the last of them reached a terminal saga state in the orders
   * database (order_events timestamps), from the fault and from the restart; null: one never did.
   */
  recovery?: Recovery;
  /** What still failed when the round gave up waiting (empty when it settled). */
  violations: Violations;
  /** Services that died without the round killing them (a database blip must kill none). */
  lostProcesses: string[];
}

export interface Latency {
  count: number;
  p50Ms: number;
  p95Ms: number;
}

export interface Recovery {
  interrupted: number;
  /** Last interrupted checkout terminal, after the kill (or the first blip). */
  afterFaultMs: number | null;
  /** The same, after the killed service was ready again (kill rounds). */
  afterRestartMs: number | null;
  /** From the kill until the restarted service answered /health (kill rounds): the part of recovery that is process start-up. */
  restartMs: number | null;
}

/** The targets: an interrupted checkout is finished within 10 s of a kill; Redis paused costs at most 1.5× the calm latency. */
export const RECOVERY_TARGET_MS = 10_000;
export const REDIS_PAUSE_LATENCY_TARGET = 1.5;

export interface ChaosOptions {
  log?: (line: string) => void;
  /** How long a round may take to settle before its violations are reported. */
  settleTimeoutMs?: number;
  /** Extra env for every service (recovery knobs). */
  env?: Record<string, string>;
  /** Where each service's output (killed processes' included) is written when the run stops. */
  logDir?: string;
}

const storefront = (name: string) => contractOperation(name, 'storefront.graphql');
const admin = (name: string) => contractOperation(name, 'admin.graphql');
const ADDRESS = { name: 'Chaos Monkey', line1: '1 Fault Line', city: 'Oakland', postalCode: '94601', country: 'US' };
const INITIAL_STOCK = 1000;
/** Declines are part of the traffic: a fault must not turn them into anything else either. */
const PAYMENT_TOKENS = ['tok_visa', 'tok_visa', 'tok_mastercard', 'tok_chargeDeclined'];
const RETRYABLE = new Set(['SERVICE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR', 'transport']);
const TERMINAL = new Set(['CONFIRMED', 'PAYMENT_FAILED', 'CANCELLED', 'REFUNDED']);

/**
 * Short but nested recovery knobs (the defaults are tens of seconds): a call times out in 2 s,
 * a checkout's lease (where the saga still has one) is 5 s, recovery looks every second, and
 * payments' authorization sweeper (where present) every 2 s for holds older than 5 s. A
 * service ignores the variables it does not read.
 */
export const FAST_RECOVERY = {
  SERVICE_TIMEOUT_MS: '2000',
  PAYMENT_TIMEOUT_MS: '2000',
  CHECKOUT_LEASE_MS: '5000',
  RECOVERY_INTERVAL_MS: '1000',
  AUTHORIZATION_SWEEP_INTERVAL_MS: '2000',
  AUTHORIZATION_SWEEP_GRACE_MS: '5000',
};

interface Customer {
  token: string;
  userId: string;
  key: string;
  paymentToken: string;
  productId: string;
  quantity: number;
}

interface Product {
  id: string;
  price: number;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Nearest-rank percentile (p in 0..100). */
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
const median = (values: number[]) => percentile(values, 50);
const latencyOf = (ms: number[]): Latency => ({ count: ms.length, p50Ms: percentile(ms, 50), p95Ms: percentile(ms, 95) });
const KILLS: readonly Fault[] = ['kill-orders', 'kill-payments', 'kill-inventory'];

export class ChaosRun {
  private readonly customers: Customer[] = [];
  private roundNumber = 0;
  /** Output of the processes a round killed, by service. */
  private readonly killedOutput: Record<string, string[]> = {};

  private constructor(
    readonly platform: Platform,
    private readonly redis: TestRedisServer,
    private readonly products: Product[],
    private readonly options: Required<Pick<ChaosOptions, 'log' | 'settleTimeoutMs'>> & Pick<ChaosOptions, 'logDir'>,
  ) {}

  static async start(options: ChaosOptions = {}): Promise<ChaosRun> {
    const log = options.log ?? (() => undefined);
    const redis = await TestRedisServer.start();
    let platform: Platform | undefined;
    try {
      platform = await startPlatform({
        env: { REDIS_URL: redis.url, LOG_LEVEL: 'warn', ...FAST_RECOVERY, ...options.env },
        startTimeoutMs: 120_000,
      });
      const products = await createCatalog(platform);
      log(`stack up: gateway ${platform.graphqlUrl}, own redis ${redis.url}, ${products.length} products with ${INITIAL_STOCK} each`);
      return new ChaosRun(platform, redis, products, { log, settleTimeoutMs: options.settleTimeoutMs ?? 60_000, logDir: options.logDir });
    } catch (error) {
      await platform?.stop();
      await redis.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.redis.resume();
    if (this.options.logDir) this.writeLogs(this.options.logDir);
    await this.platform.stop();
    await this.redis.stop();
  }

  /** One round: fresh customers with a cart each, checkouts fired together, one fault while they run. */
  async round(fault: Fault, checkouts: number): Promise<RoundResult> {
    const round = ++this.roundNumber;
    const customers = await this.newCustomers(round, checkouts);
    const before = await this.orderCount();
    const started = customers.map((customer) => this.checkoutLikeAStorefront(customer));
    // Strike while checkouts are half-way: once a third of them have created their order.
    await waitFor(async () => (await this.orderCount()) - before >= Math.ceil(checkouts / 3), 'checkouts to get going', 60_000).catch(
      () => undefined,
    );
    const faultStart = Date.now();
    const lostBefore = this.lostProcesses();
    const { restartedAt, faultEnd } = await this.inject(fault);
    const attempts = await Promise.all(started);
    const outcomes: Record<string, number> = {};
    for (const { outcome } of attempts) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;

    let violations: Violations = {};
    const settledMs = await waitFor(
      async () => Object.keys((violations = await this.violations())).length === 0,
      'the invariants to hold',
      this.options.settleTimeoutMs,
    ).then(
      () => Date.now() - faultStart,
      () => null,
    );
    const lostProcesses = this.lostProcesses().filter((name) => !lostBefore.includes(name));
    const during = attempts.filter((a) => a.startedAt <= faultEnd && a.startedAt + a.ms >= faultStart);
    const result: RoundResult = {
      fault,
      checkouts,
      outcomes,
      settledMs,
      medianCheckoutMs: median(attempts.map((a) => a.ms)),
      latency: latencyOf(attempts.map((a) => a.ms)),
      faultLatency: fault === 'pause-redis' ? latencyOf(during.map((a) => a.ms)) : undefined,
      recovery:
        KILLS.includes(fault) || fault === 'terminate-db'
          ? await this.recovery(customers.map((c) => c.userId), faultStart, restartedAt)
          : undefined,
      violations: settledMs === null ? violations : {},
      lostProcesses,
    };
    this.options.log(describeRound(result));
    return result;
  }

  private writeLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    const running = { ...this.platform.services, gateway: this.platform.gateway };
    for (const [name, service] of Object.entries(running)) {
      const runs = [...(this.killedOutput[name] ?? []), service?.output() ?? ''];
      writeFileSync(path.join(dir, `${name}.log`), runs.join('\n----- killed; restarted -----\n'));
    }
    this.options.log(`service logs in ${dir}`);
  }

  /** Injects the fault; returns when the killed service was ready again, and when the fault ended. */
  private async inject(fault: Fault): Promise<{ restartedAt?: number; faultEnd: number }> {
    switch (fault) {
      case 'none':
        return { faultEnd: Date.now() };
      case 'kill-orders':
      case 'kill-payments':
      case 'kill-inventory': {
        const name = fault.slice('kill-'.length) as Subgraph;
        const victim = this.platform.services[name]!;
        await victim.kill('SIGKILL');
        (this.killedOutput[name] ??= []).push(victim.output());
        // Down long enough for callers to notice, as a crash-looping pod is.
        await delay(1_000);
        await this.platform.restart(name);
        const restartedAt = Date.now();
        return { restartedAt, faultEnd: restartedAt };
      }
      case 'terminate-db':
        // What a managed Postgres failover does to every service at once, several times.
        for (let blip = 0; blip < 5; blip++) {
          await this.terminateBackends();
          await delay(300);
        }
        return { faultEnd: Date.now() };
      case 'pause-redis':
        this.redis.pause();
        await delay(5_000);
        this.redis.resume();
        return { faultEnd: Date.now() };
    }
  }

  /**
   * The round's checkouts the fault interrupted (order created before it, saga not yet in a
   * terminal state then) and when the last of them got there, read from order_events (the
   * database clock is this machine's clock: loopback only).
   */
  private async recovery(userIds: string[], faultAt: number, restartedAt: number | undefined): Promise<Recovery> {
    const rows = await withClient(this.platform.databases.orders!.url, async (client) =>
      (
        await client.query<{ created: Date; finished: Date | null }>(
          `SELECT min(e.created_at) AS created,
                  min(e.created_at) FILTER (WHERE e.to_state IN ('completed', 'failed')) AS finished
           FROM orders o JOIN order_events e ON e.order_id = o.id
           WHERE o.user_id = ANY($1::uuid[]) GROUP BY o.id`,
          [userIds],
        )
      ).rows,
    );
    const interrupted = rows.filter((r) => r.created.getTime() < faultAt && (r.finished === null || r.finished.getTime() >= faultAt));
    const unfinished = interrupted.some((r) => r.finished === null);
    const last = Math.max(faultAt, ...interrupted.map((r) => r.finished?.getTime() ?? 0));
    return {
      interrupted: interrupted.length,
      afterFaultMs: unfinished ? null : last - faultAt,
      afterRestartMs: unfinished || restartedAt === undefined ? null : Math.max(0, last - restartedAt),
      restartMs: restartedAt === undefined ? null : restartedAt - faultAt,
    };
  }

  /** Ends every connection to each service's own test database (never any other database). */
  private async terminateBackends(): Promise<void> {
    const names = Object.values(this.platform.databases).map((db) => db!.name);
    await withClient(TEST_DATABASE_URL, (client) =>
      client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()', [names]),
    );
  }

  private lostProcesses(): string[] {
    const all = { ...this.platform.services, gateway: this.platform.gateway };
    return Object.entries(all)
      .filter(([, service]) => service && (service.child.exitCode !== null || service.child.signalCode !== null))
      .map(([name]) => name);
  }

  private async newCustomers(round: number, count: number): Promise<Customer[]> {
    const customers: Customer[] = [];
    // A few at a time: registration hashes a password, and the machine is shared.
    for (let i = 0; i < count; i += 5) {
      const batch = await Promise.all(Array.from({ length: Math.min(5, count - i) }, (_, j) => this.newCustomer(round, i + j)));
      customers.push(...batch);
    }
    this.customers.push(...customers);
    return customers;
  }

  /** A signed-in customer with one product in the cart (the setup itself retries on a loaded machine). */
  private async newCustomer(round: number, n: number): Promise<Customer> {
    const email = `chaos-${process.pid}-${round}-${n}-${randomUUID().slice(0, 8)}@example.com`;
    const input = { email, password: 'chaos password' };
    type Session = { accessToken: string; user: { id: string } };
    const session = await this.retrying('register', async () => {
      const registered = await this.platform.query<{ register: Session }>(storefront('Register'), { input });
      // A retried registration whose first attempt went through: sign in instead.
      if (registered.errors?.[0]?.extensions?.code === 'CONFLICT') {
        const login = await this.platform.query<{ login: Session }>(storefront('Login'), { input });
        return { data: login.data?.login, errors: login.errors };
      }
      return { data: registered.data?.register, errors: registered.errors };
    });
    const product = this.products[n % this.products.length];
    await this.retrying('addToCart', () => this.platform.query(storefront('AddToCart'), { productId: product.id, quantity: 1 + (n % 2) }, { token: session.accessToken }));
    // What the cart really holds (a retried add may have counted twice): the reference for the cart invariant.
    const cart = await this.retrying('cart', async () => {
      const read = await this.platform.query<{ cart: { items: { quantity: number }[] } }>(storefront('Cart'), {}, { token: session.accessToken });
      return { data: read.data?.cart, errors: read.errors };
    });
    return {
      token: session.accessToken,
      userId: session.user.id,
      key: randomUUID(),
      paymentToken: PAYMENT_TOKENS[n % PAYMENT_TOKENS.length],
      productId: product.id,
      quantity: cart.items[0].quantity,
    };
  }

  private async retrying<T>(what: string, call: () => Promise<{ data?: T | null; errors?: { extensions?: Record<string, unknown> }[] }>): Promise<T> {
    let last: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const result = await call();
        if (result.data && !result.errors) return result.data;
        last = result.errors;
        if (!RETRYABLE.has(String(result.errors?.[0]?.extensions?.code))) break;
      } catch (error) {
        last = error;
      }
      await delay(1_000);
    }
    throw new Error(`${what} failed during setup: ${JSON.stringify(last)}`);
  }

  /**
   * What a storefront does: checkout, and after an error worth retrying (or a PENDING answer)
   * the same checkout again with the same idempotency key, for up to a minute.
   */
  private async checkoutLikeAStorefront(customer: Customer): Promise<{ outcome: string; ms: number; startedAt: number }> {
    const start = Date.now();
    let outcome = 'not_attempted';
    while (Date.now() - start < 60_000) {
      try {
        const result = await this.platform.query<{ checkout: { status: string } }>(
          storefront('Checkout'),
          { input: { idempotencyKey: customer.key, paymentToken: customer.paymentToken, shippingAddress: ADDRESS } },
          { token: customer.token },
        );
        const status = result.data?.checkout?.status;
        outcome = status ?? String(result.errors?.[0]?.extensions?.code ?? 'no_answer');
        if (status ? TERMINAL.has(status) : !RETRYABLE.has(outcome)) break;
      } catch {
        outcome = 'transport';
      }
      await delay(500);
    }
    return { outcome, ms: Date.now() - start, startedAt: start };
  }

  private async orderCount(): Promise<number> {
    return withClient(this.platform.databases.orders!.url, async (client) => Number((await client.query('SELECT count(*) FROM orders')).rows[0].count));
  }

  /** Every invariant, read from the services' own databases; empty when all hold. */
  async violations(): Promise<Violations> {
    const dbs = this.platform.databases;
    // One snapshot of each database (a repeatable-read transaction), so a checkout that moves
    // on between two of its reads can never look like a broken invariant.
    const [orders, lines, carts] = await withClient(dbs.orders!.url, (c) =>
      snapshot(c, [
        'SELECT id, user_id, idempotency_key, status, total_amount FROM orders',
        'SELECT order_id, product_id, quantity FROM order_lines',
        'SELECT user_id, product_id, quantity FROM cart_items',
      ]),
    ) as unknown as [
      { rows: { id: string; user_id: string; idempotency_key: string; status: string; total_amount: number }[] },
      { rows: { order_id: string; product_id: string; quantity: number }[] },
      { rows: { user_id: string; product_id: string; quantity: number }[] },
    ];
    const payments = await withClient(dbs.payments!.url, (c) =>
      c.query<{ order_id: string; status: string; amount: number }>('SELECT order_id, status, amount FROM payments'),
    );
    const [stock, reservations] = await withClient(dbs.inventory!.url, (c) =>
      snapshot(c, ['SELECT product_id, on_hand, reserved FROM stock_levels', `SELECT order_id FROM reservations WHERE status = 'RESERVED'`]),
    ) as unknown as [{ rows: { product_id: string; on_hand: number; reserved: number }[] }, { rows: { order_id: string }[] }];

    const found: Violations = {};
    const add = (invariant: Invariant, problem: string) => (found[invariant] ??= []).push(problem);
    const paymentsByOrder = new Map<string, { status: string; amount: number }[]>();
    for (const p of payments.rows) paymentsByOrder.set(p.order_id, [...(paymentsByOrder.get(p.order_id) ?? []), p]);
    const ordersById = new Map(orders.rows.map((o) => [o.id, o]));
    const keys = new Map<string, number>();

    for (const order of orders.rows) {
      if (!TERMINAL.has(order.status)) add('terminal', `order ${order.id} is ${order.status}`);
      const key = `${order.user_id}/${order.idempotency_key}`;
      keys.set(key, (keys.get(key) ?? 0) + 1);
      const captured = (paymentsByOrder.get(order.id) ?? []).filter((p) => p.status === 'CAPTURED');
      const confirmed = order.status === 'CONFIRMED';
      if (confirmed && (captured.length !== 1 || captured[0].amount !== order.total_amount))
        add('confirmedCaptured', `CONFIRMED order ${order.id} (total ${order.total_amount}) has captured ${JSON.stringify(captured)}`);
      if (!confirmed && captured.length > 0) add('confirmedCaptured', `${order.status} order ${order.id} has a CAPTURED payment`);
    }
    for (const [key, count] of keys) if (count > 1) add('onePerKey', `${count} orders for ${key}`);
    for (const customer of this.customers) {
      const mine = orders.rows.filter((o) => o.user_id === customer.userId);
      if (mine.length > 1) add('onePerKey', `customer ${customer.userId} checked out once (one key) and has ${mine.length} orders`);
    }
    for (const p of payments.rows) {
      if (p.status === 'AUTHORIZED' || p.status === 'PROCESSING') add('noHeldMoney', `payment for order ${p.order_id} is ${p.status}`);
      if (p.status === 'CAPTURED' && !ordersById.has(p.order_id)) add('confirmedCaptured', `CAPTURED payment for unknown order ${p.order_id}`);
    }

    const confirmedUnits = new Map<string, number>();
    for (const line of lines.rows)
      if (ordersById.get(line.order_id)?.status === 'CONFIRMED')
        confirmedUnits.set(line.product_id, (confirmedUnits.get(line.product_id) ?? 0) + line.quantity);
    for (const product of this.products) {
      const row = stock.rows.find((s) => s.product_id === product.id);
      const sold = confirmedUnits.get(product.id) ?? 0;
      if (!row || row.on_hand + sold !== INITIAL_STOCK)
        add('stockConserved', `product ${product.id}: on hand ${row?.on_hand} + confirmed ${sold} ≠ ${INITIAL_STOCK}`);
      if (row && row.reserved !== 0) add('nothingReserved', `product ${product.id}: ${row.reserved} units reserved`);
    }
    for (const r of reservations.rows) add('nothingReserved', `reservation for order ${r.order_id} still RESERVED`);

    for (const customer of this.customers) {
      const confirmed = orders.rows.some((o) => o.user_id === customer.userId && o.status === 'CONFIRMED');
      const inCart = carts.rows.find((c) => c.user_id === customer.userId && c.product_id === customer.productId);
      if (confirmed && inCart) add('carts', `customer ${customer.userId}: order CONFIRMED, cart still holds the product`);
      if (!confirmed && inCart?.quantity !== customer.quantity)
        add('carts', `customer ${customer.userId}: no confirmed order, cart holds ${inCart?.quantity ?? 0} of ${customer.quantity}`);
    }
    return found;
  }
}

/**
 * The admin's catalog for the run. Each call is retried while the answer is worth retrying
 * (SERVICE_UNAVAILABLE while a freshly started service warms up on a loaded machine); a retried
 * create whose first attempt went through answers CONFLICT, and the next step finds the row.
 */
async function createCatalog(platform: Platform): Promise<Product[]> {
  const call = async <T>(what: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T | undefined> => {
    let last: unknown;
    for (let attempt = 0; attempt < 10; attempt++) {
      const result = await platform.query<T>(query, variables, token ? { token } : undefined).catch((error: unknown) => ({
        data: undefined,
        errors: [{ message: String(error), extensions: { code: 'transport' } }],
      }));
      const code = String(result.errors?.[0]?.extensions?.code);
      if (!result.errors) return result.data ?? undefined;
      if (code === 'CONFLICT' && attempt > 0) return undefined;
      last = result.errors;
      if (!RETRYABLE.has(code)) break;
      await delay(1_000);
    }
    throw new Error(`${what} failed: ${JSON.stringify(last)}`);
  };
  const login = await call<{ login: { accessToken: string } }>('admin login', storefront('Login'), {
    input: { email: 'admin@e2e.test', password: 'admin-password-e2e' },
  });
  const token = login?.login.accessToken;
  if (!token) throw new Error('admin login gave no token');
  const slug = `chaos-${process.pid}-${Date.now()}`;
  await call('createCategory', admin('CreateCategory'), { input: { slug, name: 'Chaos' } }, token);
  const products: Product[] = [];
  for (const [i, price] of [1500, 2500].entries()) {
    const input = {
      sku: `${slug}-${i}`,
      name: `Chaos item ${i}`,
      slug: `${slug}-${i}`,
      description: 'Sold under faults',
      price: { amount: price, currency: 'USD' },
      categorySlug: slug,
    };
    const created = await call<{ createProduct: { id: string } }>('createProduct', admin('CreateProduct'), { input }, token);
    const id = created?.createProduct.id ?? (await productIdBySlug(platform, input.slug));
    await call('setStock', admin('SetStock'), { productId: id, onHand: INITIAL_STOCK }, token);
    products.push({ id, price });
  }
  return products;
}

/** The id of a product a retried createProduct already made (its first attempt's answer was lost). */
async function productIdBySlug(platform: Platform, slug: string): Promise<string> {
  return withClient(platform.databases.products!.url, async (client) => {
    const [row] = (await client.query<{ id: string }>('SELECT id FROM products WHERE slug = $1', [slug])).rows;
    if (!row) throw new Error(`createProduct answered CONFLICT for ${slug}, yet no product has that slug`);
    return row.id;
  });
}

async function snapshot(client: Client, queries: string[]) {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const results = [];
  for (const text of queries) results.push(await client.query(text));
  await client.query('COMMIT');
  return results;
}

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  // A connection of ours ended by a terminate-db round must not crash the run.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function describeRound(r: RoundResult): string {
  const outcomes = Object.entries(r.outcomes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const settled = r.settledMs === null ? 'NOT SETTLED' : `settled ${(r.settledMs / 1000).toFixed(1)} s after the fault`;
  const s = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);
  const lines = [
    `${r.fault.padEnd(14)} ${r.checkouts} checkouts (${outcomes}); checkout p50 ${s(r.latency.p50Ms)}, p95 ${s(r.latency.p95Ms)}; ${settled}` +
      (r.lostProcesses.length ? `; LOST PROCESSES: ${r.lostProcesses.join(', ')}` : ''),
  ];
  if (r.faultLatency)
    lines.push(`  during the pause: ${r.faultLatency.count} checkouts, p50 ${s(r.faultLatency.p50Ms)}, p95 ${s(r.faultLatency.p95Ms)}`);
  if (r.recovery)
    lines.push(
      `  ${r.recovery.interrupted} checkouts interrupted; the last terminal ${s(r.recovery.afterFaultMs)} after the fault` +
        (r.fault.startsWith('kill-') ? `, ${s(r.recovery.afterRestartMs)} after the restart (up again ${s(r.recovery.restartMs)} after the kill)` : ''),
    );
  for (const [invariant, problems] of Object.entries(r.violations))
    lines.push(`  violated: ${INVARIANTS[invariant as Invariant]} (${problems.length}): ${problems.slice(0, 3).join('; ')}`);
  return lines.join('\n');
}
