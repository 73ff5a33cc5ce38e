import { runMigrationsMain } from '@shop/kit';
import { entities } from './entities';
import { ordersConfigShape } from './env';
import { migrations } from './migrations';

runMigrationsMain({ name: 'orders', configShape: ordersConfigShape, entities, migrations });
