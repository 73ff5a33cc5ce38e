import { ConfigError } from '@shop/kit';
import { createTestKeys } from '@shop/kit/testing';
import { startOrders } from './index';

const keys = createTestKeys(['gateway', 'orders']);
const env = (extra: Record<string, string>) => ({ ...keys.envFor('orders'), NODE_ENV: 'test', LOG_LEVEL: 'silent', ...extra });

describe('orders configuration', () => {
  it('refuses timeouts that do not nest, naming the variable', async () => {
    await expect(startOrders(env({ PAYMENT_TIMEOUT_MS: '30000', RESERVATION_TTL_SECONDS: '120' }))).rejects.toThrow(/RESERVATION_TTL_SECONDS/);
    await expect(startOrders(env({ RESERVATION_TTL_SECONDS: '60', RECOVERY_INTERVAL_MS: '30000' }))).rejects.toThrow(/RESERVATION_TTL_SECONDS/);
    await expect(startOrders(env({ RECOVERY_INTERVAL_MS: '120000' }))).rejects.toBeInstanceOf(ConfigError);
  });

  it('accepts the fault hook only for known saga steps', async () => {
    await expect(startOrders(env({ FAULT_CRASH_AFTER: 'somewhere' }))).rejects.toThrow(/FAULT_CRASH_AFTER/);
  });
});
