import type { Payment } from '../entities/payment.entity';
import type { PaymentsContext } from '../context';

/** PROCESSING is internal (the provider is being asked): GraphQL shows no payment yet. */
const visible = (p: Payment | null) => (p && p.status !== 'PROCESSING' ? p : null);

export const paymentResolvers = {
  Payment: {
    async __resolveReference(ref: { id: string }, ctx: PaymentsContext) {
      return visible(await ctx.loaders.paymentById.load(ref.id));
    },
    amount: (p: Payment) => ({ amount: p.amount, currency: p.currency }),
    createdAt: (p: Payment) => p.createdAt.toISOString(),
  },
  Order: {
    // The orders subgraph only hands out references to orders the caller may see
    // (their own, or any for an admin), so the reference itself is the authorization.
    payment: async (order: { id: string }, _args: unknown, ctx: PaymentsContext) =>
      visible(await ctx.loaders.paymentByOrderId.load(order.id)),
  },
};
