import { z } from 'zod';
import { port, positiveInt, url } from '@shop/kit';

export const SAGA_STEPS = [
  'order_created',
  'stock_reserved',
  'payment_authorized',
  'order_confirmed',
  'reservation_committed',
  'payment_captured',
] as const;
export type SagaStep = (typeof SAGA_STEPS)[number];

export const ordersConfigShape = {
  PORT: port(4004),
  CURRENCY: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD').default('USD'),
  PRODUCTS_URL: url(['http', 'https']).default('http://127.0.0.1:4002'),
  INVENTORY_URL: url(['http', 'https']).default('http://127.0.0.1:4003'),
  PAYMENTS_URL: url(['http', 'https']).default('http://127.0.0.1:4005'),
  /** Timeouts nest: a call times out in seconds, a whole checkout and a recovery interval well inside the reservation TTL. */
  PAYMENT_TIMEOUT_MS: positiveInt(5_000),
  SERVICE_TIMEOUT_MS: positiveInt(3_000),
  /**
   * How often the recovery loop looks for orders whose owner is gone: a crashed process's
   * checkouts are taken over within one interval (the promise is 10 s; under a minute allowed).
   */
  RECOVERY_INTERVAL_MS: z.coerce.number().int().min(100).max(59_000).default(3_000),
  /** Asked of inventory for each reservation; must outlive a whole checkout plus a recovery interval. */
  RESERVATION_TTL_SECONDS: z.coerce.number().int().min(60).default(600),
  /** Tests only (ignored when NODE_ENV=production): exit abruptly right after this saga step is persisted. */
  FAULT_CRASH_AFTER: z.enum(SAGA_STEPS).optional(),
};
