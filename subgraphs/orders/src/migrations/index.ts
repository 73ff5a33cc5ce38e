import { CreateOrders1764100000000 } from './1764100000000-CreateOrders';
import { SagaOwnershipAndHistory1765000000000 } from './1765000000000-SagaOwnershipAndHistory';

export const migrations = [CreateOrders1764100000000, SagaOwnershipAndHistory1765000000000];
