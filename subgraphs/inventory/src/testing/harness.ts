import { randomUUID } from 'node:crypto';
import { ServiceClient, TokenSigner, type Identity } from '@shop/kit';
import { createTestDatabase, createTestKeys, subgraphCaller, type TestDatabase, type TestKeys } from '@shop/kit/testing';
import { startInventory, type InventoryService } from '../index';

export const ANON: Identity = { userId: null, role: null, sessionId: null };
export const admin = (): Identity => ({ userId: randomUUID(), role: 'ADMIN', sessionId: randomUUID() });
export const customer = (): Identity => ({ userId: randomUUID(), role: 'CUSTOMER', sessionId: randomUUID() });

export interface InventoryHarness {
  service: InventoryService;
  db: TestDatabase;
  keys: TestKeys;
  gql: ReturnType<typeof subgraphCaller>;
  internal(caller?: string): ServiceClient;
  close(): Promise<void>;
}

/** The inventory subgraph on a throwaway database and port 0 (it uses no store). */
export async function startInventoryHarness(env: Record<string, string> = {}): Promise<InventoryHarness> {
  const db = await createTestDatabase('inventory');
  const keys = createTestKeys();
  const service = await startInventory({
    ...keys.envFor('inventory'),
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    DATABASE_POOL_MAX: '10',
    SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
  return {
    service,
    db,
    keys,
    gql: subgraphCaller({ url: service.url, audience: 'inventory', key: keys.services.gateway }),
    internal(caller = 'orders') {
      const key = keys.services[caller];
      return new ServiceClient({
        caller,
        target: 'inventory',
        baseUrl: service.url,
        signer: new TokenSigner(key.privateKey, key.kid),
        tokenTtlSeconds: 30,
        timeoutMs: 15_000,
      });
    },
    async close() {
      await service.stop();
      await db.drop();
    },
  };
}

export const codeOf = (response: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  response.errors?.[0]?.extensions?.code;

/**
 * The audit invariant: replaying every product's movements gives its stock row exactly.
 * on_hand = adjustments + restocks - sales; reserved = reservations - releases - expiries - sales.
 */
export async function movementsMismatches(service: InventoryService): Promise<unknown[]> {
  return service.dataSource.query(`
    SELECT s.product_id, s.on_hand, s.reserved, m.on_hand AS replay_on_hand, m.reserved AS replay_reserved
    FROM stock_levels s
    LEFT JOIN (
      SELECT product_id,
        sum(CASE kind WHEN 'adjustment' THEN quantity WHEN 'restock' THEN quantity WHEN 'sale' THEN -quantity ELSE 0 END)::int AS on_hand,
        sum(CASE kind WHEN 'reservation' THEN quantity WHEN 'release' THEN -quantity WHEN 'expiry' THEN -quantity
                      WHEN 'sale' THEN -quantity ELSE 0 END)::int AS reserved
      FROM stock_movements GROUP BY product_id
    ) m ON m.product_id = s.product_id
    WHERE s.on_hand <> coalesce(m.on_hand, 0) OR s.reserved <> coalesce(m.reserved, 0)`);
}
