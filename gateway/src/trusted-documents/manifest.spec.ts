import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contractOperation, contractOperations } from '@shop/kit/testing';
import { ROOT, staleFiles } from '../../../scripts/compose';
import { buildManifest, CLIENTS_FILE, trustedDocumentOutputs } from '../../../scripts/trusted-manifest';
import { CONTRACT_DIR } from '../../../subgraphs/kit/src/testing/contract';
import { loadManifest, parseManifest, sha256Hex } from './manifest';

const MANIFEST = 'gateway/trusted-documents.json';
const committed = loadManifest(path.join(ROOT, MANIFEST));

function tempDir(prefix: string) {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

describe('the trusted-documents manifest', () => {
  it('is in the Apollo persisted query manifest format, each id the SHA-256 of its body', () => {
    expect(committed).toMatchObject({ format: 'apollo-persisted-query-manifest', version: 1 });
    for (const op of committed.operations) expect(op.id).toBe(sha256Hex(op.body));
  });

  it('holds every contract operation exactly as a client sends it (operation plus its fragments)', () => {
    const expected = contractOperations().map(({ file, operation }) => ({
      name: operation.name!.value,
      type: operation.operation,
      body: contractOperation(operation.name!.value, file),
    }));
    expect(committed.operations.map(({ name, type, body }) => ({ name, type, body }))).toEqual(expected);
  });

  it('is stale (compose --check fails, the supergraph spec fails) when a contract file changes', () => {
    const contract = tempDir('contract-');
    cpSync(CONTRACT_DIR, contract, { recursive: true });
    expect(staleFiles(trustedDocumentOutputs(ROOT, [], contract))).toEqual([]);

    const storefront = path.join(contract, 'storefront.graphql');
    writeFileSync(
      storefront,
      readFileSync(storefront, 'utf8').replace(/query Categories \{/, 'query Categories {\n  __typename'),
    );
    expect(staleFiles(trustedDocumentOutputs(ROOT, [], contract))).toEqual([
      MANIFEST,
      'kustomize/base/gateway/trusted-documents.json',
    ]);
  });

  it("adds another client's .graphql operations and an Apollo-generated manifest, and remembers those files", () => {
    const root = tempDir('clients-');
    mkdirSync(path.join(root, 'clients'));
    const v1 =
      'query ProductTile($id: ID!) { product(id: $id) { ...Tile } }\nfragment Tile on Product { id name }';
    const v2 =
      'query ProductTile($id: ID!) { product(id: $id) { ...Tile } }\nfragment Tile on Product { id name slug }';
    writeFileSync(path.join(root, 'clients', 'mobile-v1.graphql'), v1);
    writeFileSync(path.join(root, 'clients', 'mobile-v2.graphql'), v2);
    const apolloBody = 'query Me { me { id } }';
    writeFileSync(
      path.join(root, 'clients', 'web.json'),
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: sha256Hex(apolloBody), name: 'Me', type: 'query', body: apolloBody }],
      }),
    );
    const given = ['mobile-v1.graphql', 'mobile-v2.graphql', 'web.json'].map((f) =>
      path.join(root, 'clients', f),
    );

    const outputs = trustedDocumentOutputs(root, given);
    expect(JSON.parse(outputs[CLIENTS_FILE])).toEqual([
      'clients/mobile-v1.graphql',
      'clients/mobile-v2.graphql',
      'clients/web.json',
    ]);
    const manifest = parseManifest(outputs[MANIFEST]);
    // Both versions of the mobile client's ProductTile are trusted while both are in use.
    const tiles = manifest.operations.filter((op) => op.name === 'ProductTile');
    expect(tiles).toHaveLength(2);
    expect(new Set(tiles.map((t) => t.id)).size).toBe(2);
    expect(manifest.operations).toContainEqual({
      id: sha256Hex(apolloBody),
      name: 'Me',
      type: 'query',
      body: apolloBody,
    });
    expect(manifest.operations.length).toBe(committed.operations.length + 3);

    // Written once, the list is read back: a later compose (or --check) without arguments rebuilds the same manifest.
    mkdirSync(path.join(root, 'gateway'));
    writeFileSync(path.join(root, CLIENTS_FILE), outputs[CLIENTS_FILE]);
    expect(trustedDocumentOutputs(root)[MANIFEST]).toBe(outputs[MANIFEST]);
  });

  it('refuses a manifest whose id is not the hash of its body (an edited body cannot keep a trusted id)', () => {
    const manifest = buildManifest([path.join(CONTRACT_DIR, 'storefront.graphql')]);
    manifest.operations[0].body += '\nquery Extra { __typename }';
    expect(() => parseManifest(JSON.stringify(manifest))).toThrow(/not the SHA-256 of its body/);
    expect(() => parseManifest('{"format":"something-else","version":1,"operations":[]}')).toThrow(
      /not an apollo-persisted-query-manifest/,
    );
  });
});
