/**
 * Builds the trusted-documents manifest (gateway/trusted-documents.json) from the contract's
 * operation files and any other client's files: `.graphql` files of operations and fragments,
 * or manifests another client's Apollo tooling generated (`.json`). See docs/trusted-documents.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import {
  MANIFEST_FORMAT,
  manifestJson,
  parseManifest,
  sha256Hex,
  type ManifestOperation,
  type PersistedQueryManifest,
} from '../gateway/src/trusted-documents/manifest';
import { CONTRACT_DIR, contractFiles, standaloneOperation } from '../subgraphs/kit/src/testing/contract';

/**
 * The other clients' files that went into the committed manifest (paths relative to the
 * repository root), remembered so the staleness check and test rebuild the same manifest.
 */
export const CLIENTS_FILE = 'gateway/trusted-documents.clients.json';

function operationsOf(file: string): ManifestOperation[] {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) return parseManifest(text, file).operations;
  const { definitions } = parse(text);
  return definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((operation) => {
      if (!operation.name) throw new Error(`${file}: every trusted operation needs a name`);
      const body = standaloneOperation(operation, definitions);
      return { id: sha256Hex(body), name: operation.name.value, type: operation.operation, body };
    });
}

/**
 * One manifest of every operation in `files`, in order, each id once. The same name may
 * appear under several ids: an old and a new version of a client overlap during a rollout.
 */
export function buildManifest(files: string[]): PersistedQueryManifest {
  const operations = new Map<string, ManifestOperation>();
  for (const file of files)
    for (const operation of operationsOf(file))
      if (!operations.has(operation.id)) operations.set(operation.id, operation);
  return { format: MANIFEST_FORMAT, version: 1, operations: [...operations.values()] };
}

/** Other clients' files: the remembered ones plus those given now (relative to `root`). */
export function clientFiles(root: string, given: string[] = []): string[] {
  const remembered = existsSync(path.join(root, CLIENTS_FILE))
    ? (JSON.parse(readFileSync(path.join(root, CLIENTS_FILE), 'utf8')) as string[])
    : [];
  const added = given.map((f) => path.relative(root, path.resolve(f)).split(path.sep).join('/'));
  return [...new Set([...remembered, ...added])];
}

/** The files compose writes for the trusted documents: the manifest, and the client list if any. */
export function trustedDocumentOutputs(
  root: string,
  given: string[] = [],
  contractDir = CONTRACT_DIR,
): Record<string, string> {
  const clients = clientFiles(root, given);
  for (const file of clients)
    if (!existsSync(path.join(root, file))) throw new Error(`client file ${file} does not exist`);
  const files = [
    ...contractFiles(contractDir).map((f) => path.join(contractDir, f)),
    ...clients.map((f) => path.join(root, f)),
  ];
  const manifest = manifestJson(buildManifest(files));
  const outputs: Record<string, string> = {
    'gateway/trusted-documents.json': manifest,
    // Mounted into the gateway from a generated ConfigMap; kustomize cannot read outside its root.
    'kustomize/base/gateway/trusted-documents.json': manifest,
  };
  if (clients.length > 0) outputs[CLIENTS_FILE] = `${JSON.stringify(clients, null, 2)}\n`;
  return outputs;
}
