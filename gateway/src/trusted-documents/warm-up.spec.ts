import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { printSchema, type GraphQLSchema } from 'graphql';
import { Registry } from 'prom-client';
import { createLogger } from '@shop/kit';
import { ROOT } from '../../../scripts/compose';
import { loadManifest } from './manifest';
import { TrustedDocumentWarmUp } from './warm-up';

const manifest = loadManifest(path.join(ROOT, 'gateway', 'trusted-documents.json'));
const committedSdl = readFileSync(path.join(ROOT, 'gateway', 'supergraph.graphql'), 'utf8');
const LIMITS = { maxDepth: 15, maxAliases: 50, maxRootFields: 10, maxTokens: 5000, maxCost: 25000 };

const sha256 = (...parts: string[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};
const apiSchemaOf = (sdl: string): GraphQLSchema => Supergraph.build(sdl).apiSchema().toGraphQLJSSchema();
const documentKey = (schema: GraphQLSchema, id: string) => `${sha256(printSchema(schema))}:${id}`;

function warmUp(enabled = true) {
  const registry = new Registry();
  const warm = new TrustedDocumentWarmUp({
    operations: manifest.operations,
    enabled,
    introspection: false,
    limits: LIMITS,
    logger: createLogger('gateway', 'silent'),
    registry,
  });
  const preparations = async () =>
    Object.fromEntries(
      (await registry.getSingleMetric('gateway_operation_preparations_total')!.get()).values.map((v) => [
        v.labels.stage,
        v.value,
      ]),
    );
  return { warm, preparations };
}

describe('preparing the trusted operations', () => {
  it('parses, validates and plans every trusted operation under the keys Apollo looks them up by; ready only then', async () => {
    const { warm, preparations } = warmUp();
    const schema = apiSchemaOf(committedSdl);
    const prepared = warm.schemaLoaded(schema, committedSdl);
    expect(warm.ready).toBe(false);
    await prepared;
    expect(warm.ready).toBe(true);
    for (const op of manifest.operations) {
      expect({ op: op.name, document: !!(await warm.documentStore.get(documentKey(schema, op.id))) }).toEqual(
        {
          op: op.name,
          document: true,
        },
      );
      // A request without operationName, and one naming it.
      expect({ op: op.name, plan: !!(await warm.queryPlanStore.get(op.id)) }).toEqual({
        op: op.name,
        plan: true,
      });
      expect(await warm.queryPlanStore.get(sha256(op.id, op.name))).toBeDefined();
    }
    expect(await preparations()).toEqual({});
    // Anything else is a miss, counted: it is prepared while a client waits.
    expect(await warm.queryPlanStore.get(sha256('query Other { categories { id } }'))).toBeUndefined();
    expect(await preparations()).toEqual({ plan: 1 });
  });

  it('prepares them again for a new supergraph, and reports an operation the new one no longer accepts', async () => {
    const { warm } = warmUp();
    const oldSchema = apiSchemaOf(committedSdl);
    await warm.schemaLoaded(oldSchema, committedSdl);
    const withoutCategories = committedSdl.replace(
      /\n\s+categories: \[Category!\]! @join__field\(graph: PRODUCTS\)/,
      '',
    );
    expect(withoutCategories).not.toBe(committedSdl);
    const newSchema = apiSchemaOf(withoutCategories);
    await warm.schemaLoaded(newSchema, withoutCategories);
    const categories = manifest.operations.find((op) => op.name === 'Categories')!;
    const productList = manifest.operations.find((op) => op.name === 'ProductList')!;
    expect(await warm.documentStore.get(documentKey(newSchema, productList.id))).toBeDefined();
    expect(await warm.documentStore.get(documentKey(oldSchema, productList.id))).toBeUndefined();
    expect(await warm.documentStore.get(documentKey(newSchema, categories.id))).toBeUndefined();
    expect(await warm.queryPlanStore.get(categories.id)).toBeUndefined();
  });

  it('prepares nothing in off mode (development), and is ready at once', async () => {
    const { warm } = warmUp(false);
    expect(warm.ready).toBe(true);
    const schema = apiSchemaOf(committedSdl);
    await warm.schemaLoaded(schema, committedSdl);
    expect(await warm.documentStore.get(documentKey(schema, manifest.operations[0].id))).toBeUndefined();
  });
});
