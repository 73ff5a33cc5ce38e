import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The trusted operations, in Apollo's persisted query manifest format (what
 * `@apollo/generate-persisted-query-manifest` writes and the Apollo router reads), so a
 * client built with Apollo's tooling and this gateway agree on every id.
 */
export interface PersistedQueryManifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: ManifestOperation[];
}

export interface ManifestOperation {
  /** SHA-256 (hex) of `body`: the id clients send. */
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  /** The exact text a client sends: the operation and the fragments it uses. */
  body: string;
}

export const MANIFEST_FORMAT = 'apollo-persisted-query-manifest';
const SHA256_HEX = /^[0-9a-f]{64}$/;
const TYPES = new Set(['query', 'mutation', 'subscription']);

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Checks a manifest read from disk: the format marker, and every id really the hash of its
 * body (an edited body with a stale id would otherwise be trusted under the old id).
 */
export function parseManifest(json: string, source = 'manifest'): PersistedQueryManifest {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`${source} is not valid JSON`);
  }
  const manifest = value as Partial<PersistedQueryManifest> | null;
  if (!manifest || manifest.format !== MANIFEST_FORMAT || manifest.version !== 1)
    throw new Error(`${source} is not an ${MANIFEST_FORMAT} version 1`);
  if (!Array.isArray(manifest.operations)) throw new Error(`${source} has no operations list`);
  for (const [index, op] of manifest.operations.entries()) {
    const where = `${source} operation ${index} (${String(op?.name)})`;
    if (!op || typeof op.body !== 'string' || typeof op.name !== 'string' || !TYPES.has(op.type))
      throw new Error(`${where} needs a name, a type (query, mutation or subscription) and a body`);
    if (typeof op.id !== 'string' || !SHA256_HEX.test(op.id))
      throw new Error(`${where}: id is not a SHA-256 hex`);
    if (sha256Hex(op.body) !== op.id) throw new Error(`${where}: id is not the SHA-256 of its body`);
  }
  return manifest as PersistedQueryManifest;
}

export function loadManifest(file: string): PersistedQueryManifest {
  return parseManifest(readFileSync(file, 'utf8'), file);
}

/** The manifest as committed: two-space JSON with a trailing newline (stable diffs). */
export function manifestJson(manifest: PersistedQueryManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
