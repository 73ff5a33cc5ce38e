import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { Registry } from 'prom-client';
import type { Logger } from '@shop/kit';
import { contractOperation } from '@shop/kit/testing';
import { ROOT } from '../../../scripts/compose';
import { loadGatewayConfig } from '../gateway';
import { startCatalogStack, type CatalogStack } from '../testing/catalog-stack';
import { loadManifest, sha256Hex, type ManifestOperation } from './manifest';
import {
  createTrustedDocumentMetrics,
  TrustedDocuments,
  trustedDocumentsMiddleware,
} from './trusted-documents';

const manifest = loadManifest(path.join(ROOT, 'gateway', 'trusted-documents.json'));
const byName = (name: string) => manifest.operations.find((op) => op.name === name)!;

/**
 * Gateways of the stack, one per mode (they share Redis, as replicas of a rollout would); the
 * first is the stack's own (it signs the admin in with a freeform document).
 */
const OFF = 0;
const ENFORCE = 1;
const LOG = 2;
const ENFORCE_NO_INTROSPECTION = 3;

/** Codes that mean the operation was not identified, parsed or resolved: it did not run. */
const NOT_RUN = new Set([
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_IN_LIST',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
]);

interface Reply {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
}

const STOREFRONT = { 'apollographql-client-name': 'storefront', 'apollographql-client-version': '2.3.0' };

let stack: CatalogStack;
let customerToken: string;
let customerEmail: string;
let product: { id: string; slug: string };
let categorySlug: string;
let unique = 0;
const next = () => `${process.pid}-${Date.now()}-${(unique += 1)}`;

