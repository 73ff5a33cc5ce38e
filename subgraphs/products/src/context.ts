import type { ServiceContext } from '@shop/kit';
import type { Loaders } from './loaders';
import type { CatalogService } from './services/catalog.service';

export interface ProductsContext extends ServiceContext {
  loaders: Loaders;
  services: { catalog: CatalogService };
}
