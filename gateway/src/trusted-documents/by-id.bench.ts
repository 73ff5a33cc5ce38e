/**
 * Bench (not part of `npm test`; jest's testMatch skips *.bench.ts): ProductList and
 * ProductPage sent by trusted-document id (APQ sha256Hash, no query) against the same
 * operations sent as full documents, to a gateway in enforce mode with the response cache off,
 * so every request runs the whole pipeline (identification, analysis, plan, subgraph fetches).
 * Sequential requests on one connection, alternating rounds; prints requests per second and the
 * ratio, and asserts only that both ways answer the same data (no timed assert: the machine is
 * shared).
 *
 *   cd gateway && npx jest --testMatch '**' src/trusted-documents/by-id.bench.ts
 */
import { contractOperation } from '@shop/kit/testing';
import { startCatalogStack, type CatalogStack } from '../testing/catalog-stack';
import { sha256Hex } from './manifest';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100);
const ROUNDS = 3;
let stack: CatalogStack;

beforeAll(async () => {
  stack = await startCatalogStack({
    gatewayCount: 2,
    gatewayEnvs: [
      { TRUSTED_DOCUMENTS_MODE: 'off' },
      { TRUSTED_DOCUMENTS_MODE: 'enforce', RESPONSE_CACHE_ENABLED: 'false' },
    ],
  });
  const headers = { authorization: `Bearer ${stack.adminToken}` };
  await stack.gql(
    contractOperation('CreateCategory'),
    { input: { slug: 'bench-lamps', name: 'Lamps' } },
    { headers },
  );
  for (let i = 0; i < 20; i += 1)
    await stack.gql(
      contractOperation('CreateProduct'),
      {
        input: {
          sku: `BENCH-${i}`,
          name: `Lamp ${i}`,
          slug: `bench-lamp-${i}`,
          description: 'A lamp',
          price: { amount: 1000 + i, currency: 'USD' },
          categorySlug: 'bench-lamps',
        },
      },
      { headers },
    );
}, 120_000);

afterAll(() => stack?.stop());

it.each([
  ['ProductList', { first: 20 }],
  ['ProductPage', { slug: 'bench-lamp-0' }],
] as const)(
  '%s by id against the full document (enforce mode, response cache off)',
  async (name, variables) => {
    const url = `${stack.gateways[1].url}/graphql`;
    const body = contractOperation(name);
    const full = JSON.stringify({ query: body, variables });
    const byId = JSON.stringify({
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(body) } },
      variables,
    });
    const answers = new Set<string>();
    const run = async (payload: string) => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < REQUESTS; i += 1) {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: payload,
        });
        answers.add(await response.text());
      }
      return REQUESTS / (Number(process.hrtime.bigint() - started) / 1e9);
    };
    await run(full); // warm both paths (connections, JIT)
    await run(byId);
    const rates = { full: [] as number[], byId: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      rates.full.push(await run(full));
      rates.byId.push(await run(byId));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const [f, b] = [median(rates.full), median(rates.byId)];
    console.log(
      `${name}: full document ${f.toFixed(0)} req/s, by id ${b.toFixed(0)} req/s, by id ÷ full ${(b / f).toFixed(2)} (request body ${full.length} vs ${byId.length} bytes)`,
    );
    // Both ways gave one and the same answer, with data.
    expect(answers.size).toBe(1);
    expect(JSON.parse([...answers][0])).toEqual({ data: expect.anything() });
  },
  300_000,
);
