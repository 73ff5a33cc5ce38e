import { runCommandMain, seedSizeArg } from '@shop/kit';
import type { DataSource } from 'typeorm';
import { entities } from './entities';
import { inventoryConfigShape } from './env';
import { seedProductId } from '@shop/kit';
import { migrations } from './migrations';

const BATCH = 2000;

/** Deterministic stock of seeded product n: every tenth product is sold out. */
export const seedQuantity = (n: number) => (n % 10 === 0 ? 0 : ((n * 37) % 50) + 1);

export interface SeedStockOptions {
  products?: number;
  log?: (line: string) => void;
}

/**
 * Stock for the products subgraph's development catalog (same ids, derived from the skus).
 * Idempotent: existing stock rows are left alone; each new row with units gets its
 * 'adjustment' movement in the same statement.
 */
export async function seedStock(
  dataSource: DataSource,
  options: SeedStockOptions = {},
): Promise<{ inserted: number }> {
  const total = options.products ?? 300;
  const log = options.log ?? (() => undefined);
  let inserted = 0;
  const started = Date.now();
  for (let from = 1; from <= total; from += BATCH) {
    const to = Math.min(total, from + BATCH - 1);
    const ids: string[] = [];
    const quantities: number[] = [];
    for (let n = from; n <= to; n++) {
      ids.push(seedProductId(n));
      quantities.push(seedQuantity(n));
    }
    const [{ count }] = await dataSource.query(
      `WITH ins AS (
         INSERT INTO stock_levels (product_id, on_hand, reserved)
         SELECT pid, qty, 0 FROM unnest($1::uuid[], $2::int[]) AS l(pid, qty)
         ON CONFLICT DO NOTHING RETURNING product_id, on_hand
       ), moved AS (
         INSERT INTO stock_movements (product_id, kind, quantity) SELECT product_id, 'adjustment', on_hand FROM ins WHERE on_hand > 0
       )
       SELECT count(*)::int AS count FROM ins`,
      [ids, quantities],
    );
    inserted += count;
    log(`stock seed: ${to}/${total} processed, ${inserted} new (${Date.now() - started} ms)`);
  }
  return { inserted };
}

if (require.main === module) {
  runCommandMain(
    { name: 'inventory', configShape: inventoryConfigShape, entities, migrations },
    async ({ db }) => {
      const products = seedSizeArg();
      const { inserted } = await seedStock(db.dataSource, {
        products,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`stock seed done: ${inserted} new of ${products}\n`);
    },
  );
}
