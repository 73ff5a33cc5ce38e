import { runMigrationsMain } from '@shop/kit';
import { entities } from './entities';
import { productsConfigShape } from './env';
import { migrations } from './migrations';

runMigrationsMain({ name: 'products', configShape: productsConfigShape, entities, migrations });
