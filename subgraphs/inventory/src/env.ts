import { port, positiveInt, url } from '@shop/kit';
import { z } from 'zod';

/** Every variable the inventory subgraph reads (on top of the kit's common ones). */
export const inventoryConfigShape = {
  PORT: port(4003),
  /** The catalog, asked whether a product exists before stock is kept for it (needs SERVICE_TOKEN_PRIVATE_KEY). */
  PRODUCTS_URL: url(['http', 'https']).default('http://127.0.0.1:4002'),
  /** How long a call to another service's internal API may take (inventory: setStock's question to products, SERVICE_UNAVAILABLE past it). */
  SERVICE_TIMEOUT_MS: positiveInt(3_000),
  /** How long a reservation holds stock when the caller gives no ttlSeconds (default 10 minutes). */
  RESERVATION_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** How often the sweeper returns expired reservations to stock. */
  RESERVATION_SWEEP_INTERVAL_MS: positiveInt(5_000),
  /** At most this many reservations expire per sweep (the next sweep takes the rest). */
  RESERVATION_SWEEP_BATCH: positiveInt(200),
};
