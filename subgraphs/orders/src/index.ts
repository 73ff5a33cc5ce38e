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
  type RunningService,
} from '@shop/kit';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { InventoryClient, PaymentsClient, ProductsClient, type Clients } from './clients';
import type { OrdersContext } from './context';
import { entities } from './entities';
import { ordersConfigShape } from './env';
import { createLoaders } from './loaders';
import { createOrderMetrics } from './metrics';
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
  const crashAfter = config.NODE_ENV === 'production' ? undefined : config.FAULT_CRASH_AFTER;
  if (crashAfter) logger.warn({ crashAfter }, 'FAULT_CRASH_AFTER set: this process will crash on purpose');
  const saga = new Saga({ clients, metrics, leaseMs: config.CHECKOUT_LEASE_MS, crashAfter });
  const services = {
    cart: new CartService(clients, config.CURRENCY, metrics),
    checkout: new CheckoutService(saga, metrics, {
      currency: config.CURRENCY,
      reservationTtlSeconds: config.RESERVATION_TTL_SECONDS,
      leaseMs: config.CHECKOUT_LEASE_MS,
    }),
    orders: new OrderService(saga),
  };
  const recovery = new RecoveryService(runtime.db.dataSource, saga, metrics, logger, {
    intervalMs: config.RECOVERY_INTERVAL_MS,
    leaseMs: config.CHECKOUT_LEASE_MS,
  });

  const service = await startSubgraph<typeof config, OrdersContext>(runtime, {
    typeDefs: loadTypeDefs(path.join(__dirname, 'schema.graphql')),
    resolvers: { ...cartResolvers, ...orderResolvers, Query: { ...cartResolvers.Query, ...orderResolvers.Query }, Mutation: { ...cartResolvers.Mutation, ...orderResolvers.Mutation } } as unknown as GraphQLResolverMap<OrdersContext>,
    context: (base) => ({ ...base, loaders: createLoaders(base.em), services }),
    onStop: () => recovery.stop(),
  });
  recovery.start();
  return { ...service, recoverNow: () => recovery.runOnce() };
}

/**
 * Timeouts must nest, or recovery could undo a checkout that is still running, or stock
 * could expire under a checkout that is still going to confirm: one remote call < the
 * lease a checkout renews at every step < lease + recovery interval < reservation TTL.
 */
export function checkTimeouts(config: {
  PAYMENT_TIMEOUT_MS: number;
  SERVICE_TIMEOUT_MS: number;
  CHECKOUT_LEASE_MS: number;
  RECOVERY_INTERVAL_MS: number;
  RESERVATION_TTL_SECONDS: number;
}) {
  const problems: string[] = [];
  const longestCall = Math.max(config.PAYMENT_TIMEOUT_MS, config.SERVICE_TIMEOUT_MS);
  if (config.CHECKOUT_LEASE_MS < longestCall + 1000)
    problems.push(`config error: CHECKOUT_LEASE_MS must be at least 1000 ms longer than PAYMENT_TIMEOUT_MS and SERVICE_TIMEOUT_MS (${longestCall})`);
  if (config.RESERVATION_TTL_SECONDS * 1000 <= 2 * (config.CHECKOUT_LEASE_MS + config.RECOVERY_INTERVAL_MS))
    problems.push('config error: RESERVATION_TTL_SECONDS must exceed twice CHECKOUT_LEASE_MS + RECOVERY_INTERVAL_MS');
  if (problems.length) throw new ConfigError(problems);
}

if (require.main === module) runMain(() => startOrders());
