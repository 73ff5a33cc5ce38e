import { traceParentColumnMigration } from '@shop/kit';

/** The traceparent of the request that reserved (or renewed) the stock: the sweeper expiring it links to it. */
export const ReservationTraceParent1766000000000 = traceParentColumnMigration('ReservationTraceParent1766000000000', 'reservations');
