import { BadUserInputError, NotFoundError, withTransaction, type HasEntityManager } from '@shop/kit';
import type { CatalogClient } from '../catalog';
import type { MovementKind } from '../entities/stock-movement.entity';
import { isUuid, rows } from '@shop/kit';

export interface StockRecord {
  productId: string;
  onHand: number;
  reserved: number;
}

const MAX_ON_HAND = 1_000_000_000;

/** What a product without a stock row has: nothing. */
export const emptyStock = (productId: string): StockRecord => ({ productId, onHand: 0, reserved: 0 });

/** Stock rows by product id (missing products are simply absent). */
export async function loadStock(ctx: HasEntityManager, productIds: readonly string[]): Promise<Map<string, StockRecord>> {
  const ids = [...new Set(productIds.filter(isUuid).map((id) => id.toLowerCase()))];
  if (ids.length === 0) return new Map();
  const found = await rows<{ product_id: string; on_hand: number; reserved: number }>(
    ctx.em,
    `SELECT product_id, on_hand, reserved FROM stock_levels WHERE product_id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(found.map((r) => [r.product_id, { productId: r.product_id, onHand: r.on_hand, reserved: r.reserved }]));
}

export async function writeMovements(
  ctx: HasEntityManager,
  kind: MovementKind,
  lines: { productId: string; quantity: number }[],
  orderId: string | null,
): Promise<void> {
  if (lines.length === 0) return;
  await rows(
    ctx.em,
    `INSERT INTO stock_movements (product_id, kind, quantity, order_id)
     SELECT pid, $3, qty, $4 FROM unnest($1::uuid[], $2::int[]) AS l(pid, qty)`,
    [lines.map((l) => l.productId), lines.map((l) => l.quantity), kind, orderId],
  );
}

/** Admin stock adjustments. */
export class StockService {
  constructor(private readonly catalog: CatalogClient) {}

  /**
   * Sets on_hand for a product. Products owns the catalog: an id it does not know (or has
   * archived) is NOT_FOUND and nothing is written; products unreachable is SERVICE_UNAVAILABLE.
   * Asked before the transaction (no transaction spans a call); a product archived between the
   * question and the write keeps a stock row nothing can sell.
   */
  async setStock(ctx: HasEntityManager, productId: string, onHand: number): Promise<StockRecord> {
    if (!isUuid(productId)) throw new BadUserInputError('productId must be a product id (uuid)', { field: 'productId' });
    if (!Number.isInteger(onHand) || onHand < 0 || onHand > MAX_ON_HAND)
      throw new BadUserInputError(`onHand must be an integer between 0 and ${MAX_ON_HAND}`, { field: 'onHand' });
    const id = productId.toLowerCase();
    if (!(await this.catalog.isOnSale(id))) throw new NotFoundError(`No product with id "${productId}" (unknown or archived)`);
    return withTransaction(ctx, async (tx) => {
      await rows(tx.em, `INSERT INTO stock_levels (product_id) VALUES ($1) ON CONFLICT DO NOTHING`, [id]);
      const [current] = await rows<{ on_hand: number; reserved: number }>(
        tx.em,
        `SELECT on_hand, reserved FROM stock_levels WHERE product_id = $1 FOR UPDATE`,
        [id],
      );
      if (onHand < current.reserved)
        throw new BadUserInputError(`onHand cannot be below the ${current.reserved} units currently reserved`, {
          field: 'onHand',
          reserved: current.reserved,
        });
      await rows(tx.em, `UPDATE stock_levels SET on_hand = $2, updated_at = now() WHERE product_id = $1`, [id, onHand]);
      const delta = onHand - current.on_hand;
      if (delta !== 0) await writeMovements(tx, 'adjustment', [{ productId: id, quantity: delta }], null);
      return { productId: id, onHand, reserved: current.reserved };
    });
  }
}
