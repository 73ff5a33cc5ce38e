import { CreatePayments1764100000000 } from './1764100000000-CreatePayments';
import { PaymentEventsAndUndoneOrders1765000000000 } from './1765000000000-PaymentEventsAndUndoneOrders';
import { PaymentTraceParent1766000000000 } from './1766000000000-PaymentTraceParent';

export const migrations = [CreatePayments1764100000000, PaymentEventsAndUndoneOrders1765000000000, PaymentTraceParent1766000000000];
