import { createHash } from 'node:crypto';

/** Namespace of the development catalog's ids (a fixed, random v4 uuid). */
export const CATALOG_NAMESPACE = '8f6e4c1a-3b7d-4e2a-9c5f-1d0b7a6e2c43';

/** RFC 4122 version-5 (name-based, SHA-1) uuid of `name` in `namespace`. */
export function uuidV5(name: string, namespace = CATALOG_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The development seed's shared convention: product n has sku SEED-00000n and id uuidV5(sku),
 * so the catalog seed (products) and the stock seed (inventory) agree without calling each other.
 */
export const seedSku = (n: number) => `SEED-${String(n).padStart(6, '0')}`;
export const seedProductId = (n: number) => uuidV5(seedSku(n));
