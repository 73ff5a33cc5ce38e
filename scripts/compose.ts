/**
 * Composes the supergraph from every subgraph's SDL file (subgraphs/<name>/src/schema.graphql)
 * and writes the committed copies: gateway/supergraph.graphql (served by the gateway),
 * kustomize/base/gateway/supergraph.graphql (kustomize cannot read files outside its root),
 * gateway/playground/examples.graphql (the contract's operations, as playground examples) and
 * docs/configuration.md (every environment variable, from the services' config shapes) and
 * gateway/src/analysis/cache-hints.generated.ts (the subgraphs' @cacheControl hints, which composition drops)
 * and gateway/trusted-documents.json (the manifest of trusted operations: the contract's, plus
 * any other client's files, docs/trusted-documents.md).
 *
 *   npm run compose                          write the files
 *   npm run compose -- --check               fail (exit 1) when a committed file is stale
 *   npm run compose -- path/to/client.graphql  also trust another client's operations (.graphql,
 *                                            or an Apollo persisted query manifest .json); remembered
 *                                            in gateway/trusted-documents.clients.json
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { cacheHintsSource, extractCacheHints } from '../gateway/src/analysis/cache-policy';
import { CONTRACT_DIR, contractFiles } from '../subgraphs/kit/src/testing/contract';
import { configurationMarkdown } from './config-docs';
import { trustedDocumentOutputs } from './trusted-manifest';

export const ROOT = path.resolve(__dirname, '..');
export { CONTRACT_DIR };
const PORTS: Record<string, number> = { users: 4001, products: 4002, inventory: 4003, orders: 4004, payments: 4005 };

export function subgraphSdls() {
  const dir = path.join(ROOT, 'subgraphs');
  return readdirSync(dir)
    .filter((name) => existsSync(path.join(dir, name, 'src', 'schema.graphql')))
    .sort()
    .map((name) => ({
      name,
      url: `http://127.0.0.1:${PORTS[name] ?? 4100}/graphql`,
      typeDefs: parse(readFileSync(path.join(dir, name, 'src', 'schema.graphql'), 'utf8')),
    }));
}

export function composeSupergraph(): string {
  const result = composeServices(subgraphSdls());
  if (result.errors) {
    throw new Error(`composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  }
  return result.supergraphSdl;
}

export function examplesDocument(): string {
  const files = contractFiles(); // storefront first
  const header =
    '# The storefront and admin contract operations. Pick one with the run button.\n' +
    '# Sign in with Login, then put {"Authorization": "Bearer <accessToken>"} in the Headers tab.\n\n';
  return header + files.map((f) => readFileSync(path.join(CONTRACT_DIR, f), 'utf8').trim()).join('\n\n') + '\n';
}

/** Every generated file; `clientFiles` are other clients' operation files to trust as well. */
export function outputs(clientFiles: string[] = []): Record<string, string> {
  const supergraph = composeSupergraph();
  const files: Record<string, string> = {
    'gateway/supergraph.graphql': supergraph,
    'kustomize/base/gateway/supergraph.graphql': supergraph,
  };
  // Composition drops @cacheControl, so the gateway keeps the subgraphs' hints beside the supergraph.
  files['gateway/src/analysis/cache-hints.generated.ts'] = cacheHintsSource(extractCacheHints(subgraphSdls().map((s) => s.typeDefs)));
  files['docs/configuration.md'] = configurationMarkdown();
  files['gateway/playground/examples.graphql'] = examplesDocument();
  return { ...files, ...trustedDocumentOutputs(ROOT, clientFiles) };
}

/** The generated files whose committed copy differs from what compose makes now. */
export function staleFiles(generated: Record<string, string>, root = ROOT): string[] {
  return Object.entries(generated)
    .filter(([relative, content]) => {
      const file = path.join(root, relative);
      return !existsSync(file) || readFileSync(file, 'utf8') !== content;
    })
    .map(([relative]) => relative);
}

function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const generated = outputs(args.filter((a) => !a.startsWith('--')));
  const stale = staleFiles(generated);
  if (!check)
    for (const relative of stale) {
      const file = path.join(ROOT, relative);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, generated[relative]);
      console.log(`wrote ${relative}`);
    }
  if (check && stale.length > 0) {
    console.error(`stale: ${stale.join(', ')} — run npm run compose and commit the result`);
    process.exit(1);
  }
  if (check) console.log('supergraph files are up to date');
}

if (require.main === module) main();
