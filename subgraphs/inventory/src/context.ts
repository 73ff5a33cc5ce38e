import type { ServiceContext } from '@shop/kit';
import type { Loaders } from './loaders';
import type { ReservationService } from './services/reservation.service';
import type { StockService } from './services/stock.service';

export interface InventoryContext extends ServiceContext {
  loaders: Loaders;
  services: { stock: StockService; reservations: ReservationService };
}
