import { Reservation } from './reservation.entity';
import { ReservationLine } from './reservation-line.entity';
import { StockLevel } from './stock-level.entity';
import { StockMovement } from './stock-movement.entity';

export { Reservation, ReservationLine, StockLevel, StockMovement };
export const entities = [StockLevel, Reservation, ReservationLine, StockMovement];
