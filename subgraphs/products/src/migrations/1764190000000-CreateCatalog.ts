import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Catalog tables. Listing queries are keyset scans, so each sort has an index over live
 * (non-archived) products whose column order matches its ORDER BY, with id as the tie-breaker;
 * search is a GIN index over a generated tsvector of name and description. Punctuation is
 * turned into spaces on both sides (here and in the query) so that text that looks like markup
 * or SQL is indexed and searched as the words it contains, not parsed as tags.
 */
export class CreateCatalog1764190000000 implements MigrationInterface {
  name = 'CreateCatalog1764190000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE categories (
        id uuid PRIMARY KEY,
        slug varchar(120) NOT NULL,
        name varchar(200) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX categories_slug_key ON categories (slug)`);
    await q.query(`
      CREATE TABLE products (
        id uuid PRIMARY KEY,
        sku varchar(64) NOT NULL,
        slug varchar(160) NOT NULL,
        name varchar(200) NOT NULL,
        description text NOT NULL,
        price_amount integer NOT NULL CHECK (price_amount >= 0),
        price_currency char(3) NOT NULL,
        image_url varchar(2048),
        category_id uuid NOT NULL REFERENCES categories (id),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        archived_at timestamptz(3),
        search_vector tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('english', regexp_replace(coalesce(name, ''), '[[:punct:]]+', ' ', 'g')), 'A') ||
          setweight(to_tsvector('english', regexp_replace(coalesce(description, ''), '[[:punct:]]+', ' ', 'g')), 'B')
        ) STORED
      )`);
    await q.query(`CREATE UNIQUE INDEX products_sku_key ON products (sku)`);
    await q.query(`CREATE UNIQUE INDEX products_slug_key ON products (slug)`);
    await q.query(`CREATE INDEX products_search_idx ON products USING gin (search_vector) WHERE archived_at IS NULL`);
    await q.query(`CREATE INDEX products_newest_idx ON products (created_at DESC, id DESC) WHERE archived_at IS NULL`);
    await q.query(`CREATE INDEX products_price_idx ON products (price_amount, id) WHERE archived_at IS NULL`);
    await q.query(`CREATE INDEX products_name_idx ON products (name, id) WHERE archived_at IS NULL`);
    await q.query(
      `CREATE INDEX products_category_newest_idx ON products (category_id, created_at DESC, id DESC) WHERE archived_at IS NULL`,
    );
    await q.query(`CREATE INDEX products_category_price_idx ON products (category_id, price_amount, id) WHERE archived_at IS NULL`);
    await q.query(`CREATE INDEX products_category_name_idx ON products (category_id, name, id) WHERE archived_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE products`);
    await q.query(`DROP TABLE categories`);
  }
}
