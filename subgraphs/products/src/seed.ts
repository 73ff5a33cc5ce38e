import { createMetrics, runCommandMain, seedSizeArg } from '@shop/kit';
import type { DataSource } from 'typeorm';
import { entities } from './entities';
import { productsConfigShape } from './env';
import { seedProductId, seedSku, uuidV5 } from '@shop/kit';
import { migrations } from './migrations';
import { ProductCache } from './services/product-cache';

/**
 * The deterministic development catalog: product n (1-based) always has the same id
 * (uuid v5 of its sku), sku, slug, name, price, category and creation time, so seeding is
 * idempotent (ON CONFLICT DO NOTHING) and inventory can seed matching stock without asking.
 */
export const SEED_CATEGORIES = [
  { slug: 'apparel', name: 'Apparel', nouns: ['T-Shirt', 'Hoodie', 'Jacket', 'Sweater', 'Cap', 'Scarf'] },
  {
    slug: 'footwear',
    name: 'Footwear',
    nouns: ['Running Shoe', 'Trail Shoe', 'Sneaker', 'Boot', 'Sandal', 'Slipper'],
  },
  {
    slug: 'electronics',
    name: 'Electronics',
    nouns: ['Headphones', 'Speaker', 'Charger', 'Keyboard', 'Mouse', 'Webcam'],
  },
  {
    slug: 'home-kitchen',
    name: 'Home & Kitchen',
    nouns: ['Mug', 'Kettle', 'Pan', 'Knife', 'Lamp', 'Blanket'],
  },
  {
    slug: 'outdoors',
    name: 'Outdoors',
    nouns: ['Tent', 'Backpack', 'Water Bottle', 'Sleeping Bag', 'Headlamp', 'Camp Chair'],
  },
  {
    slug: 'books',
    name: 'Books',
    nouns: ['Cookbook', 'Novel', 'Field Guide', 'Atlas', 'Notebook', 'Journal'],
  },
] as const;
const ADJECTIVES = [
  'Classic',
  'Lightweight',
  'Organic',
  'Rugged',
  'Compact',
  'Deluxe',
  'Everyday',
  'Vintage',
  'Waterproof',
  'Wireless',
  'Cozy',
  'Pro',
];
const COLOURS = ['red', 'blue', 'green', 'black', 'white', 'grey', 'navy', 'orange'];
const BASE_TIME = Date.parse('2025-01-01T00:00:00.000Z');
const BATCH = 1000;

export const seedCategoryId = (slug: string) => uuidV5(`category:${slug}`);

export function seedProduct(n: number) {
  const category = SEED_CATEGORIES[(n - 1) % SEED_CATEGORIES.length];
  const noun = category.nouns[Math.floor((n - 1) / SEED_CATEGORIES.length) % category.nouns.length];
  const adjective = ADJECTIVES[(n * 7) % ADJECTIVES.length];
  const colour = COLOURS[(n * 5) % COLOURS.length];
  const name = `${adjective} ${noun}`;
  const sku = seedSku(n);
  return {
    id: seedProductId(n),
    sku,
    slug: `${name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')}-${n}`,
    name,
    description: `A ${adjective.toLowerCase()} ${noun.toLowerCase()} in ${colour}, from our ${category.name.toLowerCase()} range. Item ${n}.`,
    priceAmount: 499 + ((n * 7919) % 200) * 100,
    imageUrl: `https://images.example.com/products/${sku.toLowerCase()}.jpg`,
    categoryId: seedCategoryId(category.slug),
    createdAt: new Date(BASE_TIME + n * 60_000).toISOString(),
  };
}

export interface SeedOptions {
  products?: number;
  currency?: string;
  log?: (line: string) => void;
}

/** Loads the deterministic catalog with batched multi-row INSERTs; safe to run again. */
export async function seedCatalog(
  dataSource: DataSource,
  options: SeedOptions = {},
): Promise<{ inserted: number }> {
  const total = options.products ?? 300;
  const currency = options.currency ?? 'USD';
  const log = options.log ?? (() => undefined);
  const categories = SEED_CATEGORIES.map((c) => [seedCategoryId(c.slug), c.slug, c.name]);
  await dataSource.query(
    `INSERT INTO categories (id, slug, name) VALUES ${categories.map((_, i) => `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`).join(', ')}
     ON CONFLICT DO NOTHING`,
    categories.flat(),
  );
  let inserted = 0;
  const started = Date.now();
  for (let from = 1; from <= total; from += BATCH) {
    const to = Math.min(total, from + BATCH - 1);
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (let n = from; n <= to; n++) {
      const p = seedProduct(n);
      const base = params.length;
      params.push(
        p.id,
        p.sku,
        p.slug,
        p.name,
        p.description,
        p.priceAmount,
        currency,
        p.imageUrl,
        p.categoryId,
        p.createdAt,
      );
      tuples.push(`(${Array.from({ length: 10 }, (_, i) => `$${base + i + 1}`).join(', ')}, $${base + 10})`);
    }
    const result = await dataSource.query(
      `INSERT INTO products (id, sku, slug, name, description, price_amount, price_currency, image_url, category_id, created_at, updated_at)
       VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING RETURNING id`,
      params,
    );
    inserted += (result as unknown[]).length;
    log(`products seed: ${to}/${total} processed, ${inserted} new (${Date.now() - started} ms)`);
  }
  return { inserted };
}

if (require.main === module) {
  runCommandMain(
    { name: 'products', configShape: productsConfigShape, entities, migrations },
    async ({ config, db, store }) => {
      const products = seedSizeArg();
      const { inserted } = await seedCatalog(db.dataSource, {
        products,
        currency: config.CURRENCY,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`products seed done: ${inserted} new of ${products}\n`);
      // A running service may hold cached counts: move the catalog version on.
      if (inserted > 0 && store.kind === 'redis') {
        const cache = new ProductCache(store, {
          prefix: config.PRODUCTS_CACHE_PREFIX,
          ttlMs: 1000,
          metrics: createMetrics('products-seed'),
        });
        await cache.bumpVersion();
      }
    },
  );
}
