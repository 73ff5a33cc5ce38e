import { createHash, randomUUID } from 'node:crypto';
import {
  BadUserInputError,
  ConflictError,
  decodeCursor,
  encodeCursor,
  NotFoundError,
  pageSize,
  withTransaction,
} from '@shop/kit';
import type { ProductsContext } from '../context';
import { isUuid, rows, uniqueViolation } from '@shop/kit';
import type { CacheInvalidations } from './cache-invalidations';
import type { ProductCache, ProductRecord } from './product-cache';
import { PRODUCT_COLUMNS, toRecord, type CategoryRecord, type ProductRow } from './records';
import * as v from './validation';

export type ProductSort = 'NEWEST' | 'PRICE_ASC' | 'PRICE_DESC' | 'NAME_ASC';

export interface ProductFilter {
  search?: string | null;
  categorySlug?: string | null;
  minPrice?: number | null;
  maxPrice?: number | null;
}

export interface ListArgs {
  first?: number | null;
  after?: string | null;
  filter?: ProductFilter | null;
  sort?: ProductSort | null;
}

export interface ProductPage {
  /** Computed only when the client asks for it (and then usually from the store). */
  totalCount: () => Promise<number>;
  edges: { cursor: string; node: ProductRecord }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export interface MoneyInput {
  amount: number;
  currency: string;
}
export interface CreateProductInput {
  sku: string;
  name: string;
  slug: string;
  description: string;
  price: MoneyInput;
  categorySlug: string;
  imageUrl?: string | null;
}
export interface UpdateProductInput {
  name?: string | null;
  description?: string | null;
  price?: MoneyInput | null;
  categorySlug?: string | null;
  imageUrl?: string | null;
}

/**
 * Keyset orderings. Each compares the row tuple (key, id) with the cursor's tuple, so pages
 * never skip or repeat rows even when many products share a price, name or timestamp, and
 * each matches an index of the migration (partial on live products).
 */
const SORTS: Record<ProductSort, { column: string; cast: string; direction: 'ASC' | 'DESC'; keyOf: (p: ProductRecord) => unknown }> = {
  NEWEST: { column: 'p.created_at', cast: 'timestamptz', direction: 'DESC', keyOf: (p) => p.createdAt },
  PRICE_ASC: { column: 'p.price_amount', cast: 'integer', direction: 'ASC', keyOf: (p) => p.priceAmount },
  PRICE_DESC: { column: 'p.price_amount', cast: 'integer', direction: 'DESC', keyOf: (p) => p.priceAmount },
  NAME_ASC: { column: 'p.name', cast: 'text', direction: 'ASC', keyOf: (p) => p.name },
};

function cursorKey(sort: ProductSort, cursor: string): [unknown, string] {
  const [sortName, key, id] = decodeCursor(cursor, 3);
  const keyOk =
    sort === 'NEWEST'
      ? typeof key === 'string' && !Number.isNaN(Date.parse(key))
      : sort === 'NAME_ASC'
        ? typeof key === 'string'
        : Number.isInteger(key);
  if (sortName !== sort || !keyOk || !isUuid(id))
    throw new BadUserInputError('after is not a valid cursor for this sort (use pageInfo.endCursor of the same query)');
  return [key, id];
}

export class CatalogService {
  constructor(
    private readonly cache: ProductCache,
    private readonly invalidations: CacheInvalidations,
    private readonly options: { currency: string },
  ) {}

  /**
   * A catalog write: `write` runs in a transaction that also records the cache invalidation;
   * after the commit the cache version is bumped (or, with the store down, left to the loop).
   */
  private async write<T>(ctx: ProductsContext, write: (tx: ProductsContext) => Promise<T>): Promise<T> {
    const result = await withTransaction(ctx, async (tx) => {
      const written = await write(tx);
      await this.invalidations.record(tx);
      return written;
    });
    await this.invalidations
      .publishPending(ctx)
      .catch((error: unknown) => ctx.log.warn({ err: error }, 'cache invalidation left to the publisher'));
    return result;
  }

  // ------------------------------------------------------------------ reads

  async categories(ctx: ProductsContext): Promise<CategoryRecord[]> {
    return rows<CategoryRecord>(ctx.em, `SELECT id, slug, name FROM categories ORDER BY name, id`);
  }

  /** A live product by id (archived or unknown: null). */
  async byId(ctx: ProductsContext, id: string): Promise<ProductRecord | null> {
    const product = await ctx.loaders.productById.load(id);
    return product && !product.archivedAt ? product : null;
  }

