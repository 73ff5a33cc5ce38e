#!/usr/bin/env node
// Generates the Secrets an overlay references that the namespace does not have yet, and
// prints them as a Kubernetes List on stdout (nothing is written to disk):
//
//   node kustomize/scripts/create-secrets.mjs --namespace shop-staging | kubectl create -f -
//
// Re-running it is safe: a Secret that exists is left alone (in-cluster Postgres creates its
// roles with the passwords it finds on its first start only, so replacing a database Secret
// would break that service's login). It asks `kubectl get secrets` what exists; --existing
// <file|-> reads that answer from a file instead. Changing a password is rotation, a separate
// command that also updates the role: scripts/rotate-database-password.mjs.
// With managed Postgres/Redis pass their hosts: --postgres-host db.internal --redis-url rediss://...
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const SUBGRAPHS = ['users', 'products', 'inventory', 'orders', 'payments'];
/**
 * Services that call another's internal API and so sign service tokens (payments: its sweeper
 * asks orders; inventory: setStock asks products whether the product exists).
 */
const SIGNERS = ['gateway', 'orders', 'payments', 'inventory'];

function parseArgs(argv) {
  const options = { postgresHost: 'postgres', postgresPort: '5432', sslmode: '', redisUrl: '', existing: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--namespace') options.namespace = value;
    else if (flag === '--postgres-host') options.postgresHost = value;
    else if (flag === '--postgres-port') options.postgresPort = value;
    else if (flag === '--postgres-sslmode') options.sslmode = value;
    else if (flag === '--redis-url') options.redisUrl = value;
    else if (flag === '--existing') options.existing = value;
    else throw new Error(`unknown option ${flag}`);
    i += 1;
  }
  if (!options.namespace) throw new Error('usage: create-secrets.mjs --namespace <namespace> [--postgres-host H] [--postgres-port P] [--postgres-sslmode require] [--redis-url rediss://...] [--existing <kubectl get secrets -o json output, or ->]');
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

/**
 * Secrets that must be created together or not at all: the public keys in shop-platform-keys
 * verify what the private keys in the others sign, so generating one without the others would
 * make every token fail verification.
 */
const KEY_SET = ['shop-platform-keys', ...SIGNERS.map((service) => `shop-${service}-signing-key`), 'shop-users-access-token-key'];

/** Every Secret, freshly generated. */
export function generateSecrets(options) {
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
  // The e2e Job's own customer account (registered by its first run).
  items.push(secret(namespace, 'shop-e2e-account', { email: `e2e+${namespace}@shop.example.com`, password: password() }));
  return items;
}

/** The Secrets missing from `existingNames`, or an error when only part of the key set exists. */
export function createSecrets(options, existingNames = new Set()) {
  const keysPresent = KEY_SET.filter((name) => existingNames.has(name));
  if (keysPresent.length > 0 && keysPresent.length < KEY_SET.length)
    throw new Error(
      `${options.namespace} has ${keysPresent.join(', ')} but not ${KEY_SET.filter((n) => !existingNames.has(n)).join(', ')}: ` +
        'the signing keys and their public keys are made together; restore the missing ones or rotate the keys (docs/deploying.md, "Secrets")',
    );
  const items = generateSecrets(options).filter((s) => !existingNames.has(s.metadata.name));
  for (const item of items)
    if (item.metadata.name === 'shop-postgres-admin' || item.metadata.name.endsWith('-database'))
      process.stderr.write(
        `create-secrets: new ${item.metadata.name}; if Postgres was initialised before, set its role's password with scripts/rotate-database-password.mjs\n`,
      );
  return { apiVersion: 'v1', kind: 'List', items };
}

function existingSecretNames(options) {
  const json =
    options.existing === undefined
      ? execFileSync('kubectl', ['get', 'secrets', '--namespace', options.namespace, '--output', 'json'], { encoding: 'utf8' })
      : readFileSync(options.existing === '-' ? 0 : options.existing, 'utf8');
  return new Set((JSON.parse(json).items ?? []).map((s) => s.metadata.name));
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  try {
    const options = parseArgs(process.argv.slice(2));
    process.stdout.write(`${JSON.stringify(createSecrets(options, existingSecretNames(options)), null, 2)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}
