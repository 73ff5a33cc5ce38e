import { isUuid } from '@shop/kit';
import DataLoader from 'dataloader';
import { In, type EntityManager } from 'typeorm';
import { Payment } from './entities/payment.entity';

export interface PaymentLoaders {
  paymentById: DataLoader<string, Payment | null>;
  paymentByOrderId: DataLoader<string, Payment | null>;
}

function by(em: EntityManager, column: 'id' | 'orderId') {
  return new DataLoader<string, Payment | null>(async (keys) => {
    const valid = keys.filter(isUuid);
    const rows = valid.length ? await em.getRepository(Payment).findBy({ [column]: In(valid) }) : [];
    const map = new Map(rows.map((row) => [row[column], row]));
    return keys.map((key) => map.get(key) ?? null);
  });
}

/** Per request: one query per entity kind however many references a response holds. */
export function createLoaders(em: EntityManager): PaymentLoaders {
  return { paymentById: by(em, 'id'), paymentByOrderId: by(em, 'orderId') };
}
