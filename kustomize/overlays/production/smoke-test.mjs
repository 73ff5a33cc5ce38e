// Smoke test run by the smoke-test Job: the gateway is ready and answers the contract's
// ProductList without errors. The operation is sent by its id in the gateway's own
// trusted-documents manifest (the ConfigMap mounted at TRUSTED_DOCUMENTS_FILE): production
// enforces that manifest, and ids from it are accepted in every mode. Exit 0 = pass.
import { readFileSync } from 'node:fs';

const gateway = (process.env.GATEWAY_URL ?? 'http://gateway:4000').replace(/\/$/, '');
const manifestFile = process.env.TRUSTED_DOCUMENTS_FILE ?? '/etc/shop/trusted-documents/trusted-documents.json';

async function main() {
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const documentId = manifest.operations.find((operation) => operation.name === 'ProductList')?.id;
  if (!documentId) throw new Error(`ProductList is not in the trusted-documents manifest ${manifestFile}`);
  const ready = await fetch(`${gateway}/ready`);
  if (ready.status !== 200) throw new Error(`GET /ready answered ${ready.status}: ${await ready.text()}`);
  const response = await fetch(`${gateway}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': `smoke-test-${Date.now()}`, 'apollographql-client-name': 'smoke-test' },
    body: JSON.stringify({ operationName: 'ProductList', documentId, variables: { first: 5 } }),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`POST /graphql answered ${response.status}: ${JSON.stringify(body)}`);
  if (body.errors?.length) throw new Error(`ProductList returned errors: ${JSON.stringify(body.errors)}`);
  const products = body.data?.products;
  if (!products || typeof products.totalCount !== 'number' || !Array.isArray(products.edges))
    throw new Error(`ProductList returned no product connection: ${JSON.stringify(body.data)}`);
  console.log(`smoke test passed: ${products.totalCount} products, request ${response.headers.get('x-request-id')}`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((error) => {
    console.error(`smoke test FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
