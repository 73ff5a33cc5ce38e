import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { Kind, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { CONTRACT_DIR, ROOT, subgraphSdls } from '../../../scripts/compose';
import { CACHE_HINTS } from './cache-hints.generated';
import { extractCacheHints } from './cache-policy';
import { attemptTags, invalidationTags, responseTags } from './cache-tags';
import { analyzeOperation } from './operation-analyzer';

const schema = Supergraph.build(readFileSync(path.join(ROOT, 'gateway', 'supergraph.graphql'), 'utf8'))
  .apiSchema()
  .toGraphQLJSSchema();
const contract: DocumentNode[] = readdirSync(CONTRACT_DIR)
  .filter((f) => f.endsWith('.graphql'))
  .map((f) => parse(readFileSync(path.join(CONTRACT_DIR, f), 'utf8')));
const operations = new Map<string, { document: DocumentNode; operation: OperationDefinitionNode }>();
for (const document of contract)
  for (const d of document.definitions)
    if (d.kind === Kind.OPERATION_DEFINITION && d.name)
      operations.set(d.name.value, { document, operation: d });
const contractOp = (name: string) => {
  const found = operations.get(name);
  if (!found) throw new Error(`no contract operation ${name}`);
  return found;
};
/** The operation analyzer's answer (remembered per document and the variables it reads). */
const analysis = (
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
) => analyzeOperation(schema, { document, operationName: operation.name?.value, variables }, CACHE_HINTS)!;
const operationCachePolicy = (
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
) => analysis(document, operation, variables).cachePolicy;
const policyOf = (name: string, variables: Record<string, unknown> = {}) => {
  const { document, operation } = contractOp(name);
  return operationCachePolicy(document, operation, variables);
};
const adhoc = (query: string) => {
  const document = parse(query);
  return { document, operation: document.definitions[0] as OperationDefinitionNode };
};

describe('cache hints', () => {
  it('the generated hints are the ones in the subgraph SDL files (not stale)', () => {
    // On failure: run `npm run compose` and commit the result.
    expect(CACHE_HINTS).toEqual(extractCacheHints(subgraphSdls().map((s) => s.typeDefs)));
  });
});

describe('operation cache policy from the subgraphs hints', () => {
  it.each([
    ['Categories', { maxAge: 60, scope: 'PUBLIC' }],
    // inStock / inventory.available (5 s) bound catalog pages that show stock
    ['ProductList', { maxAge: 5, scope: 'PUBLIC' }],
    ['ProductPage', { maxAge: 5, scope: 'PUBLIC' }],
    ['ProductById', { maxAge: 5, scope: 'PUBLIC' }],
  ])('%s is public: %j', (name, expected) => {
    expect(policyOf(name)).toEqual(expected);
  });

  it.each(['Me', 'Cart', 'Order', 'MyOrders', 'AnyOrder', 'InventoryOf'])('%s is never cached', (name) => {
    expect(policyOf(name)).toBeNull();
  });

  it('never caches mutations, introspection, or a query mixing public and private fields', () => {
    expect(policyOf('UpdateProduct')).toBeNull();
    expect(policyOf('SetStock')).toBeNull();
    const { document, operation } = adhoc('{ categories { id } me { id } }');
    expect(operationCachePolicy(document, operation, {})).toBeNull();
    const introspection = adhoc('{ categories { id } __schema { queryType { name } } }');
    expect(
      operationCachePolicy(introspection.document, introspection.operation, {}),
    ).toBeNull();
  });

  it('follows @include/@skip with the variables', () => {
    const { document, operation } = adhoc(
      'query($stock: Boolean!) { product(id: "1") { id name inStock @include(if: $stock) } }',
    );
    expect(operationCachePolicy(document, operation, { stock: false })).toEqual({
      maxAge: 60,
      scope: 'PUBLIC',
    });
    expect(operationCachePolicy(document, operation, { stock: true })).toEqual({
      maxAge: 5,
      scope: 'PUBLIC',
    });
  });

  it('remembers the analysis per document, per the values of the @include/@skip variables only', () => {
    const { document, operation } = adhoc(
      'query($stock: Boolean!) { product(id: "1") { id name inStock @include(if: $stock) } }',
    );
    for (let i = 0; i < 2; i += 1) {
      expect(operationCachePolicy(document, operation, { stock: false })?.maxAge).toBe(60);
      expect(operationCachePolicy(document, operation, { stock: true })?.maxAge).toBe(5);
    }
    const { document: page, operation: pageOperation } = contractOp('ProductPage');
    const first = analysis(page, pageOperation, { slug: 'a' });
    expect(analysis(page, pageOperation, { slug: 'b' })).toBe(first);
    const stock = adhoc('query($stock: Boolean!) { product(id: "1") { id name inStock @include(if: $stock) } }');
    expect(analysis(stock.document, stock.operation, { stock: true })).not.toBe(
      analysis(stock.document, stock.operation, { stock: false }),
    );
    const me = contractOp('Me');
    expect(operationCachePolicy(me.document, me.operation, {})).toBeNull();
    expect(operationCachePolicy(me.document, me.operation, {})).toBeNull();
  });
});

describe('response tags', () => {
  const card = (id: string, category = 'c1') => ({
    id,
    sku: 'S',
    slug: `p-${id}`,
    name: 'N',
    price: { amount: 1, currency: 'USD' },
    imageUrl: null,
    category: { id: category, slug: 'c', name: 'C' },
    inStock: true,
  });

  it('a product page: the product, its category and public stock', () => {
    const { document, operation } = contractOp('ProductPage');
    const data = { product: { ...card('p1'), description: 'd', inventory: { available: 2 } } };
    expect(responseTags(schema, analysis(document, operation, { slug: 'p-p1' }), data)).toEqual([
      'E:Category:c1',
      'E:Product:p1',
      'T:Stock',
    ]);
  });

  it('a page that found nothing waits for a create (the list tag)', () => {
    const { document, operation } = contractOp('ProductPage');
    expect(responseTags(schema, analysis(document, operation, { slug: 'nope' }), { product: null })).toEqual([
      'L:Product',
    ]);
  });

  it('a listing: the list, every product and category in it', () => {
    const { document, operation } = contractOp('ProductList');
    const data = {
      products: {
        totalCount: 2,
        pageInfo: { hasNextPage: false, endCursor: null },
        edges: [
          { cursor: 'a', node: card('p1') },
          { cursor: 'b', node: card('p2', 'c2') },
        ],
      },
    };
    expect(responseTags(schema, analysis(document, operation, {}), data)).toEqual([
      'E:Category:c1',
      'E:Category:c2',
      'E:Product:p1',
      'E:Product:p2',
      'L:Product',
      'T:Stock',
    ]);
  });

  it('objects whose id was not selected get the type-wide tag', () => {
    const { document, operation } = adhoc('{ products { edges { node { name category { name } } } } }');
    const data = { products: { edges: [{ node: { name: 'x', category: { name: 'y' } } }] } };
    expect(responseTags(schema, analysis(document, operation, {}), data)).toEqual([
      'L:Product',
      'T:Category',
      'T:Product',
    ]);
  });
});

describe('invalidation tags of admin mutations', () => {
  const tags = (name: string, variables: Record<string, unknown>, data: Record<string, unknown> | null) => {
    const { document, operation } = contractOp(name);
    return invalidationTags(schema, analysis(document, operation, variables), variables, data);
  };

  it('updateProduct: the product, its type-wide tag and product lists', () => {
    expect(
      tags(
        'UpdateProduct',
        { id: 'p1', input: {} },
        { updateProduct: { id: 'p1', name: 'n', description: 'd', price: null } },
      ),
    ).toEqual(['E:Product:p1', 'L:Product', 'T:Product']);
  });

  it('archiveProduct and createProduct change product lists; createCategory category lists', () => {
    expect(tags('ArchiveProduct', { id: 'p1' }, { archiveProduct: { id: 'p1' } })).toEqual([
      'E:Product:p1',
      'L:Product',
      'T:Product',
    ]);
    expect(
      tags('CreateProduct', { input: {} }, { createProduct: { id: 'p9', category: { slug: 'c' } } }),
    ).toEqual(['E:Product:p9', 'L:Product', 'T:Product']);
    expect(
      tags('CreateCategory', { input: {} }, { createCategory: { id: 'c9', slug: 'c', name: 'C' } }),
    ).toEqual(['E:Category:c9', 'L:Category', 'T:Category']);
  });

  it('setStock: the product, even when the response does not select its id; lists stay', () => {
    const { document, operation } = adhoc(
      'mutation($p: ID!) { setStock(productId: $p, onHand: 1) { inStock } }',
    );
    expect(
      invalidationTags(schema, analysis(document, operation), { p: 'p1' }, { setStock: { inStock: true } }),
    ).toEqual(['E:Product:p1', 'T:Product']);
  });

  it('refundOrder: the products it names, else all public stock', () => {
    expect(
      tags('RefundOrder', { id: 'o1' }, { refundOrder: { id: 'o1', status: 'REFUNDED', payment: null } }),
    ).toEqual(['E:Order:o1', 'T:Order', 'T:Stock']);
    const { document, operation } = adhoc(
      'mutation { refundOrder(id: "o1") { id items { product { id } } } }',
    );
    expect(
      invalidationTags(
        schema,
        analysis(document, operation),
        {},
        { refundOrder: { id: 'o1', items: [{ product: { id: 'p1' } }] } },
      ),
    ).toEqual(['E:Order:o1', 'E:Product:p1', 'T:Order', 'T:Product']);
  });

  it('a refused or failed mutation invalidates nothing', () => {
    expect(tags('UpdateProduct', { id: 'p1', input: {} }, null)).toEqual([]);
    expect(tags('ArchiveProduct', { id: 'p1' }, { archiveProduct: null })).toEqual([]);
  });

  it('finds root fields inside inline fragments and fragment spreads (a fragment hides no write)', () => {
    const { document, operation } = adhoc(
      'mutation($p: ID!) { ... on Mutation { archiveProduct(id: $p) { id } } ...Stock } fragment Stock on Mutation { setStock(productId: "p2", onHand: 1) { inStock } }',
    );
    expect(
      invalidationTags(schema, analysis(document, operation), { p: 'p1' }, {
        archiveProduct: { id: 'p1' },
        setStock: { inStock: true },
      }),
    ).toEqual(['E:Product:p1', 'E:Product:p2', 'L:Product', 'T:Product']);
  });
});

describe('tags a mutation will touch, known before it runs', () => {
  const before = (name: string, variables: Record<string, unknown>) => {
    const { document, operation } = contractOp(name);
    return attemptTags(schema, analysis(document, operation, variables), variables);
  };

  it('come from the arguments: the entity named, its type, the lists a create, update or archive changes', () => {
    expect(before('UpdateProduct', { id: 'p1', input: {} })).toEqual(['E:Product:p1', 'L:Product', 'T:Product']);
    expect(before('SetStock', { productId: 'p1', onHand: 3 })).toEqual(['E:Product:p1', 'T:Product']);
    expect(before('CreateCategory', { input: {} })).toEqual(['L:Category', 'T:Category']);
  });

  it('a refund restocks products not known yet: all public stock', () => {
    expect(before('RefundOrder', { id: 'o1' })).toEqual(['E:Order:o1', 'T:Order', 'T:Stock']);
  });

  it('queries touch nothing', () => {
    expect(before('ProductPage', { slug: 'x' })).toEqual([]);
  });
});
