import { requireUser } from '@shop/kit';
import type { OrdersContext } from '../context';
import type { CartLineView } from '../services/cart.service';

export const cartResolvers = {
  Query: {
    cart: (_: unknown, __: unknown, ctx: OrdersContext) => ctx.services.cart.get(ctx, requireUser(ctx).userId),
  },
  Mutation: {
    addToCart: (_: unknown, args: { productId: string; quantity: number }, ctx: OrdersContext) =>
      ctx.services.cart.add(ctx, requireUser(ctx).userId, args.productId, args.quantity),
    updateCartItem: (_: unknown, args: { productId: string; quantity: number }, ctx: OrdersContext) =>
      ctx.services.cart.update(ctx, requireUser(ctx).userId, args.productId, args.quantity),
    removeFromCart: (_: unknown, args: { productId: string }, ctx: OrdersContext) =>
      ctx.services.cart.remove(ctx, requireUser(ctx).userId, args.productId),
  },
  CartItem: {
    product: (line: CartLineView) => ({ __typename: 'Product', id: line.productId }),
  },
};
