import { isUuid, NotFoundError, OutOfStockError, BadUserInputError, rows, type ServiceContext } from '@shop/kit';
import { In } from 'typeorm';
import type { CatalogProduct, Clients } from '../clients';
import { CartItem } from '../entities/cart-item.entity';
import type { OrderMetrics } from '../metrics';
import { MAX_LINE_QUANTITY, requireQuantity } from './validation';

export interface Money {
  amount: number;
  currency: string;
}

export interface CartLineView {
  productId: string;
  quantity: number;
  unitPrice: Money;
  lineTotal: Money;
}

export interface CartView {
  items: CartLineView[];
  itemCount: number;
  subtotal: Money;
}

/**
 * The signed-in user's cart: quantities in the orders database, prices always from the
 * catalog at read time (one batched lookup per read). Lines whose product was archived or
 * deleted drop out when the cart is read.
 */
export class CartService {
  constructor(
    private readonly clients: Clients,
    private readonly currency: string,
    private readonly metrics?: Pick<OrderMetrics, 'cartsCreated'>,
  ) {}

  /**
   * The cart after a write that added `product`: counted as created when that line is all it
   * holds and was not there before. The product was just looked up: only the other lines' are.
   */
  private async afterAdding(ctx: ServiceContext, userId: string, product: CatalogProduct, lineExisted: boolean): Promise<CartView> {
    const cart = await this.get(ctx, userId, new Map([[product.id, product]]));
    if (!lineExisted && cart.items.length === 1) this.metrics?.cartsCreated.inc();
    return cart;
  }

  /** The cart, priced from the catalog now (`known`: products this request has just looked up). */
  async get(ctx: ServiceContext, userId: string, known?: Map<string, CatalogProduct>): Promise<CartView> {
    const items = await rows<{ productId: string; quantity: number }>(
      ctx.em,
      `SELECT product_id AS "productId", quantity FROM cart_items WHERE user_id = $1 ORDER BY created_at, product_id`,
      [userId],
    );
    const catalog = new Map(known);
    const missing = items.map((item) => item.productId).filter((id) => !catalog.has(id));
    for (const [id, product] of await this.clients.products.lookup(missing)) catalog.set(id, product);
    const gone = items.filter((item) => !this.sellable(catalog.get(item.productId)));
    if (gone.length) await ctx.em.getRepository(CartItem).delete({ userId, productId: In(gone.map((item) => item.productId)) });
    const lines = items.flatMap((item) => {
      const product = catalog.get(item.productId);
      if (!this.sellable(product)) return [];
      const unitPrice = product.price;
      return [
        {
          productId: item.productId,
          quantity: item.quantity,
          unitPrice,
          lineTotal: { amount: unitPrice.amount * item.quantity, currency: unitPrice.currency },
        },
      ];
    });
    return {
      items: lines,
      itemCount: lines.reduce((sum, line) => sum + line.quantity, 0),
      subtotal: { amount: lines.reduce((sum, line) => sum + line.lineTotal.amount, 0), currency: this.currency },
    };
  }

  async add(ctx: ServiceContext, userId: string, productId: string, quantity: number): Promise<CartView> {
    requireQuantity(quantity, { allowZero: false });
    const product = await this.requireProduct(productId);
    const [existing] = await rows<{ quantity: number }>(ctx.em, `SELECT quantity FROM cart_items WHERE user_id = $1 AND product_id = $2`, [
      userId,
      productId,
    ]);
    const wanted = (existing?.quantity ?? 0) + quantity;
    if (wanted > MAX_LINE_QUANTITY)
      throw new BadUserInputError(`At most ${MAX_LINE_QUANTITY} units of one product fit in the cart`);
    await this.requireAvailable(productId, wanted);
    await ctx.em.query(
      `INSERT INTO cart_items (user_id, product_id, quantity) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, product_id)
       DO UPDATE SET quantity = LEAST(cart_items.quantity + EXCLUDED.quantity, ${MAX_LINE_QUANTITY}), updated_at = now()`,
      [userId, productId, quantity],
    );
    return this.afterAdding(ctx, userId, product, existing !== undefined);
  }

  async update(ctx: ServiceContext, userId: string, productId: string, quantity: number): Promise<CartView> {
    requireQuantity(quantity, { allowZero: true });
    if (quantity === 0) return this.remove(ctx, userId, productId);
    const product = await this.requireProduct(productId);
    await this.requireAvailable(productId, quantity);
    const existed = (await ctx.em.getRepository(CartItem).countBy({ userId, productId })) > 0;
    await ctx.em.query(
      `INSERT INTO cart_items (user_id, product_id, quantity) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()`,
      [userId, productId, quantity],
    );
    return this.afterAdding(ctx, userId, product, existed);
  }

  async remove(ctx: ServiceContext, userId: string, productId: string): Promise<CartView> {
    const removed = isUuid(productId) ? await ctx.em.getRepository(CartItem).delete({ userId, productId }) : { affected: 0 };
    // Removing a line that is not there is fine for a known product, NOT_FOUND for an unknown one.
    if (!removed.affected && !(await this.clients.products.lookup(isUuid(productId) ? [productId] : [])).has(productId))
      throw new NotFoundError(`No product with id ${productId}`);
    return this.get(ctx, userId);
  }

  private sellable(product: CatalogProduct | undefined): product is CatalogProduct {
    return Boolean(product && !product.archived);
  }

  private async requireProduct(productId: string): Promise<CatalogProduct> {
    const product = isUuid(productId) ? (await this.clients.products.lookup([productId])).get(productId) : undefined;
    if (!this.sellable(product)) throw new NotFoundError(`No product with id ${productId}`);
    return product;
  }

  private async requireAvailable(productId: string, quantity: number): Promise<void> {
    const available = (await this.clients.inventory.availability([productId])).get(productId) ?? 0;
    if (quantity > available)
      throw new OutOfStockError([productId], `Only ${available} of this product available, ${quantity} asked for`);
  }
}
