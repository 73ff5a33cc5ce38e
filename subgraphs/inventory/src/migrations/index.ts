import { CreateStock1764190100000 } from './1764190100000-CreateStock';
import { ReservationTraceParent1766000000000 } from './1766000000000-ReservationTraceParent';

export const migrations = [CreateStock1764190100000, ReservationTraceParent1766000000000];
