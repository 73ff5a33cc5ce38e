import DataLoader from 'dataloader';
import type { EntityManager } from 'typeorm';
import type { ProductCache, ProductRecord } from './services/product-cache';
import { PRODUCT_COLUMNS, toRecord, type CategoryRecord, type ProductRow } from './services/records';
import { isUuid, rows } from '@shop/kit';

export interface Loaders {
  /** Any product by id, archived ones included (entity resolution must still find them). */
  productById: DataLoader<string, ProductRecord | null>;
  categoryById: DataLoader<string, CategoryRecord | null>;
  /** The catalog version this request reads under (fetched once per request). */
  catalogVersion(): Promise<string | null>;
}

/** Per-request loaders: N product references cost one store round trip and at most one SQL query. */
export function createLoaders(em: EntityManager, cache: ProductCache): Loaders {
  let version: Promise<string | null> | undefined;
  const catalogVersion = () => (version ??= cache.version());

  const productById = new DataLoader<string, ProductRecord | null>(async (ids) => {
    const valid = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const v = await catalogVersion();
    const cached = await cache.getProducts(v, valid);
    const found = new Map<string, ProductRecord>();
    valid.forEach((id, i) => cached[i] && found.set(id, cached[i]!));
    const missing = valid.filter((id) => !found.has(id));
    if (missing.length > 0) {
      const loaded = (
        await rows<ProductRow>(em, `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.id = ANY($1::uuid[])`, [missing])
      ).map(toRecord);
      for (const record of loaded) found.set(record.id, record);
      await cache.putProducts(v, loaded);
    }
    return ids.map((id) => found.get(id.toLowerCase()) ?? null);
  });

  // Categories are few and change only through createCategory (which bumps the version):
  // kept in the memory layer under the catalog version.
  const categoryById = new DataLoader<string, CategoryRecord | null>(async (ids) => {
    const v = await catalogVersion();
    const byId = new Map<string, CategoryRecord>();
    for (const id of ids) {
      const remembered = cache.remembered<CategoryRecord>(v, `cat:${id}`);
      if (remembered) byId.set(id, remembered);
    }
    const missing = ids.filter((id) => !byId.has(id) && isUuid(id));
    if (missing.length > 0) {
      const loaded = await rows<CategoryRecord>(em, `SELECT id, slug, name FROM categories WHERE id = ANY($1::uuid[])`, [missing]);
      for (const category of loaded) {
        byId.set(category.id, category);
        cache.remember(v, `cat:${category.id}`, category);
      }
    }
    return ids.map((id) => byId.get(id) ?? null);
  });

  return { productById, categoryById, catalogVersion };
}
