import { CreateCatalog1764190000000 } from './1764190000000-CreateCatalog';

export const migrations = [CreateCatalog1764190000000];
