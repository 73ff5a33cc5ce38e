import { BadUserInputError, requireAdmin } from '@shop/kit';
import type { ProductsContext } from '../context';
import type { CreateProductInput, ListArgs, ProductPage, UpdateProductInput } from '../services/catalog.service';
import type { ProductRecord } from '../services/product-cache';
import type { CategoryRecord } from '../services/records';


/** Thin: parse arguments, check authorization, hand off to the catalog service. */
export const catalogResolvers = {
  Query: {
    categories: (_: unknown, __: unknown, ctx: ProductsContext) => ctx.services.catalog.categories(ctx),
    products: (_: unknown, args: ListArgs, ctx: ProductsContext) => ctx.services.catalog.list(ctx, args),
    product: (_: unknown, args: { id?: string | null; slug?: string | null }, ctx: ProductsContext) => {
      const hasId = args.id !== undefined && args.id !== null;
      const hasSlug = args.slug !== undefined && args.slug !== null;
      if (hasId === hasSlug) throw new BadUserInputError('Give exactly one of id or slug');
      return hasId ? ctx.services.catalog.byId(ctx, args.id!) : ctx.services.catalog.bySlug(ctx, args.slug!);
    },
  },
  Mutation: {
    createCategory: (_: unknown, args: { input: { slug: string; name: string } }, ctx: ProductsContext) => {
      requireAdmin(ctx);
      return ctx.services.catalog.createCategory(ctx, args.input);
    },
    createProduct: (_: unknown, args: { input: CreateProductInput }, ctx: ProductsContext) => {
      requireAdmin(ctx);
      return ctx.services.catalog.createProduct(ctx, args.input);
    },
    updateProduct: (_: unknown, args: { id: string; input: UpdateProductInput }, ctx: ProductsContext) => {
      requireAdmin(ctx);
      return ctx.services.catalog.updateProduct(ctx, args.id, args.input);
    },
    archiveProduct: (_: unknown, args: { id: string }, ctx: ProductsContext) => {
      requireAdmin(ctx);
      return ctx.services.catalog.archiveProduct(ctx, args.id);
    },
  },
  ProductConnection: {
    totalCount: (page: ProductPage) => page.totalCount(),
  },
  Product: {
    /** Entity resolution: batched, and archived products included (past orders show them). */
    __resolveReference: (ref: { id: string }, ctx: ProductsContext) => ctx.loaders.productById.load(ref.id),
    price: (p: ProductRecord) => ({ amount: p.priceAmount, currency: p.priceCurrency }),
    category: async (p: ProductRecord, _: unknown, ctx: ProductsContext) => ctx.loaders.categoryById.load(p.categoryId),
    archived: (p: ProductRecord) => p.archivedAt !== null,
  },
  Category: {
    __resolveReference: (ref: { id: string }, ctx: ProductsContext): Promise<CategoryRecord | null> =>
      ctx.loaders.categoryById.load(ref.id),
  },
};
