import { CreateCatalog1764190000000 } from './1764190000000-CreateCatalog';
import { CacheInvalidations1765000000000 } from './1765000000000-CacheInvalidations';
import { InvalidationTraceParent1766000000000 } from './1766000000000-InvalidationTraceParent';

export const migrations = [CreateCatalog1764190000000, CacheInvalidations1765000000000, InvalidationTraceParent1766000000000];
