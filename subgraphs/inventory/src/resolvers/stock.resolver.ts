import { requireAdmin } from '@shop/kit';
import type { InventoryContext } from '../context';
import type { StockRecord } from '../services/stock.service';

type ProductRef = { id: string };

/** Thin: the stock fields inventory contributes to Product, and the admin setStock. */
export const stockResolvers = {
  Mutation: {
    setStock: async (_: unknown, args: { productId: string; onHand: number }, ctx: InventoryContext): Promise<ProductRef> => {
      requireAdmin(ctx);
      const stock = await ctx.services.stock.setStock(ctx, args.productId, args.onHand);
      ctx.loaders.stockByProductId.clear(stock.productId).prime(stock.productId, stock);
      return { id: stock.productId };
    },
  },
  Product: {
    __resolveReference: (ref: ProductRef): ProductRef => ({ id: ref.id }),
    inStock: async (p: ProductRef, _: unknown, ctx: InventoryContext) => {
      const stock = await ctx.loaders.stockByProductId.load(p.id);
      return stock.onHand - stock.reserved > 0;
    },
    inventory: (p: ProductRef, _: unknown, ctx: InventoryContext) => ctx.loaders.stockByProductId.load(p.id),
  },
  Inventory: {
    available: (s: StockRecord) => s.onHand - s.reserved,
    /** Admin-only: anonymous callers UNAUTHENTICATED, other users FORBIDDEN (on this field). */
    onHand: (s: StockRecord, _: unknown, ctx: InventoryContext) => {
      requireAdmin(ctx);
      return s.onHand;
    },
    reserved: (s: StockRecord, _: unknown, ctx: InventoryContext) => {
      requireAdmin(ctx);
      return s.reserved;
    },
  },
};