  /** A live product by slug (archived or unknown: null). */
  async bySlug(ctx: ProductsContext, slug: string): Promise<ProductRecord | null> {
    const version = await ctx.loaders.catalogVersion();
    const cachedId = await this.cache.getSlug(version, slug);
    if (cachedId) return this.byId(ctx, cachedId);
    const [row] = await rows<ProductRow>(ctx.em, `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.slug = $1`, [slug]);
    if (!row) return null;
    const record = toRecord(row);
    ctx.loaders.productById.prime(record.id, record);
    await Promise.all([this.cache.putSlug(version, slug, record.id), this.cache.putProducts(version, [record])]);
    return record.archivedAt ? null : record;
  }

  /** Any products by id, archived included (entity resolution, orders' lookups). */
  async byIds(ctx: ProductsContext, ids: string[]): Promise<ProductRecord[]> {
    const found = await ctx.loaders.productById.loadMany(ids);
    return found.filter((p): p is ProductRecord => Boolean(p) && !(p instanceof Error));
  }

  async list(ctx: ProductsContext, args: ListArgs): Promise<ProductPage> {
    const first = pageSize(args.first);
    const sort = args.sort ?? 'NEWEST';
    const spec = SORTS[sort];
    const after = args.after ? cursorKey(sort, args.after) : undefined;
    const where = await this.filterSql(ctx, args.filter ?? {});

    const params = [...where.params];
    const conditions = [...where.conditions];
    if (after) {
      params.push(after[0], after[1]);
      const op = spec.direction === 'ASC' ? '>' : '<';
      conditions.push(`(${spec.column}, p.id) ${op} ($${params.length - 1}::${spec.cast}, $${params.length}::uuid)`);
    }
    params.push(first + 1);
    // One page of one filter, sort and cursor: from the memory layer under the current catalog
    // version, else from Postgres (then remembered for this version).
    const version = await ctx.loaders.catalogVersion();
    const pageKey = `page:${where.key}:${sort}:${args.after ?? ''}:${first}`;
    let page = this.cache.remembered<{ nodes: ProductRecord[]; hasNextPage: boolean }>(version, pageKey);
    if (!page) {
      const found = await rows<ProductRow>(
        ctx.em,
        `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE ${conditions.join(' AND ')}
       ORDER BY ${spec.column} ${spec.direction}, p.id ${spec.direction} LIMIT $${params.length}`,
        params,
      );
      page = { nodes: found.slice(0, first).map(toRecord), hasNextPage: found.length > first };
      this.cache.remember(version, pageKey, page);
    }
    const { nodes } = page;
    for (const node of nodes) ctx.loaders.productById.prime(node.id, node);
    const edges = nodes.map((node) => ({ cursor: encodeCursor([sort, spec.keyOf(node), node.id]), node }));
    return {
      totalCount: () => this.count(ctx, where),
      edges,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    };
  }

  private async count(ctx: ProductsContext, where: { conditions: string[]; params: unknown[]; key: string }): Promise<number> {
    const version = await ctx.loaders.catalogVersion();
    const cached = await this.cache.getCount(version, where.key);
    if (cached !== null) return cached;
    const [{ count }] = await rows<{ count: number }>(
      ctx.em,
      `SELECT count(*)::int AS count FROM products p WHERE ${where.conditions.join(' AND ')}`,
      where.params,
    );
    await this.cache.putCount(version, where.key, count);
    return count;
  }

