import { CreateOrders1764100000000 } from './1764100000000-CreateOrders';
import { SagaOwnershipAndHistory1765000000000 } from './1765000000000-SagaOwnershipAndHistory';
import { OrderTraceParent1766000000000 } from './1766000000000-OrderTraceParent';

export const migrations = [CreateOrders1764100000000, SagaOwnershipAndHistory1765000000000, OrderTraceParent1766000000000];
