import DataLoader from 'dataloader';
import type { EntityManager } from 'typeorm';
import { emptyStock, loadStock, type StockRecord } from './services/stock.service';

export interface Loaders {
  /** Stock of any product id (no row: zero stock). */
  stockByProductId: DataLoader<string, StockRecord>;
}

/** Per-request loaders: a page of N products costs one stock query. */
export function createLoaders(em: EntityManager): Loaders {
  return {
    stockByProductId: new DataLoader<string, StockRecord>(async (ids) => {
      const found = await loadStock({ em }, ids);
      return ids.map((id) => found.get(id.toLowerCase()) ?? emptyStock(id));
    }),
  };
}