  private async filterSql(ctx: ProductsContext, filter: ProductFilter) {
    const conditions = ['p.archived_at IS NULL'];
    const params: unknown[] = [];
    if ((filter.search ?? '').length > 500) throw new BadUserInputError('filter.search must be at most 500 characters');
    // Same normalisation as the indexed column: ASCII punctuation is a word separator.
    const search = (filter.search ?? '')
      .replace(/[!-/:-@[-`{-~]+/g, ' ')
      .trim()
      .replace(/\s+/g, ' ')
      .toLowerCase();
    const minPrice = v.priceBound(filter.minPrice, 'filter.minPrice');
    const maxPrice = v.priceBound(filter.maxPrice, 'filter.maxPrice');
    if (minPrice !== undefined && maxPrice !== undefined && minPrice > maxPrice)
      throw new BadUserInputError('filter.minPrice must not be greater than filter.maxPrice');
    let categoryId: string | undefined;
    if (filter.categorySlug !== null && filter.categorySlug !== undefined) {
      categoryId = (await this.categoryBySlug(ctx, filter.categorySlug)).id;
    }
    if (search) {
      params.push(search);
      conditions.push(`p.search_vector @@ plainto_tsquery('english', $${params.length})`);
    }
    if (categoryId) {
      params.push(categoryId);
      conditions.push(`p.category_id = $${params.length}::uuid`);
    }
    if (minPrice !== undefined) {
      params.push(minPrice);
      conditions.push(`p.price_amount >= $${params.length}`);
    }
    if (maxPrice !== undefined) {
      params.push(maxPrice);
      conditions.push(`p.price_amount <= $${params.length}`);
    }
    const key = createHash('sha1')
      .update(JSON.stringify([search, categoryId ?? null, minPrice ?? null, maxPrice ?? null]))
      .digest('base64url');
    return { conditions, params, key };
  }

  private async categoryBySlug(ctx: ProductsContext, slug: string): Promise<CategoryRecord> {
    const [category] = await rows<CategoryRecord>(ctx.em, `SELECT id, slug, name FROM categories WHERE slug = $1`, [slug.trim()]);
    if (!category) throw new BadUserInputError(`Unknown category slug "${slug}"`, { field: 'categorySlug' });
    return category;
  }

  // ------------------------------------------------------------------ admin writes

  async createCategory(ctx: ProductsContext, input: { slug: string; name: string }): Promise<CategoryRecord> {
    const slug = v.slug(input.slug);
    const name = v.name(input.name);
    try {
      return await this.write(ctx, async (tx) => {
        const [category] = await rows<CategoryRecord>(
          tx.em,
          `INSERT INTO categories (id, slug, name) VALUES ($1, $2, $3) RETURNING id, slug, name`,
          [randomUUID(), slug, name],
        );
        return category;
      });
    } catch (error) {
      if (uniqueViolation(error)) throw new ConflictError(`A category with slug "${slug}" already exists`);
      throw error;
    }
  }

  async createProduct(ctx: ProductsContext, input: CreateProductInput): Promise<ProductRecord> {
    const values = {
      sku: v.sku(input.sku),
      slug: v.slug(input.slug),
      name: v.name(input.name),
      description: v.description(input.description),
      price: v.price(input.price, this.options.currency),
      imageUrl: v.imageUrl(input.imageUrl),
    };
    const category = await this.categoryBySlug(ctx, v.slug(input.categorySlug, 'categorySlug'));
    try {
      return await this.write(ctx, async (tx) => {
        const [row] = await rows<ProductRow>(
          tx.em,
          `INSERT INTO products AS p (id, sku, slug, name, description, price_amount, price_currency, image_url, category_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${PRODUCT_COLUMNS}`,
          [randomUUID(), values.sku, values.slug, values.name, values.description, values.price, this.options.currency, values.imageUrl, category.id],
        );
        return toRecord(row);
      });
    } catch (error) {
      const index = uniqueViolation(error);
      if (index === 'products_sku_key') throw new ConflictError(`sku "${values.sku}" is already taken`);
      if (index) throw new ConflictError(`slug "${values.slug}" is already taken`);
      throw error;
    }
  }

  async updateProduct(ctx: ProductsContext, id: string, input: UpdateProductInput): Promise<ProductRecord> {
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (input.name !== undefined && input.name !== null) set('name', v.name(input.name));
    if (input.description !== undefined && input.description !== null) set('description', v.description(input.description));
    if (input.price !== undefined && input.price !== null) set('price_amount', v.price(input.price, this.options.currency));
    if (input.imageUrl !== undefined) set('image_url', v.imageUrl(input.imageUrl));
    if (input.categorySlug !== undefined && input.categorySlug !== null)
      set('category_id', (await this.categoryBySlug(ctx, v.slug(input.categorySlug, 'categorySlug'))).id);
    if (!isUuid(id)) throw new NotFoundError(`No product with id "${id}"`);
    const record = await this.write(ctx, async (tx) => {
      params.push(id);
      const [row] = await rows<ProductRow>(
        tx.em,
        `UPDATE products AS p SET ${[...sets, 'updated_at = now()'].join(', ')}
         WHERE p.id = $${params.length} AND p.archived_at IS NULL RETURNING ${PRODUCT_COLUMNS}`,
        params,
      );
      if (!row) throw new NotFoundError(`No product with id "${id}" (unknown or archived)`);
      return toRecord(row);
    });
    ctx.loaders.productById.clear(record.id).prime(record.id, record);
    return record;
  }

  async archiveProduct(ctx: ProductsContext, id: string): Promise<ProductRecord> {
    if (!isUuid(id)) throw new NotFoundError(`No product with id "${id}"`);
    const record = await this.write(ctx, async (tx) => {
      const [row] = await rows<ProductRow>(
        tx.em,
        `UPDATE products AS p SET archived_at = now(), updated_at = now()
         WHERE p.id = $1 AND p.archived_at IS NULL RETURNING ${PRODUCT_COLUMNS}`,
        [id],
      );
      if (!row) throw new NotFoundError(`No product with id "${id}" (unknown or already archived)`);
      return toRecord(row);
    });
    ctx.loaders.productById.clear(record.id).prime(record.id, record);
    return record;
  }
}
