// The storefront journey, run by the e2e Job against the deployed gateway: sign in with the
// dedicated test account (registered on its first run), browse, add an in-stock product to an
// emptied cart, check out with the test-mode card, read the order, and cancel it so that every
// run gives its stock back. Exit 0 = every step passed; any failure exits 1, naming the step.
// No dependencies: Node's built-ins only. Operations are sent by id from the gateway's own
// trusted-documents manifest (the ConfigMap mounted at TRUSTED_DOCUMENTS_FILE), which the gateway
// accepts in every mode, so the Job always sends exactly the contract's documents.
import { readFileSync } from 'node:fs';

const gateway = (process.env.GATEWAY_URL ?? 'http://gateway:4000').replace(/\/$/, '');
const manifestFile = process.env.TRUSTED_DOCUMENTS_FILE ?? '/etc/shop/trusted-documents/trusted-documents.json';
const email = process.env.E2E_EMAIL;
const password = process.env.E2E_PASSWORD;
const runId = `e2e-${Date.now()}`;

/** The journey's steps in order, by operation (what the test reads to check the journey). */
export const JOURNEY = ['Login', 'ProductList', 'ProductPage', 'Cart', 'AddToCart', 'Checkout', 'Order', 'CancelOrder'];

let accessToken;
let documentIds;

/** The manifest's id of a contract operation, by name. */
function documentId(operationName) {
  documentIds ??= new Map(JSON.parse(readFileSync(manifestFile, 'utf8')).operations.map((o) => [o.name, o.id]));
  const id = documentIds.get(operationName);
  if (!id) throw new Error(`${operationName} is not in the trusted-documents manifest ${manifestFile}`);
  return id;
}

async function send(operationName, variables = {}, { allow = [] } = {}) {
  const response = await fetch(`${gateway}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-request-id': `${runId}-${operationName}`,
      'apollographql-client-name': 'e2e-job',
      ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
    },
    body: JSON.stringify({ operationName, documentId: documentId(operationName), variables }),
  });
  const body = await response.json().catch(() => ({}));
  const codes = (body.errors ?? []).map((e) => e.extensions?.code);
  if (codes.length > 0 && codes.every((code) => allow.includes(code))) return { errors: codes };
  if (response.status !== 200 || codes.length > 0)
    throw new Error(`${operationName} answered ${response.status}: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

export async function journey(log = console.log) {
  if (!email || !password) throw new Error('E2E_EMAIL and E2E_PASSWORD must be set (Secret shop-e2e-account)');
  const ready = await fetch(`${gateway}/ready`);
  check(ready.status === 200, `GET /ready answered ${ready.status}`);

  let session = await send('Login', { input: { email, password } }, { allow: ['UNAUTHENTICATED'] });
  if (session.errors) {
    log(`no test account ${email} yet: registering it`);
    session = (await send('Register', { input: { email, password, firstName: 'E2E', lastName: 'Job' } })).register;
  } else session = session.login;
  accessToken = session.accessToken;
  check(accessToken, 'signing in gave no access token');

  const products = (await send('ProductList', { first: 50, sort: 'NEWEST' })).products;
  const product = products.edges.map((e) => e.node).find((p) => p.inStock);
  check(product, `none of the ${products.totalCount} products is in stock`);
  const page = (await send('ProductPage', { slug: product.slug })).product;
  check(page?.id === product.id, `ProductPage ${product.slug} returned ${page?.id}`);

  // A run that failed half-way may have left lines behind.
  for (const item of (await send('Cart')).cart.items) await send('RemoveFromCart', { productId: item.product.id });
  const cart = (await send('AddToCart', { productId: product.id, quantity: 1 })).addToCart;
  check(cart.itemCount === 1, `the cart holds ${cart.itemCount} units after adding one`);

  const order = (
    await send('Checkout', {
      input: {
        idempotencyKey: runId,
        paymentToken: 'tok_visa',
        shippingAddress: { name: 'E2E Job', line1: '1 Test Street', city: 'Testville', postalCode: '00000', country: 'US' },
      },
    })
  ).checkout;
  check(order.status === 'CONFIRMED', `checkout ended ${order.status} (payment ${order.payment?.status}, ${order.payment?.failureReason})`);
  check(order.total.amount === cart.subtotal.amount, `order total ${order.total.amount} is not the cart's ${cart.subtotal.amount}`);

  const read = (await send('Order', { id: order.id })).order;
  check(read?.id === order.id && read.items.length === 1, `Order ${order.id} read back as ${JSON.stringify(read)}`);
  const cancelled = (await send('CancelOrder', { id: order.id })).cancelOrder;
  check(cancelled.status === 'CANCELLED', `cancelling ${order.number} left it ${cancelled.status}`);
  log(`e2e journey passed: order ${order.number} for ${product.sku} placed, read and cancelled (run ${runId})`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  journey().catch((error) => {
    console.error(`e2e journey FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
