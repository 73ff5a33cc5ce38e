import path from 'node:path';
import { createRuntime, loadTypeDefs, runMain, startSubgraph, type KeyValueStore, type RunningService } from '@shop/kit';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { DataSource } from 'typeorm';
import { CatalogClient } from './catalog';
import type { InventoryContext } from './context';
import { entities } from './entities';
import { inventoryConfigShape } from './env';
import { createLoaders } from './loaders';
import { migrations } from './migrations';
import { stockResolvers } from './resolvers/stock.resolver';
import { seedStock } from './seed';
import { ReservationService, type ReserveInput } from './services/reservation.service';
import { StockService } from './services/stock.service';
import { ReservationSweeper } from './sweeper';

export interface InventoryService extends RunningService {
  dataSource: DataSource;
  sweeper: ReservationSweeper;
}

export interface StartInventoryOptions {
  store?: KeyValueStore;
  /** Seed stock for this many development-catalog products (idempotent) before serving. */
  seedProducts?: number;
}

/** Only the orders subgraph may hold, sell or return stock. */
const ORDERS = ['orders'];

export async function startInventory(env = process.env, options: StartInventoryOptions = {}): Promise<InventoryService> {
  const runtime = await createRuntime({ name: 'inventory', env, configShape: inventoryConfigShape, entities, migrations, store: options.store });
  const { config } = runtime;
  if (options.seedProducts)
    await seedStock(runtime.db.dataSource, { products: options.seedProducts, log: (line) => runtime.logger.info(line) });
  const services = {
    stock: new StockService(new CatalogClient(runtime.clientFor('products', config.PRODUCTS_URL, config.SERVICE_TIMEOUT_MS))),
    reservations: new ReservationService({ defaultTtlSeconds: config.RESERVATION_TTL_SECONDS }),
  };
  const sweeper = new ReservationSweeper(services.reservations, { em: runtime.db.dataSource.manager }, {
    intervalMs: config.RESERVATION_SWEEP_INTERVAL_MS,
    batch: config.RESERVATION_SWEEP_BATCH,
    logger: runtime.logger,
  });
  const service = await startSubgraph<typeof config, InventoryContext>(runtime, {
    typeDefs: loadTypeDefs(path.join(__dirname, 'schema.graphql')),
    resolvers: stockResolvers as unknown as GraphQLResolverMap<InventoryContext>,
    context: (base) => ({ ...base, loaders: createLoaders(base.em), services }),
    internal(api) {
      const r = services.reservations;
      api.route<{ productIds?: unknown }, unknown>('stock/availability', ORDERS, (ctx, input) => r.availability(ctx, input ?? {}));
      api.route<ReserveInput, unknown>('reservations/reserve', ORDERS, (ctx, input) => r.reserve(ctx, input ?? ({} as ReserveInput)));
      api.route<{ orderId: string }, unknown>('reservations/commit', ORDERS, (ctx, input) => r.commit(ctx, input));
      api.route<{ orderId: string }, unknown>('reservations/release', ORDERS, (ctx, input) => r.release(ctx, input));
      api.route<{ orderId: string }, unknown>('reservations/get', ORDERS, (ctx, input) => r.get(ctx, input));
      api.route<{ orderId: string; reason?: string }, unknown>('stock/restock', ORDERS, (ctx, input) => r.restock(ctx, input));
    },
    onStop: () => sweeper.stop(),
  });
  sweeper.start();
  return { ...service, dataSource: runtime.db.dataSource, sweeper };
}

if (require.main === module) runMain(() => startInventory());
