import { CreatePayments1764100000000 } from './1764100000000-CreatePayments';

export const migrations = [CreatePayments1764100000000];
