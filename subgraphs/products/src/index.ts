import path from 'node:path';
import {
  BadUserInputError,
  createRuntime,
  loadTypeDefs,
  runMain,
  startSubgraph,
  startTimerLoop,
  type KeyValueStore,
  type RunningService,
} from '@shop/kit';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { DataSource } from 'typeorm';
import type { ProductsContext } from './context';
import { entities } from './entities';
import { productsConfigShape } from './env';
import { createLoaders } from './loaders';
import { migrations } from './migrations';
import { catalogResolvers } from './resolvers/catalog.resolver';
import { CacheInvalidations } from './services/cache-invalidations';
import { CatalogService } from './services/catalog.service';
import { ProductCache } from './services/product-cache';
import { seedCatalog } from './seed';

export interface ProductsService extends RunningService {
  dataSource: DataSource;
  cache: ProductCache;
}

export interface StartProductsOptions {
  /** Embedded mode shares one in-memory store between services. */
  store?: KeyValueStore;
  /** Seed this many catalog products (idempotent) before serving. */
  seedProducts?: number;
}

export async function startProducts(env = process.env, options: StartProductsOptions = {}): Promise<ProductsService> {
  const runtime = await createRuntime({ name: 'products', env, configShape: productsConfigShape, entities, migrations, store: options.store });
  const { config } = runtime;
  const cache = new ProductCache(runtime.store, {
    prefix: config.PRODUCTS_CACHE_PREFIX,
    ttlMs: config.PRODUCT_CACHE_TTL_SECONDS * 1000,
    metrics: runtime.metrics,
  });
  if (options.seedProducts) {
    await seedCatalog(runtime.db.dataSource, { products: options.seedProducts, currency: config.CURRENCY, log: (line) => runtime.logger.info(line) });
    await cache.bumpVersion();
  }
  const invalidations = new CacheInvalidations(cache);
  const services = { catalog: new CatalogService(cache, invalidations, { currency: config.CURRENCY }) };
  const publisher = startTimerLoop(() => invalidations.publishPending({ em: runtime.db.dataSource.manager }), {
    name: 'cache invalidation publisher',
    intervalMs: config.PRODUCTS_CACHE_PUBLISH_INTERVAL_MS,
    logger: runtime.logger,
    runAtStart: true,
  });
  const service = await startSubgraph<typeof config, ProductsContext>(runtime, {
    typeDefs: loadTypeDefs(path.join(__dirname, 'schema.graphql')),
    resolvers: catalogResolvers as unknown as GraphQLResolverMap<ProductsContext>,
    context: (base) => ({ ...base, loaders: createLoaders(base.em, cache), services }),
    onStop: () => publisher.stop(),
    internal(api) {
      // orders prices carts and checkouts; inventory keeps stock only for products that exist.
      api.route<{ ids?: unknown }, unknown>('products/lookup', ['orders', 'inventory'], async (ctx, input) => {
        const ids = input?.ids;
        if (!Array.isArray(ids) || ids.length > 1000 || !ids.every((id) => typeof id === 'string'))
          throw new BadUserInputError('ids must be an array of at most 1000 product ids');
        const found = await ctx.services.catalog.byIds(ctx, ids as string[]);
        return {
          products: found.map((p) => ({
            id: p.id,
            sku: p.sku,
            name: p.name,
            slug: p.slug,
            price: { amount: p.priceAmount, currency: p.priceCurrency },
            archived: p.archivedAt !== null,
          })),
        };
      });
    },
  });
  return { ...service, dataSource: runtime.db.dataSource, cache };
}

if (require.main === module) runMain(() => startProducts());
