import DataLoader from 'dataloader';
import type { EntityManager } from 'typeorm';
import { isUuid, rows } from '@shop/kit';
import { ORDER_COLUMNS, orderFromRow, type Order, type OrderRow } from './entities/order.entity';
import { OrderLine } from './entities/order-line.entity';

export interface OrderLoaders {
  orderById: DataLoader<string, Order | null>;
  linesByOrderId: DataLoader<string, OrderLine[]>;
}

const LINE_COLUMNS =
  'id, order_id AS "orderId", position, product_id AS "productId", sku, name, quantity, unit_price AS "unitPrice", currency';

/**
 * Per request: one query per kind however many orders a response holds. Raw SQL, not the
 * repository: every checkout's answer reads its order's lines, and TypeORM's find (query
 * builder, then hydration) cost more than the statement.
 */
export function createLoaders(em: EntityManager): OrderLoaders {
  return {
    orderById: new DataLoader(async (ids) => {
      const valid = ids.filter(isUuid);
      const found = valid.length
        ? (await rows<OrderRow>(em, `SELECT ${ORDER_COLUMNS} FROM orders WHERE id = ANY($1::uuid[])`, [valid])).map(orderFromRow)
        : [];
      const map = new Map(found.map((order) => [order.id, order]));
      return ids.map((id) => map.get(id) ?? null);
    }),
    linesByOrderId: new DataLoader(async (orderIds) => {
      const valid = orderIds.filter(isUuid);
      const found = valid.length
        ? await rows<OrderLine>(em, `SELECT ${LINE_COLUMNS} FROM order_lines WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, position`, [valid])
        : [];
      return orderIds.map((id) => found.filter((line) => line.orderId === id).map((line) => Object.assign(new OrderLine(), line)));
    }),
  };
}
