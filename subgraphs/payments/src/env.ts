import { z } from 'zod';
import { port } from '@shop/kit';

export const paymentsConfigShape = {
  PORT: port(4005),
  CURRENCY: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD').default('USD'),
  /** Which payment provider to use; only the test-mode provider exists so far. */
  PAYMENT_PROVIDER: z.enum(['test']).default('test'),
  /**
   * Tests only (ignored when NODE_ENV=production): exit abruptly right after applying the
   * named internal call (e.g. "payments/authorize") and before answering it.
   */
  FAULT_CRASH_AFTER_APPLY: z.string().optional(),
};