async function post(gateway: number, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(`${stack.gateways[gateway].url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...STOREFRONT, ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Reply['body'],
  };
}

async function get(
  gateway: number,
  params: Record<string, unknown>,
  headers: Record<string, string> = STOREFRONT,
) {
  const search = new URLSearchParams(
    Object.entries(params).map(([k, v]): [string, string] => [
      k,
      typeof v === 'string' ? v : JSON.stringify(v),
    ]),
  );
  const response = await fetch(`${stack.gateways[gateway].url}/graphql?${search}`, { headers });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Reply['body'],
  };
}

const apq = (id: string) => ({ persistedQuery: { version: 1, sha256Hash: id } });
const codes = (reply: Reply) => (reply.body.errors ?? []).map((e) => e.extensions?.code);

/** Requests that reached the products and inventory subgraphs, and every fetch the gateways counted. */
async function subgraphTraffic() {
  let fetches = 0;
  for (const gateway of stack.gateways) {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    for (const line of text.split('\n'))
      if (line.startsWith('gateway_subgraph_fetch_duration_seconds_count'))
        fetches += Number(line.split(' ').pop());
  }
  return { proxied: stack.productsProxy.requests + stack.inventoryProxy.requests, fetches };
}

/** Parses and query plans the gateway made while serving (not prepared at start-up). */
async function preparations(gateway: number): Promise<{ parse: number; plan: number }> {
  const text = await (await fetch(`${stack.gateways[gateway].url}/metrics`)).text();
  const count = (stage: string) =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(`gateway_operation_preparations_total{stage="${stage}"`))
        ?.split(' ')
        .pop() ?? 0,
    );
  return { parse: count('parse'), plan: count('plan') };
}

async function trustedCount(gateway: number, labels: string): Promise<number> {
  const text = await (await fetch(`${stack.gateways[gateway].url}/metrics`)).text();
  // prom-client appends the registry's default labels (service) after ours.
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`gateway_trusted_documents_requests_total{${labels},`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Type-correct variables and the caller for each contract operation (the values need not succeed). */
function call(op: ManifestOperation): { variables: Record<string, unknown>; token?: string } {
  const customer = customerToken;
  const admin = stack.adminToken;
  const fake = '00000000-0000-4000-8000-000000000000';
  const address = {
    name: 'Ada',
    line1: '1 Main St',
    city: 'Springfield',
    postalCode: '12345',
    country: 'US',
  };
  const table: Record<string, () => { variables: Record<string, unknown>; token?: string }> = {
    Categories: () => ({ variables: {} }),
    ProductList: () => ({ variables: { first: 5 } }),
    ProductPage: () => ({ variables: { slug: product.slug } }),
    ProductById: () => ({ variables: { id: product.id } }),
    Register: () => ({
      variables: { input: { email: `tdoc-${next()}@example.com`, password: 'correct horse battery' } },
    }),
    Login: () => ({ variables: { input: { email: customerEmail, password: 'correct horse battery' } } }),
    RefreshSession: () => ({ variables: { refreshToken: 'not-a-refresh-token' } }),
    Logout: () => ({ variables: {} }),
    Me: () => ({ variables: {}, token: customer }),
    UpdateProfile: () => ({ variables: { input: { firstName: 'Ada' } }, token: customer }),
    ChangePassword: () => ({
      variables: { input: { currentPassword: 'not the password', newPassword: 'another long password' } },
      token: customer,
    }),
    Cart: () => ({ variables: {}, token: customer }),
    AddToCart: () => ({ variables: { productId: product.id, quantity: 1 }, token: customer }),
    UpdateCartItem: () => ({ variables: { productId: product.id, quantity: 2 }, token: customer }),
    RemoveFromCart: () => ({ variables: { productId: product.id }, token: customer }),
    Checkout: () => ({
      variables: { input: { idempotencyKey: next(), paymentToken: 'tok_visa', shippingAddress: address } },
      token: customer,
    }),
    Order: () => ({ variables: { id: fake }, token: customer }),
    MyOrders: () => ({ variables: { first: 5 }, token: customer }),
    CancelOrder: () => ({ variables: { id: fake }, token: customer }),
    CreateCategory: () => ({ variables: { input: { slug: `cat-${next()}`, name: 'Lamps' } }, token: admin }),
    CreateProduct: () => ({
      variables: {
        input: {
          sku: `SKU-${next()}`,
          name: 'Desk lamp',
          slug: `lamp-${next()}`,
          description: 'A lamp',
          price: { amount: 1999, currency: 'USD' },
          categorySlug,
        },
      },
      token: admin,
    }),
    UpdateProduct: () => ({
      variables: { id: product.id, input: { description: 'Still a lamp' } },
      token: admin,
    }),
    ArchiveProduct: () => ({ variables: { id: fake }, token: admin }),
    SetStock: () => ({ variables: { productId: product.id, onHand: 7 }, token: admin }),
    InventoryOf: () => ({ variables: { id: product.id }, token: admin }),
    RefundOrder: () => ({ variables: { id: fake }, token: admin }),
    AnyOrder: () => ({ variables: { id: fake }, token: admin }),
  };
  const entry = table[op.name];
  if (!entry) throw new Error(`no variables for contract operation ${op.name}: add it to the table`);
  return entry();
}

beforeAll(async () => {
  stack = await startCatalogStack({
    gatewayCount: 4,
    gatewayEnvs: [
      { TRUSTED_DOCUMENTS_MODE: 'off' },
      { TRUSTED_DOCUMENTS_MODE: 'enforce' },
      { TRUSTED_DOCUMENTS_MODE: 'log' },
      { TRUSTED_DOCUMENTS_MODE: 'enforce', INTROSPECTION_ENABLED: 'false' },
    ],
  });
  customerEmail = `tdoc-customer-${next()}@example.com`;
  const registered = await post(OFF, {
    query: contractOperation('Register'),
    variables: { input: { email: customerEmail, password: 'correct horse battery' } },
  });
  customerToken = (registered.body.data!.register as { accessToken: string }).accessToken;
  categorySlug = `tdoc-${next()}`;
  await post(
    OFF,
    {
      query: contractOperation('CreateCategory'),
      variables: { input: { slug: categorySlug, name: 'Lamps' } },
    },
    { authorization: `Bearer ${stack.adminToken}` },
  );
  const created = await post(
    OFF,
    {
      query: contractOperation('CreateProduct'),
      variables: {
        input: {
          sku: `TDOC-${next()}`,
          name: 'Trusted lamp',
          slug: `trusted-lamp-${next()}`,
          description: 'Sent by id',
          price: { amount: 2500, currency: 'USD' },
          categorySlug,
        },
      },
    },
    { authorization: `Bearer ${stack.adminToken}` },
  );
  product = created.body.data!.createProduct as { id: string; slug: string };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('trusted documents in enforce mode', () => {
  it.each(manifest.operations.map((op) => [op.name, op] as const))(
    '%s runs by id, sent both ways (APQ sha256Hash without query, and documentId)',
    async (_name, op) => {
      const prepared = await preparations(ENFORCE);
      const replies: Reply[] = [];
      for (const shape of [
        { extensions: apq(op.id) },
        { documentId: `sha256:${op.id}` },
        { documentId: op.id },
      ]) {
        const { variables, token } = call(op);
        const reply = await post(
          ENFORCE,
          { ...shape, variables },
          token ? { authorization: `Bearer ${token}` } : {},
        );
        // It ran: executed (a data key, even if null where a subgraph refused), never refused as unknown or unparsed.
        expect({ status: reply.status, hasData: 'data' in reply.body }).toEqual({
          status: 200,
          hasData: true,
        });
        expect(codes(reply).filter((code) => NOT_RUN.has(code!))).toEqual([]);
        replies.push(reply);
      }
      if (op.type === 'query') {
        // A query gives the same answer by id as by its full text.
        const { variables, token } = call(op);
        const full = await post(
          ENFORCE,
          { query: op.body, variables },
          token ? { authorization: `Bearer ${token}` } : {},
        );
        for (const reply of replies) expect(reply.body.data).toEqual(full.body.data);
      }
      // Parsed, validated and planned at start-up: not one request prepared anything.
      expect(await preparations(ENFORCE)).toEqual(prepared);
    },
  );

  it('is ready only once the trusted operations are prepared; without them (off) a first request prepares its own', async () => {
    const ready = (await (await fetch(`${stack.gateways[ENFORCE].url}/ready`)).json()) as { checks: object };
    expect(ready.checks).toEqual({ supergraph: true, trustedDocuments: true });
    const before = await preparations(OFF);
    await post(
      OFF,
      { documentId: byName('InventoryOf').id, variables: { id: product.id } },
      {
        authorization: `Bearer ${stack.adminToken}`,
      },
    );
    expect(await preparations(OFF)).toEqual({ parse: before.parse + 1, plan: before.plan + 1 });
  });

  it('refuses a document that is not in the manifest before any subgraph is reached', async () => {
    const before = await subgraphTraffic();
    const freeform = await post(ENFORCE, { query: '{ products(first: 1) { edges { node { id name } } } }' });
    // The contract's own operation, reformatted, is a different document: not trusted either.
    const reformatted = await post(ENFORCE, {
      query: byName('Categories').body.replace(/\n\s*/g, ' '),
    });
    const byGet = await get(ENFORCE, { query: '{ categories { id } }' });
    for (const reply of [freeform, reformatted, byGet]) {
      expect(reply.status).toBe(403);
      expect(codes(reply)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      expect(reply.headers.get('cache-control')).toBe('private, no-cache, must-revalidate');
    }
    expect(await subgraphTraffic()).toEqual(before);
  });

  it('refuses a tampered body sent with a trusted id', async () => {
    const trusted = byName('ProductById');
    const tampered = trusted.body.replace('inventory {', 'description\n    inventory {');
    const before = await subgraphTraffic();
    const underApqId = await post(ENFORCE, {
      query: tampered,
      variables: { id: product.id },
      extensions: apq(trusted.id),
    });
    expect(underApqId.status).toBe(403);
    expect(codes(underApqId)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const underDocumentId = await post(ENFORCE, {
      documentId: trusted.id,
      query: tampered,
      variables: { id: product.id },
    });
    expect(underDocumentId.status).toBe(400);
    expect(codes(underDocumentId)).toEqual(['BAD_REQUEST']);
    expect(await subgraphTraffic()).toEqual(before);
    // Outside enforce mode Apollo still checks the hash against the body it came with.
    const off = await post(OFF, {
      query: tampered,
      variables: { id: product.id },
      extensions: apq(trusted.id),
    });
    expect(off.status).toBe(400);
    expect(off.body.errors![0].message).toMatch(/provided sha does not match query/);
  });

  it('answers PERSISTED_QUERY_NOT_FOUND for an id the manifest does not hold, in either form', async () => {
    const unknown = sha256Hex('query Unknown { categories { id } }');
    for (const body of [{ extensions: apq(unknown) }, { documentId: `sha256:${unknown}` }]) {
      const reply = await post(ENFORCE, body);
      expect({ status: reply.status, codes: codes(reply) }).toEqual({
        status: 200,
        codes: ['PERSISTED_QUERY_NOT_FOUND'],
      });
      expect(reply.headers.get('cache-control')).toBe('private, no-cache, must-revalidate');
    }
    // documentId is only ever a trusted document's id, whatever the mode.
    expect(codes(await post(OFF, { documentId: unknown }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });

  it('runs introspection when introspection is enabled, and refuses it where it is not', async () => {
    const introspection = { query: '{ __schema { queryType { name } } }' };
    const enabled = await post(ENFORCE, introspection);
    expect(enabled.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const disabled = await post(ENFORCE_NO_INTROSPECTION, introspection);
    expect(codes(disabled)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });
});

describe('GET by id', () => {
  it('serves a public query by id over GET with a CDN-cacheable Cache-Control', async () => {
    const op = byName('Categories');
    const first = await get(ENFORCE, { documentId: op.id });
    expect(first.status).toBe(200);
    expect(first.body.data).toEqual(expect.objectContaining({ categories: expect.arrayContaining([]) }));
    expect(first.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const apqForm = await get(ENFORCE, { extensions: apq(op.id) });
    expect(apqForm.body.data).toEqual(first.body.data);
    expect(apqForm.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const withVariables = await get(ENFORCE, {
      documentId: byName('ProductPage').id,
      variables: { slug: product.slug },
    });
    expect(withVariables.body.data).toEqual({ product: expect.objectContaining({ id: product.id }) });
  });

  it('keeps mutations off GET and asks a GET to prove it is not a cross-site request', async () => {
    const mutation = await get(ENFORCE, { documentId: byName('Logout').id });
    expect(mutation.status).toBe(405);
    // Without a header that forces a CORS preflight (the client name counts), Apollo's CSRF prevention refuses it.
    const bare = await get(ENFORCE, { documentId: byName('Categories').id }, {});
    expect(bare.status).toBe(400);
    expect(bare.body.errors![0].message).toMatch(/CSRF/);
  });
});

describe('modes', () => {
  const freeform = { query: 'query Freeform { categories { slug } }' };
  const labels = (result: string) => `client_name="storefront",client_version="2.3.0",result="${result}"`;

  it('off runs anything, log runs it and counts it by client, enforce refuses it', async () => {
    const off = await post(OFF, freeform);
    expect(off.body.data).toEqual({ categories: expect.arrayContaining([]) });
    expect(await trustedCount(OFF, labels('not_in_list'))).toBe(0);

    const counted = await trustedCount(LOG, labels('not_in_list'));
    const log = await post(LOG, freeform);
    expect(log.body.data).toEqual(off.body.data);
    expect(await trustedCount(LOG, labels('not_in_list'))).toBe(counted + 1);

    const enforce = await post(ENFORCE, freeform);
    expect(codes(enforce)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });

  it('counts trusted requests by client in every mode', async () => {
    for (const gateway of [ENFORCE, LOG, OFF]) {
      const before = await trustedCount(gateway, labels('trusted'));
      await post(gateway, { documentId: byName('Categories').id });
      expect(await trustedCount(gateway, labels('trusted'))).toBe(before + 1);
    }
  });

  it('defaults to enforce in production and to off elsewhere; the variable wins', () => {
    const env = (extra: Record<string, string>) => ({
      ACCESS_TOKEN_PUBLIC_KEYS: '{}',
      SERVICE_TOKEN_PRIVATE_KEY: 'k',
      SERVICE_TOKEN_KID: 'gateway.1',
      SERVICE_TOKEN_PUBLIC_KEYS: '{}',
      REDIS_URL: 'redis://127.0.0.1:6379',
      ...extra,
    });
    expect(loadGatewayConfig(env({ NODE_ENV: 'production' })).trustedDocumentsMode).toBe('enforce');
    expect(loadGatewayConfig(env({ NODE_ENV: 'development' })).trustedDocumentsMode).toBe('off');
    expect(
      loadGatewayConfig(env({ NODE_ENV: 'production', TRUSTED_DOCUMENTS_MODE: 'log' })).trustedDocumentsMode,
    ).toBe('log');
  });
});

describe('log mode', () => {
  it('logs an operation not in the manifest with its hash and the client, once per operation and client', async () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const logger = {
      warn: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }),
    };
    const app = express();
    app.use(
      express.json(),
      trustedDocumentsMiddleware({
        mode: 'log',
        documents: new TrustedDocuments(manifest),
        metrics: createTrustedDocumentMetrics(new Registry()),
        logger: logger as unknown as Logger,
        introspection: false,
        maxTokens: 5000,
      }),
      (_req, res) => {
        res.json({ passed: true });
      },
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const send = (body: unknown, client: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'apollographql-client-name': client },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    try {
      const query = 'query Untrusted { categories { id } }';
      expect(await send({ query }, 'back-office')).toEqual({ passed: true });
      expect(await send({ query }, 'back-office')).toEqual({ passed: true });
      expect(await send({ query }, 'storefront')).toEqual({ passed: true });
      expect(await send({ query: byName('Categories').body }, 'storefront')).toEqual({ passed: true });
      expect(lines).toEqual([
        {
          message: 'operation not in the trusted-documents manifest',
          fields: {
            hash: sha256Hex(query),
            result: 'not_in_list',
            clientName: 'back-office',
            clientVersion: 'unknown',
          },
        },
        {
          message: 'operation not in the trusted-documents manifest',
          fields: {
            hash: sha256Hex(query),
            result: 'not_in_list',
            clientName: 'storefront',
            clientVersion: 'unknown',
          },
        },
      ]);
    } finally {
      server.close();
    }
  });
});

describe('the response cache and APQ by id', () => {
  it('serves a query sent by id from the cache, whichever way it is sent next', async () => {
    const op = byName('ProductList');
    const variables = { first: 2, sort: 'NAME_ASC' };
    const first = await post(ENFORCE, { extensions: apq(op.id), variables });
    expect(first.headers.get('x-cache')).toBe('MISS');
    const before = await subgraphTraffic();
    const again = await post(ENFORCE, { extensions: apq(op.id), variables });
    const byDocumentId = await post(ENFORCE, { documentId: op.id, variables });
    const byBody = await post(ENFORCE, { query: op.body, variables });
    for (const reply of [again, byDocumentId, byBody]) {
      expect(reply.headers.get('x-cache')).toBe('HIT');
      expect(reply.body.data).toEqual(first.body.data);
    }
    expect((await subgraphTraffic()).proxied).toBe(before.proxied);
  });

  it('keeps automatic persisted queries working outside enforce mode, and closes them to new documents in enforce', async () => {
    const query = `query Apq${unique} { categories { id } }`;
    const id = sha256Hex(query);
    // Apollo's protocol: the hash alone first, then the hash with the query to register it.
    expect(codes(await post(LOG, { extensions: apq(id) }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    const registered = await post(LOG, { query, extensions: apq(id) });
    expect(registered.body.data).toEqual({ categories: expect.arrayContaining([]) });
    const byHash = await post(LOG, { extensions: apq(id) });
    expect(byHash.body.data).toEqual(registered.body.data);
    // Registered in the shared APQ cache, yet not trusted: enforce refuses both forms.
    expect(codes(await post(ENFORCE, { extensions: apq(id) }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect(codes(await post(ENFORCE, { query, extensions: apq(id) }))).toEqual([
      'PERSISTED_QUERY_NOT_IN_LIST',
    ]);
    // A trusted operation registered the APQ way runs in enforce mode too.
    const trusted = byName('Categories');
    expect((await post(ENFORCE, { query: trusted.body, extensions: apq(trusted.id) })).body.data).toEqual({
      categories: expect.arrayContaining([]),
    });
  });
});

describe('the manifest by body text', () => {
  const documents = new TrustedDocuments(manifest);

  it('finds a trusted body by its text exactly as by the hash of that text, and nothing else', () => {
    for (const operation of manifest.operations) {
      expect(documents.withBody(operation.body)).toBe(documents.get(sha256Hex(operation.body)));
      expect(documents.hashOf(operation.body)).toBe(operation.id);
      // One character more is another document: not trusted, its own hash.
      expect(documents.withBody(`${operation.body} `)).toBeUndefined();
      expect(documents.hashOf(`${operation.body} `)).toBe(sha256Hex(`${operation.body} `));
    }
  });
});
