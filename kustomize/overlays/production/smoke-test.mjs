// Smoke test run by the smoke-test Job: the gateway is ready and answers a contract query
// (ProductList from contract/storefront.graphql, verbatim: production enforces the
// trusted-documents manifest, which admits exactly the contract's texts) without errors.
// Exit 0 = pass.
const gateway = (process.env.GATEWAY_URL ?? 'http://gateway:4000').replace(/\/$/, '');

export const query = `query ProductList($first: Int, $after: String, $filter: ProductFilter, $sort: ProductSort) {
  products(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      cursor
      node {
        ...ProductCard
      }
    }
  }
}
fragment ProductCard on Product {
  id
  sku
  slug
  name
  price {
    ...MoneyParts
  }
  imageUrl
  category {
    id
    slug
    name
  }
  inStock
}
fragment MoneyParts on Money {
  amount
  currency
}`;

async function main() {
  const ready = await fetch(`${gateway}/ready`);
  if (ready.status !== 200) throw new Error(`GET /ready answered ${ready.status}: ${await ready.text()}`);
  const response = await fetch(`${gateway}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': `smoke-test-${Date.now()}` },
    body: JSON.stringify({ operationName: 'ProductList', query, variables: { first: 5 } }),
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
