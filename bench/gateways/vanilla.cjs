// The baseline: @apollo/gateway + @apollo/server with default settings over the same
// supergraph. The only addition is what our subgraphs demand of any caller: a short-lived
// service token per subgraph (audience = subgraph name) signed with the gateway's key.
// Env: SUPERGRAPH_PATH, PORT, SERVICE_TOKEN_PRIVATE_KEY, SERVICE_TOKEN_KID.
const { readFileSync } = require('node:fs');
const { ApolloGateway, RemoteGraphQLDataSource } = require('@apollo/gateway');
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');
// Only the token module of the kit, so the baseline does not load typeorm, pg, ioredis...
const { TokenSigner, issueServiceToken, ANONYMOUS } = require('@shop/kit/dist/tokens');

const signer = new TokenSigner(process.env.SERVICE_TOKEN_PRIVATE_KEY, process.env.SERVICE_TOKEN_KID);

class SignedDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request }) {
    request.http.headers.set('authorization', `Bearer ${issueServiceToken(signer, 'gateway', this.name, ANONYMOUS, 30)}`);
  }
}

async function main() {
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH, 'utf8'),
    buildService: ({ name, url }) => Object.assign(new SignedDataSource({ url }), { name }),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env.PORT), host: '127.0.0.1' } });
  process.stdout.write(`vanilla gateway at ${url}\n`);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
