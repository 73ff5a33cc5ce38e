import { traceParentColumnMigration } from '@shop/kit';

/** The traceparent of the checkout request that created an order: recovery finishing the order links to it. */
export const OrderTraceParent1766000000000 = traceParentColumnMigration('OrderTraceParent1766000000000', 'orders');
