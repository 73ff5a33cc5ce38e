import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import {
  Kind,
  parse,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { CONTRACT_DIR, outputs, ROOT } from '../../scripts/compose';
import type { OperationLimits } from './analysis/limits';
import { analyzeOperation } from './analysis/operation-analyzer';
import { gatewayConfigShape } from './env';

const committedSupergraph = readFileSync(path.join(ROOT, 'gateway', 'supergraph.graphql'), 'utf8');
const apiSchema: GraphQLSchema = Supergraph.build(committedSupergraph).apiSchema().toGraphQLJSSchema();

const contractFiles = readdirSync(CONTRACT_DIR).filter((f) => f.endsWith('.graphql'));
const contract = contractFiles.map((file) => ({
  file,
  document: parse(readFileSync(path.join(CONTRACT_DIR, file), 'utf8')),
}));

/** The document a client sends for one operation: the operation plus every fragment in its file. */
function operationsOf(document: DocumentNode) {
  return document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
}

describe('the committed supergraph', () => {
  it('is what npm run compose makes from the subgraph SDL files (not stale)', () => {
    for (const [relative, content] of Object.entries(outputs())) {
      const file = path.join(ROOT, relative);
      expect({ file: relative, exists: existsSync(file) }).toEqual({ file: relative, exists: true });
      // On failure: run `npm run compose` and commit the result.
      expect({ file: relative, upToDate: readFileSync(file, 'utf8') === content }).toEqual({
        file: relative,
        upToDate: true,
      });
    }
  });
});

describe('contract gate: every storefront and admin operation validates against the public API schema', () => {
  expect(contract.length).toBeGreaterThanOrEqual(2);
  const cases = contract.flatMap(({ file, document }) =>
    operationsOf(document).map((op) => [`${file} ${op.name!.value}`, document, op] as const),
  );

  it.each(cases)('%s', (_name, document, operation) => {
    // Validate the operation with only the fragments it uses, as a client sends it.
    const single: DocumentNode = {
      kind: Kind.DOCUMENT,
      definitions: [operation, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)],
    };
    const errors = validate(apiSchema, single).filter((e) => !/Fragment ".*" is never used/.test(e.message));
    expect(errors.map((e) => e.message)).toEqual([]);
  });
});

describe('operation limits against the contract', () => {
  const measure = (document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>) =>
    analyzeOperation(apiSchema, { document, operationName: operation.name?.value, variables })!;
  const defaults: OperationLimits = {
    maxDepth: gatewayConfigShape.MAX_DEPTH.parse(undefined),
    maxAliases: gatewayConfigShape.MAX_ALIASES.parse(undefined),
    maxRootFields: gatewayConfigShape.MAX_ROOT_FIELDS.parse(undefined),
    maxTokens: gatewayConfigShape.MAX_TOKENS.parse(undefined),
    maxCost: gatewayConfigShape.MAX_COST.parse(undefined),
  };
  const cases = contract.flatMap(({ file, document }) =>
    operationsOf(document).map((op) => [`${file} ${op.name!.value}`, document, op] as const),
  );

  it.each(cases)('%s passes every default limit, even at first: 100', (_name, document, operation) => {
    const measured = measure(document, operation, { first: 100 });
    expect(measured.depth).toBeLessThanOrEqual(defaults.maxDepth);
    expect(measured.aliases).toBeLessThanOrEqual(defaults.maxAliases);
    expect(measured.rootFields).toBeLessThanOrEqual(defaults.maxRootFields);
    expect(measured.cost).toBeLessThanOrEqual(defaults.maxCost);
  });

  it('prices a nested list of lists of lists over the cost limit', () => {
    const document = parse(`query Nested {
      me { orders(first: 100) { edges { node { items { product { id } sku name } } } } }
      products(first: 100) { edges { node { id category { id } } } }
      a: products(first: 100) { edges { node { id } } }
    }`);
    const nested = parse(
      `{ __schema { types { fields { args { type { enumValues { name description } fields { name } } } } } } }`,
    );
    expect(measure(nested, operationsOf(nested)[0], {}).cost).toBeGreaterThan(
      defaults.maxCost,
    );
    // and a plausible heavy storefront page stays well within it
    expect(measure(document, operationsOf(document)[0], {}).cost).toBeLessThanOrEqual(
      defaults.maxCost,
    );
  });
});
