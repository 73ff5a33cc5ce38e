import DataLoader from 'dataloader';
import { In, type EntityManager } from 'typeorm';
import { Order } from './entities/order.entity';
import { OrderLine } from './entities/order-line.entity';
import { isUuid } from '@shop/kit';

export interface OrderLoaders {
  orderById: DataLoader<string, Order | null>;
  linesByOrderId: DataLoader<string, OrderLine[]>;
}

/** Per request: one query per kind however many orders a response holds. */
export function createLoaders(em: EntityManager): OrderLoaders {
  return {
    orderById: new DataLoader(async (ids) => {
      const valid = ids.filter(isUuid);
      const rows = valid.length ? await em.getRepository(Order).findBy({ id: In(valid) }) : [];
      const map = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => map.get(id) ?? null);
    }),
    linesByOrderId: new DataLoader(async (orderIds) => {
      const rows = await em.getRepository(OrderLine).find({
        where: { orderId: In([...orderIds]) },
        order: { orderId: 'ASC', position: 'ASC' },
      });
      return orderIds.map((id) => rows.filter((row) => row.orderId === id));
    }),
  };
}
