import 'reflect-metadata';
import path from 'node:path';
import {
  createRuntime,
  loadTypeDefs,
  runMain,
  startSubgraph,
  type InternalApi,
  type KeyValueStore,
  type RunningService,
} from '@shop/kit';
import type { PaymentsContext } from './context';
import { entities } from './entities';
import { paymentsConfigShape } from './env';
import { createLoaders } from './loaders';
import { createPaymentMetrics } from './metrics';
import { migrations } from './migrations';
import { createProvider } from './provider/test-provider';
import { paymentResolvers } from './resolvers/payment.resolver';
import type { PaymentProvider } from './provider/payment-provider';
import { AuthorizationSweeper } from './services/authorization-sweeper';
import { PaymentService } from './services/payment.service';

export { TEST_TOKENS } from './provider/test-provider';

/** Only the orders service moves money. */
const CALLERS = ['orders'];

export interface PaymentsService extends RunningService {
  provider: PaymentProvider;
  /** One sweep of abandoned authorizations now (tests, operators); returns how many it voided. */
  sweepNow(): Promise<number>;
}

export async function startPayments(
  env: NodeJS.ProcessEnv = process.env,
  options: { store?: KeyValueStore } = {},
): Promise<PaymentsService> {
  const runtime = await createRuntime({
    name: 'payments',
    env,
    configShape: paymentsConfigShape,
    entities,
    migrations,
    store: options.store,
  });
  const { config } = runtime;
  const provider = createProvider(config.PAYMENT_PROVIDER, { delayMs: config.TEST_PROVIDER_DELAY_MS });
  const payments = new PaymentService(provider, config.CURRENCY, createPaymentMetrics(runtime.metrics.registry), config.PROVIDER_TIMEOUT_MS);
  const orders = config.ORDERS_URL ? runtime.clientFor('orders', config.ORDERS_URL, 5_000) : undefined;
  const sweeper = new AuthorizationSweeper(runtime.db.dataSource, payments, orders, runtime.logger, {
    intervalMs: config.AUTHORIZATION_SWEEP_INTERVAL_MS,
    graceMs: config.AUTHORIZATION_SWEEP_GRACE_MS,
  });
  const services = { payments };
  const crashAfter = config.NODE_ENV === 'production' ? undefined : config.FAULT_CRASH_AFTER_APPLY;
  if (crashAfter) runtime.logger.warn({ crashAfter }, 'FAULT_CRASH_AFTER_APPLY set: this process will crash on purpose');

  const service = await startSubgraph(runtime, {
    typeDefs: loadTypeDefs(path.join(__dirname, 'schema.graphql')),
    resolvers: paymentResolvers,
    context: (base): PaymentsContext => ({ ...base, loaders: createLoaders(base.em), services }),
    internal(api: InternalApi<PaymentsContext>) {
      const route = <O>(name: string, handler: (ctx: PaymentsContext, input: unknown) => Promise<O>) =>
        api.route(`payments/${name}`, CALLERS, async (ctx, input: unknown) => {
          const result = await handler(ctx, input);
          // Fault injection for crash tests: the change is applied, the answer never leaves.
          if (crashAfter === `payments/${name}`) process.exit(137);
          return result;
        });
      route('authorize', (ctx, input) => payments.authorize(ctx, input));
      route('capture', (ctx, input) => payments.capture(ctx, input));
      route('void', (ctx, input) => payments.void(ctx, input));
      route('refund', (ctx, input) => payments.refund(ctx, input));
      route('get', (ctx, input) => payments.get(ctx, input));
    },
    onStop: () => sweeper.stop(),
  });
  sweeper.start();
  return { ...service, provider, sweepNow: () => sweeper.sweep() };
}

if (require.main === module) runMain(() => startPayments());
