import { traceParentColumnMigration } from '@shop/kit';

/** The traceparent of the authorization request: the sweeper voiding an abandoned hold links to it. */
export const PaymentTraceParent1766000000000 = traceParentColumnMigration('PaymentTraceParent1766000000000', 'payments');
