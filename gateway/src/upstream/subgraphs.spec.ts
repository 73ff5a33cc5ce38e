import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createTestKeys, postGraphQL } from '@shop/kit/testing';
import { parse } from 'graphql';
import { parseConfig } from '@shop/kit';
import { checkoutWorstCaseMs } from '../../../subgraphs/orders/src/checkout-budget';
import { ordersConfigShape } from '../../../subgraphs/orders/src/env';
import { gatewayConfigShape } from '../env';
import { loadGatewayConfig, startGateway, type RunningGateway } from '../gateway';
import { subgraphTimeoutMs, subgraphUrl, supergraphRoutingUrls } from './subgraphs';

/**
 * A supergraph from elsewhere, composed by the test, whose subgraphs happen to be called
 * users and products like ours, on addresses of the test's own.
 */
const USERS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { greeting: String }
`;
const PRODUCTS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { widget: Widget }
  type Widget @key(fields: "id") { id: ID! name: String }
`;

async function serve(typeDefs: string, resolvers: Record<string, Record<string, () => unknown>>) {
  const server = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs: parse(typeDefs), resolvers: resolvers as never }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url: url.replace('localhost', '127.0.0.1'), stop: () => server.stop() };
}

function writeSupergraph(urls: { users: string; products: string }): string {
  const result = composeServices([
    { name: 'users', url: urls.users, typeDefs: parse(USERS_SDL) },
    { name: 'products', url: urls.products, typeDefs: parse(PRODUCTS_SDL) },
  ]);
  if (!result.supergraphSdl) throw new Error(`composition failed: ${result.errors?.map((e) => e.message).join('; ')}`);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'foreign-supergraph-')), 'supergraph.graphql');
  writeFileSync(file, result.supergraphSdl);
  return file;
}

const keys = createTestKeys();
const gatewayEnv = (extra: Record<string, string>) => ({
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  HOST: '127.0.0.1',
  PORT: '0',
  ...keys.envFor('gateway'),
  ...extra,
});

describe('where the gateway sends each subgraph', () => {
  it('reads every routing URL from the supergraph', () => {
    const file = writeSupergraph({ users: 'http://users.example:8001/graphql', products: 'https://products.example/api/graphql' });
    const sdl = readFileSync(file, 'utf8');
    expect(Object.fromEntries(supergraphRoutingUrls(sdl))).toEqual({
      users: 'http://users.example:8001/graphql',
      products: 'https://products.example/api/graphql',
    });
  });

  it('keeps the supergraph URL unless <NAME>_URL is set', () => {
    const config = loadGatewayConfig(gatewayEnv({}));
    expect(subgraphUrl(config, 'users', 'http://users.example:8001/graphql')).toBe('http://users.example:8001/graphql');
    const overridden = loadGatewayConfig(gatewayEnv({ USERS_URL: 'http://users.internal:4001/' }));
    expect(subgraphUrl(overridden, 'users', 'http://users.example:8001/graphql')).toBe('http://users.internal:4001/graphql');
    // a subgraph with another name has no variable: always the supergraph's URL
    expect(subgraphUrl(overridden, 'reviews', 'http://reviews.example/graphql')).toBe('http://reviews.example/graphql');
  });

  describe('a foreign supergraph with subgraphs named users and products', () => {
    let users: Awaited<ReturnType<typeof serve>>;
    let products: Awaited<ReturnType<typeof serve>>;
    let otherProducts: Awaited<ReturnType<typeof serve>>;
    let supergraphPath: string;
    const gateways: RunningGateway[] = [];
    const QUERY = '{ greeting widget { id name } }';

    beforeAll(async () => {
      users = await serve(USERS_SDL, { Query: { greeting: () => 'hello from the foreign users' } });
      products = await serve(PRODUCTS_SDL, { Query: { widget: () => ({ id: 'w1', name: 'foreign widget' }) } });
      otherProducts = await serve(PRODUCTS_SDL, { Query: { widget: () => ({ id: 'w2', name: 'override widget' }) } });
      supergraphPath = writeSupergraph({ users: users.url, products: products.url });
    });
    afterAll(async () => {
      for (const gateway of gateways) await gateway.stop();
      await Promise.all([users?.stop(), products?.stop(), otherProducts?.stop()]);
    });

    it('calls the hosts that supergraph names when no <NAME>_URL is set', async () => {
      const gateway = await startGateway(gatewayEnv({ SUPERGRAPH_PATH: supergraphPath }));
      gateways.push(gateway);
      const result = await postGraphQL(`${gateway.url}/graphql`, QUERY);
      expect(result.errors).toBeUndefined();
      expect(result.data).toEqual({
        greeting: 'hello from the foreign users',
        widget: { id: 'w1', name: 'foreign widget' },
      });
    });

    it('sends one subgraph elsewhere when its <NAME>_URL is set, the other still where the supergraph says', async () => {
      const base = otherProducts.url.replace(/\/$/, '');
      const gateway = await startGateway(gatewayEnv({ SUPERGRAPH_PATH: supergraphPath, PRODUCTS_URL: base }));
      gateways.push(gateway);
      // standalone servers answer GraphQL on every path, /graphql included
      const result = await postGraphQL(`${gateway.url}/graphql`, QUERY);
      expect(result.errors).toBeUndefined();
      expect(result.data).toEqual({
        greeting: 'hello from the foreign users',
        widget: { id: 'w2', name: 'override widget' },
      });
    });
  });
});

