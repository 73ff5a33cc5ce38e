import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { parse } from 'graphql';
import { ROOT } from '../../../scripts/compose';
import { analyzeOperation, queryHashOf, warmOperationAnalyses } from './index';

const schema = Supergraph.build(readFileSync(path.join(ROOT, 'gateway', 'supergraph.graphql'), 'utf8'))
  .apiSchema()
  .toGraphQLJSSchema();
const analyze = (query: string, variables: Record<string, unknown> = {}, operationName?: string) =>
  analyzeOperation(schema, { document: parse(query), queryHash: queryHashOf(query), operationName, variables })!;

/** F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^levels leaves from a document under 1 kB. */
export function fanOutFragments(levels: number, onType = 'Query', leaf = 'categories { id }'): string {
  const fragments = [];
  for (let i = 0; i < levels; i += 1) fragments.push(`fragment F${i} on ${onType} { ...F${i + 1} ...F${i + 1} }`);
  fragments.push(`fragment F${levels} on ${onType} { ${leaf} }`);
  return `query FanOut { ...F0 }\n${fragments.join('\n')}`;
}

describe('operation analyzer', () => {
  it('counts root fields, aliases, depth and cost through inline fragments and fragment spreads', () => {
    const analysis = analyze(`
      query Page { ...Roots ... on Query { b: categories { id } } }
      fragment Roots on Query { a: categories { id name } products(first: 5) { edges { node { id } } } }
    `);
    expect({ rootFields: analysis.rootFields, aliases: analysis.aliases, depth: analysis.depth }).toEqual({
      rootFields: 3,
      aliases: 2,
      depth: 4,
    });
    // a: 1 + 10 x (id + name); b: 1 + 10 x id; products(first: 5): 1 + 5 x edges (1 + node (1 + id))
    expect(analysis.cost).toBe(21 + 11 + 16);
  });

  it('counts every login, register and refreshSession as one sign-in attempt wherever it appears', () => {
    const analysis = analyze(`
      mutation Guess {
        a: login(input: { email: "a@example.com", password: "guess-one" }) { accessToken }
        ... on Mutation { b: login(input: { email: "a@example.com", password: "guess-two" }) { accessToken } }
        ...More ...More
      }
      fragment More on Mutation { refreshSession(refreshToken: "x") { accessToken } }
    `);
    expect(analysis.signInAttempts).toBe(4);
    expect(analyze('query { categories { id } }').signInAttempts).toBe(0);
  });

  it('measures a fan-out of fragments by multiplying, without expanding it', () => {
    const analysis = analyze(fanOutFragments(20));
    expect(analysis.rootFields).toBe(2 ** 20);
    expect(analysis.cost).toBe(2 ** 20 * 11);
  });

  it('is remembered per document and per the variable values @skip/@include and first read', () => {
    const query = 'query L($n: Int, $more: Boolean!) { products(first: $n) { edges { node { id name @include(if: $more) } } } }';
    const a = analyze(query, { n: 5, more: true, unrelated: 1 });
    expect(analyze(query, { n: 5, more: true, unrelated: 2 })).toBe(a);
    expect(analyze(query, { n: 6, more: true })).not.toBe(a);
    expect(analyze(query, { n: 6, more: true }).cost).toBeGreaterThan(a.cost);
    expect(analyze(query, { n: 5, more: false })).not.toBe(a);
  });

  it('warms known operations so their first request finds them remembered, and reports the invalid', () => {
    const query = 'query Warm { categories { id slug } }';
    const [warmed, broken] = warmOperationAnalyses(schema, [{ query }, { query: '{ nope }' }]);
    expect(warmed.analysis?.cachePolicy).toEqual({ maxAge: 60, scope: 'PUBLIC' });
    expect(analyze(query)).toBe(warmed.analysis);
    expect(broken.errors?.map((e) => e.message)).toEqual(['Cannot query field "nope" on type "Query".']);
  });
});
