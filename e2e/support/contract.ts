import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, print, visit, type DefinitionNode, type DocumentNode, type FragmentDefinitionNode } from 'graphql';

/** The storefront contract beside the repository (../shared/contract), as CI lays it out. */
export const CONTRACT_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'contract');

const documents = new Map<string, DocumentNode>();
function contractDocument(file: string): DocumentNode {
  if (!documents.has(file)) documents.set(file, parse(readFileSync(path.join(CONTRACT_DIR, file), 'utf8')));
  return documents.get(file)!;
}

/**
 * One operation of the contract with exactly the fragments it uses, as a storefront sends it.
 * `file` is storefront.graphql or admin.graphql.
 */
export function contractOperation(name: string, file = 'storefront.graphql'): string {
  const document = contractDocument(file);
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  if (!operation) throw new Error(`operation ${name} is not in ${file}`);
  const needed = new Set<string>();
  const collect = (node: DefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        if (needed.has(spread.name.value)) return;
        needed.add(spread.name.value);
        collect(fragments.get(spread.name.value)!);
      },
    });
  collect(operation);
  return [operation, ...[...needed].map((n) => fragments.get(n)!)].map((d) => print(d)).join('\n');
}
