import { runMigrationsMain } from '@shop/kit';
import { entities } from './entities';
import { usersConfigShape } from './env';
import { migrations } from './migrations';

runMigrationsMain({ name: 'users', configShape: usersConfigShape, entities, migrations });
