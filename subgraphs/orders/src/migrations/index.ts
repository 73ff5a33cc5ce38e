import { CreateOrders1764100000000 } from './1764100000000-CreateOrders';

export const migrations = [CreateOrders1764100000000];
