// Hive Gateway over the same supergraph (hive-gateway supergraph <file> -c this file).
// Like the vanilla baseline it only adds what our subgraphs demand of any caller: a
// short-lived service token per subgraph (audience = subgraph name) signed with the
// gateway's key. Env: SERVICE_TOKEN_PRIVATE_KEY, SERVICE_TOKEN_KID.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Resolved from the repository root: the kit's token module (jsonwebtoken, ES256).
const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'));
const { TokenSigner, issueServiceToken, ANONYMOUS } = require('@shop/kit/dist/tokens');
const signer = new TokenSigner(process.env.SERVICE_TOKEN_PRIVATE_KEY, process.env.SERVICE_TOKEN_KID);

export const gatewayConfig = {
  propagateHeaders: {
    fromClientToSubgraphs({ subgraphName }) {
      return { authorization: `Bearer ${issueServiceToken(signer, 'gateway', subgraphName.toLowerCase(), ANONYMOUS, 30)}` };
    },
  },
};
