import { withTransaction, type ServiceContext } from '@shop/kit';
import { In } from 'typeorm';
import type { Clients } from '../clients';
import { CartItem } from '../entities/cart-item.entity';
import { Order, type OrderStatus, type SagaState } from '../entities/order.entity';
import { OrderLine } from '../entities/order-line.entity';
import type { SagaStep } from '../env';
import { recordTransition, type OrderMetrics } from '../metrics';

export const TERMINAL: SagaState[] = ['completed', 'failed'];

export interface SagaOptions {
  clients: Clients;
  metrics: OrderMetrics;
  leaseMs: number;
  /** Test-only fault hook: exit abruptly right after this step is persisted. */
  crashAfter?: SagaStep;
}

export interface StepPatch {
  sagaState: SagaState;
  status?: OrderStatus;
  failureReason?: string | null;
  rejectionCode?: string | null;
  rejectionDetail?: Order['rejectionDetail'];
}

/**
 * The persistent half of the checkout saga, shared by the live checkout, cancel/refund and
 * the recovery loop. Every step is one conditional update of the order row
 * (`WHERE saga_state IN <expected>`), so two workers never apply the same step twice, and
 * every remote call it makes is idempotent, so repeating a step after a crash is safe.
 */
export class Saga {
  constructor(private readonly options: SagaOptions) {}

  get clients() {
    return this.options.clients;
  }

  /** Moves the order to `patch.sagaState` if it is still in one of `from`; false when someone else moved it. */
  async advance(
    ctx: ServiceContext,
    orderId: string,
    from: SagaState[],
    patch: StepPatch,
    requireStatus?: OrderStatus,
  ): Promise<boolean> {
    const terminal = TERMINAL.includes(patch.sagaState);
    const result = await ctx.em
      .createQueryBuilder()
      .update(Order)
      .set({
        ...patch,
        leaseUntil: () => (terminal ? 'NULL' : `now() + interval '${this.options.leaseMs} milliseconds'`),
        updatedAt: () => 'now()',
      })
      .where('id = :orderId AND saga_state IN (:...from)', { orderId, from })
      .andWhere(requireStatus ? 'status = :requireStatus' : 'TRUE', { requireStatus })
      .execute();
    if (!result.affected) return false;
    recordTransition(this.options.metrics, from, patch);
    this.crashPoint(ctx, orderId, patch.sagaState);
    return true;
  }

  /** The test-only fault hook: an abrupt exit right after `step` was persisted. */
  crashPoint(ctx: ServiceContext, orderId: string, step: SagaState): void {
    if (this.options.crashAfter !== step) return;
    ctx.log.warn({ orderId, step }, 'FAULT_CRASH_AFTER: exiting on purpose');
    process.exit(137);
  }

  /** An approved payment with stock held: confirm, then commit, capture and empty the cart. */
  async confirm(ctx: ServiceContext, order: Order, from: SagaState[]): Promise<void> {
    if (!(await this.advance(ctx, order.id, from, { sagaState: 'order_confirmed', status: 'CONFIRMED' }))) return;
    await this.finishConfirmed(ctx, { id: order.id, userId: order.userId, sagaState: 'order_confirmed' });
  }

  /** Drives a CONFIRMED order to `completed`; each step idempotent, so it may be repeated. */
  async finishConfirmed(ctx: ServiceContext, order: Pick<Order, 'id' | 'userId' | 'sagaState'>): Promise<void> {
    let state = order.sagaState;
    if (state === 'order_confirmed') {
      await this.clients.inventory.commit(order.id);
      if (!(await this.advance(ctx, order.id, [state], { sagaState: 'reservation_committed' }))) return;
      state = 'reservation_committed';
    }
    if (state === 'reservation_committed') {
      await this.clients.payments.capture(order.id);
      if (!(await this.advance(ctx, order.id, [state], { sagaState: 'payment_captured' }))) return;
      state = 'payment_captured';
    }
    if (state === 'payment_captured') {
      await withTransaction(ctx, async (tx) => {
        const lines = await tx.em.getRepository(OrderLine).findBy({ orderId: order.id });
        const productIds = lines.map((line) => line.productId);
        if (productIds.length) {
          const emptied = await tx.em.getRepository(CartItem).delete({ userId: order.userId, productId: In(productIds) });
          if (emptied.affected) this.options.metrics.cartsConverted.inc();
        }
        await this.advance(tx, order.id, ['payment_captured'], { sagaState: 'completed' });
      });
    }
  }

  /** Ends an order that will not be fulfilled: status set now, stock and payment let go after. */
  async fail(ctx: ServiceContext, orderId: string, from: SagaState[], status: OrderStatus, reason: string): Promise<boolean> {
    if (!(await this.advance(ctx, orderId, from, { sagaState: 'compensating', status, failureReason: reason }))) return false;
    await this.compensate(ctx, orderId);
    return true;
  }

  /** Voids any authorization and releases any reservation (both idempotent), then closes the saga. */
  async compensate(ctx: ServiceContext, orderId: string): Promise<void> {
    await this.clients.inventory.release(orderId);
    await this.clients.payments.void(orderId);
    await this.advance(ctx, orderId, ['compensating'], { sagaState: 'failed' });
  }

  /** Cancel (customer) or refund (admin) of a confirmed order: refund, restock, final status. */
  async unwind(ctx: ServiceContext, orderId: string, state: 'cancelling' | 'refunding'): Promise<void> {
    await this.clients.payments.refund(orderId);
    await this.clients.inventory.restock(orderId, state === 'cancelling' ? 'order_cancelled' : 'order_refunded');
    const status = state === 'cancelling' ? 'CANCELLED' : 'REFUNDED';
    if (await this.advance(ctx, orderId, [state], { sagaState: 'completed', status }))
      this.options.metrics.refunds.inc({ kind: state === 'cancelling' ? 'cancel' : 'refund' });
  }
}
