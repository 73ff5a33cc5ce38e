import { CreateCatalog1764190000000 } from './1764190000000-CreateCatalog';
import { CacheInvalidations1765000000000 } from './1765000000000-CacheInvalidations';

export const migrations = [CreateCatalog1764190000000, CacheInvalidations1765000000000];
