import { isUuid, NotFoundError, OutOfStockError, BadUserInputError, type ServiceContext } from '@shop/kit';
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

  /** The cart after a write that added `productId`: counted as created when that line is all it holds and was not there before. */
  private async afterAdding(ctx: ServiceContext, userId: string, lineExisted: boolean): Promise<CartView> {
    const cart = await this.get(ctx, userId);
    if (!lineExisted && cart.items.length === 1) this.metrics?.cartsCreated.inc();
    return cart;
  }

  async get(ctx: ServiceContext, userId: string): Promise<CartView> {
    const repo = ctx.em.getRepository(CartItem);
    const items = await repo.find({ where: { userId }, order: { createdAt: 'ASC', productId: 'ASC' } });
    const catalog = await this.clients.products.lookup(items.map((item) => item.productId));
    const gone = items.filter((item) => !this.sellable(catalog.get(item.productId)));
    if (gone.length) await repo.delete({ userId, productId: In(gone.map((item) => item.productId)) });
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
    await this.requireProduct(productId);
    const existing = await ctx.em.getRepository(CartItem).findOneBy({ userId, productId });
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
    return this.afterAdding(ctx, userId, existing !== null);
  }

  async update(ctx: ServiceContext, userId: string, productId: string, quantity: number): Promise<CartView> {
    requireQuantity(quantity, { allowZero: true });
    if (quantity === 0) return this.remove(ctx, userId, productId);
    await this.requireProduct(productId);
    await this.requireAvailable(productId, quantity);
    const existed = (await ctx.em.getRepository(CartItem).countBy({ userId, productId })) > 0;
    await ctx.em.query(
      `INSERT INTO cart_items (user_id, product_id, quantity) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()`,
      [userId, productId, quantity],
    );
    return this.afterAdding(ctx, userId, existed);
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
