import { isAdmin, requireAdmin, requireUser } from '@shop/kit';
import type { OrdersContext } from '../context';
import type { Order } from '../entities/order.entity';
import type { OrderLine } from '../entities/order-line.entity';

export const orderResolvers = {
  Query: {
    order: async (_: unknown, args: { id: string }, ctx: OrdersContext) => {
      requireUser(ctx);
      return ctx.services.orders.visible(ctx, await ctx.loaders.orderById.load(args.id));
    },
  },
  Mutation: {
    checkout: (_: unknown, args: { input: unknown }, ctx: OrdersContext) =>
      ctx.services.checkout.checkout(ctx, requireUser(ctx), args.input),
    cancelOrder: (_: unknown, args: { id: string }, ctx: OrdersContext) =>
      ctx.services.orders.unwind(ctx, requireUser(ctx), args.id, 'cancel'),
    refundOrder: (_: unknown, args: { id: string }, ctx: OrdersContext) =>
      ctx.services.orders.unwind(ctx, requireAdmin(ctx), args.id, 'refund'),
  },
  Order: {
    async __resolveReference(ref: { id: string }, ctx: OrdersContext) {
      return ctx.services.orders.visible(ctx, await ctx.loaders.orderById.load(ref.id));
    },
    createdAt: (order: Order) => order.createdAt.toISOString(),
    total: (order: Order) => ({ amount: order.totalAmount, currency: order.currency }),
    // One query for the lines of every order in the response.
    items: (order: Order, _args: unknown, ctx: OrdersContext) => ctx.loaders.linesByOrderId.load(order.id),
    customer: (order: Order) => ({ __typename: 'User', id: order.userId }),
  },
  OrderLine: {
    unitPrice: (line: OrderLine) => ({ amount: line.unitPrice, currency: line.currency }),
    lineTotal: (line: OrderLine) => ({ amount: line.unitPrice * line.quantity, currency: line.currency }),
    product: (line: OrderLine) => ({ __typename: 'Product', id: line.productId }),
  },
  User: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    orders: (user: { id: string }, args: { first?: number | null; after?: string | null }, ctx: OrdersContext) => {
      if (!ctx.identity.userId || (ctx.identity.userId !== user.id && !isAdmin(ctx))) return null;
      return ctx.services.orders.list(ctx, user.id, args.first, args.after);
    },
  },
};

