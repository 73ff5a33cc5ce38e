import { port, positiveInt } from '@shop/kit';
import { z } from 'zod';

/** Every variable the products subgraph reads (on top of the kit's common ones). */
export const productsConfigShape = {
  PORT: port(4002),
  /** The one currency the platform sells in; prices in another currency are refused. */
  CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
    .default('USD'),
  /** How long hot product rows and listing counts stay in the store (writes invalidate at once). */
  PRODUCT_CACHE_TTL_SECONDS: positiveInt(300),
  /** Prefix of every key this service writes to the store (lets several deployments share a Redis). */
  PRODUCTS_CACHE_PREFIX: z.string().default('products:'),
  /** How often catalog writes the store missed (Redis down) are retried as a cache-version bump. */
  PRODUCTS_CACHE_PUBLISH_INTERVAL_MS: positiveInt(1_000),
};
