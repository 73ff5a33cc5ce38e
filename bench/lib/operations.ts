import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, print, visit, type DefinitionNode, type FragmentDefinitionNode } from 'graphql';

/** Where the contract lives when the repo is checked out beside shared/ (as in CI). */
export const CONTRACT_DIR = process.env.CONTRACT_DIR ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'contract');

/**
 * One operation of the contract, as a client sends it: the operation plus every fragment it
 * spreads (transitively), taken from the contract files so the bench follows the contract.
 */
export function contractOperation(name: string): string {
  const files = ['storefront.graphql', 'admin.graphql'].map((f) => path.join(CONTRACT_DIR, f));
  const definitions: DefinitionNode[] = files.flatMap((f) => parse(readFileSync(f, 'utf8')).definitions);
  const fragments = new Map(
    definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const operation = definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  if (!operation) throw new Error(`operation ${name} is not in ${CONTRACT_DIR}`);
  const needed = new Map<string, FragmentDefinitionNode>();
  const collect = (node: DefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (!fragment) throw new Error(`fragment ${spread.name.value} is not in the contract`);
        if (!needed.has(fragment.name.value)) {
          needed.set(fragment.name.value, fragment);
          collect(fragment);
        }
      },
    });
  collect(operation);
  return [operation, ...needed.values()].map((d) => print(d)).join('\n');
}
