import {
  BadUserInputError,
  NotFoundError,
  decodeCursor,
  encodeCursor,
  isAdmin,
  isUuid,
  pageSize,
  type ServiceContext,
  type SignedInIdentity,
} from '@shop/kit';
import { Order } from '../entities/order.entity';
import { In } from 'typeorm';
import type { Saga } from './saga';
import { TERMINAL_STATES } from './saga-machine';

export interface OrderPage {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: Order }[];
}

/** Reading orders (own ones, or any for admins), cancelling and refunding them. */
export class OrderService {
  constructor(private readonly saga: Saga) {}

  /** Visible to its customer and to admins; refused checkouts never reached anyone. */
  visible(ctx: ServiceContext, order: Order | null): Order | null {
    if (!order || order.rejectionCode) return null;
    return order.userId === ctx.identity.userId || isAdmin(ctx) ? order : null;
  }

  async list(ctx: ServiceContext, userId: string, first: number | null | undefined, after: string | null | undefined): Promise<OrderPage> {
    const limit = pageSize(first);
    const repo = ctx.em.getRepository(Order);
    const query = repo
      .createQueryBuilder('o')
      .where('o.user_id = :userId AND o.rejection_code IS NULL', { userId })
      .orderBy('o.created_at', 'DESC')
      .addOrderBy('o.id', 'DESC');
    const totalCount = await query.clone().getCount();
    if (after) {
      const [createdAt, id] = decodeCursor(after, 2);
      if (typeof createdAt !== 'string' || typeof id !== 'string' || !isUuid(id) || Number.isNaN(Date.parse(createdAt)))
        throw new BadUserInputError('after is not a valid cursor (use pageInfo.endCursor from a previous page)');
      query.andWhere('(o.created_at, o.id) < (:createdAt, :id)', { createdAt, id });
    }
    const rows = await query.take(limit + 1).getMany();
    const page = rows.slice(0, limit);
    const edges = page.map((node) => ({ cursor: encodeCursor([node.createdAt.toISOString(), node.id]), node }));
    return {
      totalCount,
      pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.length ? edges[edges.length - 1].cursor : null },
      edges,
    };
  }

  /**
   * cancelOrder (own order) and refundOrder (admin): refund the payment, return the stock. The
   * order is owned like a checkout while this runs; a confirmed order whose saga is still
   * being finished is finished first. If another worker holds the order right now, the answer
   * is the order as it stands.
   */
  async unwind(ctx: ServiceContext, user: SignedInIdentity, id: string, kind: 'cancel' | 'refund'): Promise<Order> {
    const repo = ctx.em.getRepository(Order);
    const order = isUuid(id) ? await repo.findOneBy({ id }) : null;
    const mayTouch = order && !order.rejectionCode && (kind === 'refund' || order.userId === user.userId);
    if (!order || !mayTouch) throw new NotFoundError(`No order with id ${id}`);
    const target = kind === 'cancel' ? 'cancelling' : 'refunding';
    if (order.status !== 'CONFIRMED' && order.sagaState !== target) throw this.notAllowed(kind, order);
    const claim = await this.saga.own(ctx, order.id);
    if (!claim) return order;
    try {
      if (order.sagaState !== target) {
        let current = await this.saga.drive(ctx, claim, order.id);
        if (current.sagaState === 'completed' && current.status === 'CONFIRMED') {
          const event = kind === 'cancel' ? 'cancel_requested' : 'refund_requested';
          current = (await this.saga.advance(ctx, claim, current, { event })) ?? (await repo.findOneByOrFail({ id: order.id }));
        }
        if (current.sagaState !== target) throw this.notAllowed(kind, current);
      }
      return await this.saga.drive(ctx, claim, order.id);
    } finally {
      await this.saga.release(claim);
    }
  }

  /**
   * For the payments sweeper: whether each order will still capture its authorization (true:
   * confirmed), never will (false: undone, or no such order), or has not decided yet (null).
   */
  async paymentFates(ctx: ServiceContext, input: unknown): Promise<{ orders: { orderId: string; willCapture: boolean | null }[] }> {
    const ids = (input as { orderIds?: unknown } | null)?.orderIds;
    if (!Array.isArray(ids) || ids.length > 500 || !ids.every(isUuid)) throw new BadUserInputError('orderIds must list at most 500 order ids');
    const found = ids.length ? await ctx.em.getRepository(Order).findBy({ id: In(ids) }) : [];
    const byId = new Map(found.map((order) => [order.id, order]));
    const fate = (order: Order | undefined) => {
      if (!order) return false;
      if (order.status === 'CONFIRMED') return true;
      return TERMINAL_STATES.includes(order.sagaState) || order.sagaState === 'compensating' ? false : null;
    };
    return { orders: ids.map((orderId) => ({ orderId, willCapture: fate(byId.get(orderId)) })) };
  }

  private notAllowed(kind: 'cancel' | 'refund', order: Order) {
    return new BadUserInputError(
      `Only a CONFIRMED order can be ${kind === 'cancel' ? 'cancelled' : 'refunded'}; this one is ${order.status}`,
    );
  }
}
