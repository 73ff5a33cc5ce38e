import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Kind,
  parse,
  print,
  visit,
  type DefinitionNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
} from 'graphql';

/**
 * The storefront contract's in-repo copy (`contract/` at the repository root), kept equal to
 * the master copy in `../shared/contract` by `npm run sync-contract`. Everything that reads
 * the contract — the contract gate, the trusted-documents manifest, e2e, the bench, the
 * playground's examples — reads this folder, so a clone stands alone.
 */
export const CONTRACT_DIR = path.resolve(__dirname, '..', '..', '..', '..', 'contract');

/** The contract's operation files, storefront first (`dir`: another copy of the contract). */
export function contractFiles(dir = CONTRACT_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .reverse();
}

const documents = new Map<string, DocumentNode>();
export function contractDocument(file: string): DocumentNode {
  let document = documents.get(file);
  if (!document) {
    document = parse(readFileSync(path.join(CONTRACT_DIR, file), 'utf8'));
    documents.set(file, document);
  }
  return document;
}

/** Every operation of the contract with the file it is in. */
export function contractOperations(): { file: string; operation: OperationDefinitionNode; document: DocumentNode }[] {
  return contractFiles().flatMap((file) => {
    const document = contractDocument(file);
    return document.definitions
      .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
      .map((operation) => ({ file, operation, document }));
  });
}

/**
 * One operation of the contract as a client sends it: the operation plus every fragment it
 * spreads (transitively). `file` narrows the search to storefront.graphql or admin.graphql.
 */
export function contractOperation(name: string, file?: string): string {
  const definitions: DefinitionNode[] = (file ? [file] : contractFiles()).flatMap(
    (f) => contractDocument(f).definitions,
  );
  const operation = definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name,
  );
  if (!operation) throw new Error(`operation ${name} is not in the contract (${file ?? CONTRACT_DIR})`);
  return standaloneOperation(operation, definitions);
}

/**
 * The text a client sends for `operation`: the operation, then every fragment it spreads
 * (transitively, in first-use order), printed. The trusted-documents manifest hashes exactly
 * this text, so e2e tests, the bench and the manifest agree on every operation's id.
 */
export function standaloneOperation(
  operation: OperationDefinitionNode,
  definitions: readonly DefinitionNode[],
): string {
  const fragments = new Map(
    definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const needed = new Map<string, FragmentDefinitionNode>();
  const collect = (node: DefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (!fragment) throw new Error(`fragment ${spread.name.value} is not defined`);
        if (!needed.has(fragment.name.value)) {
          needed.set(fragment.name.value, fragment);
          collect(fragment);
        }
      },
    });
  collect(operation);
  return [operation, ...needed.values()].map((d) => print(d)).join('\n');
}
