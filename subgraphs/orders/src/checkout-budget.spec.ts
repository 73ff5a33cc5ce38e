import { parseConfig } from '@shop/kit';
import { CHECKOUT_DATABASE_STEPS, checkoutWorstCaseMs, DATABASE_STEP_ALLOWANCE_MS } from './checkout-budget';
import { ordersConfigShape } from './env';

describe('the longest checkout', () => {
  it('is three service calls, two payment calls and the database steps', () => {
    expect(checkoutWorstCaseMs({ SERVICE_TIMEOUT_MS: 3_000, PAYMENT_TIMEOUT_MS: 5_000 })).toBe(
      3 * 3_000 + 2 * 5_000 + CHECKOUT_DATABASE_STEPS * DATABASE_STEP_ALLOWANCE_MS,
    );
  });

  it('follows orders own settings', () => {
    const defaults = parseConfig(ordersConfigShape, {});
    const slowPayments = parseConfig(ordersConfigShape, { PAYMENT_TIMEOUT_MS: '9000' });
    expect(checkoutWorstCaseMs(slowPayments) - checkoutWorstCaseMs(defaults)).toBe(2 * (9_000 - defaults.PAYMENT_TIMEOUT_MS));
  });
});