describe('subgraph timeouts', () => {
  it('uses <NAME>_TIMEOUT_MS when set and SUBGRAPH_TIMEOUT_MS otherwise; orders always has its own', () => {
    const defaults = loadGatewayConfig(gatewayEnv({}));
    expect(subgraphTimeoutMs(defaults, 'products')).toBe(5_000);
    expect(subgraphTimeoutMs(defaults, 'orders')).toBe(30_000);
    const tuned = loadGatewayConfig(gatewayEnv({ SUBGRAPH_TIMEOUT_MS: '2000', INVENTORY_TIMEOUT_MS: '700', ORDERS_TIMEOUT_MS: '40000' }));
    expect(subgraphTimeoutMs(tuned, 'inventory')).toBe(700);
    expect(subgraphTimeoutMs(tuned, 'users')).toBe(2_000);
    expect(subgraphTimeoutMs(tuned, 'orders')).toBe(40_000);
    expect(subgraphTimeoutMs(tuned, 'reviews')).toBe(2_000);
  });
});

describe("the gateway's timeout for orders outlasts the longest checkout", () => {
  /** KEY=value lines of a Kubernetes env file (comments and blanks skipped). */
  const envFile = (name: string): Record<string, string> =>
    Object.fromEntries(
      readFileSync(path.join(__dirname, '../../../kustomize/base/config', name), 'utf8')
        .split('\n')
        .filter((line) => /^[A-Z0-9_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  const ordersTimeout = (env: Record<string, string>) => gatewayConfigShape.ORDERS_TIMEOUT_MS.parse(env.ORDERS_TIMEOUT_MS);
  const worstCheckout = (env: Record<string, string>) => checkoutWorstCaseMs(parseConfig(ordersConfigShape, env));

  it('with the defaults of both', () => {
    expect(worstCheckout({})).toBe(25_500);
    expect(ordersTimeout({})).toBeGreaterThan(worstCheckout({}));
  });

  it('with the Kubernetes configuration of both', () => {
    expect(ordersTimeout(envFile('gateway.env'))).toBeGreaterThan(worstCheckout(envFile('orders.env')));
  });

  it('and not the other subgraphs: they keep the general timeout', () => {
    const config = loadGatewayConfig(gatewayEnv({}));
    expect(subgraphTimeoutMs(config, 'orders')).toBeGreaterThan(worstCheckout({}));
    expect(subgraphTimeoutMs(config, 'payments')).toBeLessThan(worstCheckout({}));
  });
});
