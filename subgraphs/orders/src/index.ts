import 'reflect-metadata';
import path from 'node:path';
import {
  ConfigError,
  createRuntime,
  loadTypeDefs,
  parseServiceConfig,
  runMain,
  startSubgraph,
  type KeyValueStore,
  SessionLocks,
  type RunningService,
} from '@shop/kit';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { InventoryClient, PaymentsClient, ProductsClient, type Clients } from './clients';
import type { OrdersContext } from './context';
import { entities } from './entities';
import { ordersConfigShape } from './env';
import { createLoaders } from './loaders';
import { createOrderMetrics, registerStuckCheckoutGauge } from './metrics';
import { migrations } from './migrations';
import { cartResolvers } from './resolvers/cart.resolver';
import { orderResolvers } from './resolvers/order.resolver';
import { CartService } from './services/cart.service';
import { CheckoutService } from './services/checkout.service';
import { OrderService } from './services/order.service';
import { RecoveryService } from './services/recovery.service';
import { Saga } from './services/saga';

export interface OrdersService extends RunningService {
  /** Runs one recovery pass now (tests, operators); returns how many orders it worked on. */
  recoverNow(): Promise<number>;
}

export async function startOrders(
  env: NodeJS.ProcessEnv = process.env,
  options: { store?: KeyValueStore } = {},
): Promise<OrdersService> {
  checkTimeouts(parseServiceConfig('orders', ordersConfigShape, env));
  const runtime = await createRuntime({ name: 'orders', env, configShape: ordersConfigShape, entities, migrations, store: options.store });
  const { config, logger } = runtime;
  const clients: Clients = {
    products: new ProductsClient(runtime.clientFor('products', config.PRODUCTS_URL, config.SERVICE_TIMEOUT_MS)),
    inventory: new InventoryClient(runtime.clientFor('inventory', config.INVENTORY_URL, config.SERVICE_TIMEOUT_MS)),
    payments: new PaymentsClient(runtime.clientFor('payments', config.PAYMENTS_URL, config.PAYMENT_TIMEOUT_MS)),
  };
  const metrics = createOrderMetrics(runtime.metrics.registry);
  registerStuckCheckoutGauge(runtime.metrics.registry, async () => {
    const [row] = (await runtime.db.dataSource.query(
      `SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(updated_at)), 0)::float8 AS age FROM orders WHERE saga_state NOT IN ('completed', 'failed')`,
    )) as { age: number }[];
    return Number(row?.age ?? 0);
  });
  const crashAfter = config.NODE_ENV === 'production' ? undefined : config.FAULT_CRASH_AFTER;
  if (crashAfter) logger.warn({ crashAfter }, 'FAULT_CRASH_AFTER set: this process will crash on purpose');
  // Proof of life for the orders this process drives: one extra connection per process (count
  // it when sizing the database's connections). Embedded PGlite has one connection and one
  // process, so ownership there is kept in memory.
  const locks = new SessionLocks({
    url: runtime.db.embedded ? undefined : config.DATABASE_URL,
    namespace: 'orders',
    application: 'orders-locks',
    logger,
  });
  await locks.start();
  const saga = new Saga({ clients, metrics, locks, reservationTtlSeconds: config.RESERVATION_TTL_SECONDS, crashAfter });
  const services = {
    cart: new CartService(clients, config.CURRENCY, metrics),
    checkout: new CheckoutService(saga, metrics, { currency: config.CURRENCY }),
    orders: new OrderService(saga),
  };
  const recovery = new RecoveryService(runtime.db.dataSource, saga, metrics, logger, { intervalMs: config.RECOVERY_INTERVAL_MS });

  const service = await startSubgraph<typeof config, OrdersContext>(runtime, {
    typeDefs: loadTypeDefs(path.join(__dirname, 'schema.graphql')),
    resolvers: { ...cartResolvers, ...orderResolvers, Query: { ...cartResolvers.Query, ...orderResolvers.Query }, Mutation: { ...cartResolvers.Mutation, ...orderResolvers.Mutation } } as unknown as GraphQLResolverMap<OrdersContext>,
    context: (base) => ({ ...base, loaders: createLoaders(base.em), services }),
    internal(api) {
      // The payments sweeper asks which uncaptured authorizations an order will still capture.
      api.route('orders/payment-fates', ['payments'], (ctx, input: unknown) => services.orders.paymentFates(ctx, input));
    },
    onStop: async () => {
      await recovery.stop();
      await locks.stop();
    },
  });
  recovery.start();
  return { ...service, recoverNow: () => recovery.runOnce() };
}

/** Remote calls of a checkout that succeeds: lookup, reserve, authorize, commit, capture. */
const CALLS_PER_CHECKOUT = 5;

/**
 * Timeouts must nest, or stock could expire under a checkout that is still going to confirm:
 * one remote call, times the calls of a checkout, plus a recovery interval (a crashed owner's
 * orders are taken over within one), well inside the reservation TTL. A reservation that
 * expires anyway (orders down for longer) is renewed when the saga resumes, if stock allows.
 */
export function checkTimeouts(config: {
  PAYMENT_TIMEOUT_MS: number;
  SERVICE_TIMEOUT_MS: number;
  RECOVERY_INTERVAL_MS: number;
  RESERVATION_TTL_SECONDS: number;
}) {
  const problems: string[] = [];
  const longestCall = Math.max(config.PAYMENT_TIMEOUT_MS, config.SERVICE_TIMEOUT_MS);
  if (config.RESERVATION_TTL_SECONDS * 1000 <= 2 * (CALLS_PER_CHECKOUT * longestCall + config.RECOVERY_INTERVAL_MS))
    problems.push(
      `config error: RESERVATION_TTL_SECONDS must exceed twice ${CALLS_PER_CHECKOUT} × the longest call timeout + RECOVERY_INTERVAL_MS`,
    );
  if (problems.length) throw new ConfigError(problems);
}

if (require.main === module) runMain(() => startOrders());
