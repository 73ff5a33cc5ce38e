import { runMigrationsMain } from '@shop/kit';
import { entities } from './entities';
import { paymentsConfigShape } from './env';
import { migrations } from './migrations';

runMigrationsMain({ name: 'payments', configShape: paymentsConfigShape, entities, migrations });
