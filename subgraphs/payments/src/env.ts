import { z } from 'zod';
import { port, positiveInt, url } from '@shop/kit';

export const paymentsConfigShape = {
  PORT: port(4005),
  CURRENCY: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD').default('USD'),
  /** Which payment provider to use; only the test-mode provider exists so far. */
  PAYMENT_PROVIDER: z.enum(['test']).default('test'),
  /**
   * How long the provider may take to answer an authorization; past it the outcome is
   * unknown, the payment stays PROCESSING and the caller is told to retry. Keep it under
   * orders' PAYMENT_TIMEOUT_MS, so payments answers before orders gives up.
   */
  PROVIDER_TIMEOUT_MS: positiveInt(4_000),
  /** Test-mode provider: how long the *_delayed tokens take to answer. */
  TEST_PROVIDER_DELAY_MS: positiveInt(2_000),
  /**
   * The orders service, asked by the authorization sweeper which uncaptured authorizations
   * it will still capture (needs SERVICE_TOKEN_PRIVATE_KEY). Unset: the sweeper voids only
   * authorizations of orders already undone here.
   */
  ORDERS_URL: url(['http', 'https']).optional(),
  /** How often the sweeper looks for authorizations no order will capture (an abandoned hold is voided within interval + grace). */
  AUTHORIZATION_SWEEP_INTERVAL_MS: positiveInt(20_000),
  /** An authorization younger than this belongs to a checkout still running. */
  AUTHORIZATION_SWEEP_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  /**
   * Tests only (ignored when NODE_ENV=production): exit abruptly right after applying the
   * named internal call (e.g. "payments/authorize") and before answering it.
   */
  FAULT_CRASH_AFTER_APPLY: z.string().optional(),
};
