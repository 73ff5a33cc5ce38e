import { runMigrationsMain } from '@shop/kit';
import { entities } from './entities';
import { inventoryConfigShape } from './env';
import { migrations } from './migrations';

runMigrationsMain({ name: 'inventory', configShape: inventoryConfigShape, entities, migrations });
