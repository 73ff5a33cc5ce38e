import { port, positiveInt } from '@shop/kit';
import { z } from 'zod';

/** Every variable the inventory subgraph reads (on top of the kit's common ones). */
export const inventoryConfigShape = {
  PORT: port(4003),
  /** How long a reservation holds stock when the caller gives no ttlSeconds (default 10 minutes). */
  RESERVATION_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** How often the sweeper returns expired reservations to stock. */
  RESERVATION_SWEEP_INTERVAL_MS: positiveInt(5_000),
  /** At most this many reservations expire per sweep (the next sweep takes the rest). */
  RESERVATION_SWEEP_BATCH: positiveInt(200),
};
