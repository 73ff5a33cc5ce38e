import type { ProductRecord } from './product-cache';

export interface CategoryRecord {
  id: string;
  slug: string;
  name: string;
}

export const PRODUCT_COLUMNS = `p.id, p.sku, p.slug, p.name, p.description, p.price_amount, p.price_currency, p.image_url,
  p.category_id, p.created_at, p.updated_at, p.archived_at`;

export interface ProductRow {
  id: string;
  sku: string;
  slug: string;
  name: string;
  description: string;
  price_amount: number;
  price_currency: string;
  image_url: string | null;
  category_id: string;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

export function toRecord(row: ProductRow): ProductRecord {
  return {
    id: row.id,
    sku: row.sku,
    slug: row.slug,
    name: row.name,
    description: row.description,
    priceAmount: row.price_amount,
    priceCurrency: row.price_currency,
    imageUrl: row.image_url,
    categoryId: row.category_id,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    archivedAt: row.archived_at ? new Date(row.archived_at).toISOString() : null,
  };
}
