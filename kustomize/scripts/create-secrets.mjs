#!/usr/bin/env node
// Generates every Secret an overlay references, for one namespace, and prints them as a
// Kubernetes List on stdout (nothing is written to disk):
//
//   node kustomize/scripts/create-secrets.mjs --namespace shop-staging | kubectl apply -f -
//
// Fresh random passwords and fresh EC P-256 signing keys each run, so run it once per
// environment (re-running rotates everything; see docs/deploying.md for key rotation).
// With managed Postgres/Redis pass their hosts: --postgres-host db.internal --redis-url rediss://...
import { generateKeyPairSync, randomBytes } from 'node:crypto';

const SUBGRAPHS = ['users', 'products', 'inventory', 'orders', 'payments'];
const SIGNERS = ['gateway', 'orders'];

function parseArgs(argv) {
  const options = { postgresHost: 'postgres', postgresPort: '5432', sslmode: '', redisUrl: '' };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--namespace') options.namespace = value;
    else if (flag === '--postgres-host') options.postgresHost = value;
    else if (flag === '--postgres-port') options.postgresPort = value;
    else if (flag === '--postgres-sslmode') options.sslmode = value;
    else if (flag === '--redis-url') options.redisUrl = value;
    else throw new Error(`unknown option ${flag}`);
    i += 1;
  }
  if (!options.namespace) throw new Error('usage: create-secrets.mjs --namespace <namespace> [--postgres-host H] [--postgres-port P] [--postgres-sslmode require] [--redis-url rediss://...]');
  return options;
}

const password = () => randomBytes(24).toString('base64url');
const keyPair = (kid) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};
const secret = (namespace, name, stringData) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'Opaque',
  metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'shop', 'app.kubernetes.io/managed-by': 'create-secrets' } },
  stringData,
});

export function createSecrets(options) {
  const { namespace } = options;
  const version = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  const items = [secret(namespace, 'shop-postgres-admin', { password: password() })];
  for (const service of SUBGRAPHS) {
    const pw = password();
    const query = options.sslmode ? `?sslmode=${options.sslmode}` : '';
    items.push(
      secret(namespace, `shop-${service}-database`, {
        url: `postgres://${service}:${pw}@${options.postgresHost}:${options.postgresPort}/${service}${query}`,
        password: pw,
      }),
    );
  }
  const redisPassword = password();
  items.push(
    secret(namespace, 'shop-redis', {
      url: options.redisUrl || `redis://:${redisPassword}@redis:6379`,
      password: redisPassword,
    }),
  );
  const access = keyPair(`access.${version}`);
  const signers = Object.fromEntries(SIGNERS.map((service) => [service, keyPair(`${service}.${version}`)]));
  items.push(
    secret(namespace, 'shop-platform-keys', {
      'service-token-public-keys': JSON.stringify(Object.fromEntries(Object.values(signers).map((k) => [k.kid, k.publicKey]))),
      'access-token-public-keys': JSON.stringify({ [access.kid]: access.publicKey }),
    }),
  );
  for (const [service, key] of Object.entries(signers))
    items.push(secret(namespace, `shop-${service}-signing-key`, { 'private-key': key.privateKey, kid: key.kid }));
  items.push(secret(namespace, 'shop-users-access-token-key', { 'private-key': access.privateKey, kid: access.kid }));
  items.push(secret(namespace, 'shop-users-admin', { password: password() }));
  return { apiVersion: 'v1', kind: 'List', items };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  try {
    process.stdout.write(`${JSON.stringify(createSecrets(parseArgs(process.argv.slice(2))), null, 2)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}
