import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '@shop/kit/testing';
import { parsePublicKeys } from '@shop/kit';
import { Client } from 'pg';
import { parse as parseYaml } from 'yaml';
import { KUSTOMIZE_ROOT, OVERLAYS, SERVICES, renderDir } from './render';
import { generatedSecrets } from './secrets';

/** The scripts the manifests run, run here against the machine's Postgres. */

/** Operation names of the trusted-documents manifest the gateway mounts (the Jobs send by its ids). */
const trustedNames = new Set(
  (JSON.parse(readFileSync(path.join(KUSTOMIZE_ROOT, 'base/gateway/trusted-documents.json'), 'utf8')) as { operations: { name: string }[] }).operations.map((o) => o.name),
);

const admin = () => new Client({ connectionString: TEST_DATABASE_URL });
const server = new URL(TEST_DATABASE_URL);
const pgEnv = {
  PATH: process.env.PATH ?? '',
  PGHOST: server.hostname,
  PGPORT: server.port || '5432',
  POSTGRES_USER: decodeURIComponent(server.username) || 'postgres',
  POSTGRES_DB: server.pathname.slice(1) || 'postgres',
};

describe('postgres/init-service-databases.sh (in-cluster Postgres, first start)', () => {
  const suffix = randomBytes(3).toString('hex');
  const services = [`k8s_${suffix}_users`, `k8s_${suffix}_orders`];
  const password = `pa'ss"wo$rd ${suffix}`;

  afterAll(async () => {
    const client = admin();
    await client.connect();
    for (const name of services) {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS "${name}"`);
    }
    await client.end();
  });

  it('creates a login role and an owned database per service, closed to everyone else', async () => {
    const env: Record<string, string> = { ...pgEnv, SHOP_SERVICES: services.join(' ') };
    for (const name of services) env[`${name.toUpperCase()}_DB_PASSWORD`] = `${password} ${name}`;
    const script = path.join(KUSTOMIZE_ROOT, 'base/postgres/init-service-databases.sh');
    const run = spawnSync('sh', [script], { env, encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });

    const client = admin();
    await client.connect();
    try {
      for (const name of services) {
        const role = await client.query('SELECT rolcanlogin, rolsuper, rolpassword IS NOT NULL AS has_password FROM pg_authid WHERE rolname = $1', [name]);
        expect(role.rows).toEqual([{ rolcanlogin: true, rolsuper: false, has_password: true }]);
        const db = await client.query(
          'SELECT pg_get_userbyid(datdba) AS owner, datacl::text[] AS acl FROM pg_database WHERE datname = $1',
          [name],
        );
        expect(db.rows[0].owner).toBe(name);
        expect((db.rows[0].acl as string[]).filter((entry) => entry.startsWith('='))).toEqual([]);
        const other = services.find((s) => s !== name)!;
        const access = await client.query("SELECT has_database_privilege($1, $2, 'CONNECT') AS other, has_database_privilege($3, $2, 'CONNECT') AS own", [other, name, name]);
        expect(access.rows[0]).toEqual({ other: false, own: true });
      }
    } finally {
      await client.end();
    }
  });

  it('stops, naming the variable, when a password is missing', () => {
    const script = path.join(KUSTOMIZE_ROOT, 'base/postgres/init-service-databases.sh');
    const run = spawnSync('sh', [script], { env: { ...pgEnv, SHOP_SERVICES: `k8s_${suffix}_missing` }, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`K8S_${suffix.toUpperCase()}_MISSING_DB_PASSWORD is not set`);
  });
});

describe('production/backup-databases.sh (nightly CronJob)', () => {
  let database: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase('k8s_backup');
    const client = new Client({ connectionString: database.url });
    await client.connect();
    await client.query('CREATE TABLE orders (id uuid PRIMARY KEY, total integer NOT NULL)');
    await client.query("INSERT INTO orders VALUES ('6f1c2a5e-0000-4000-8000-000000000001', 4200)");
    await client.end();
    dir = mkdtempSync(path.join(tmpdir(), 'shop-backup-'));
  });
  afterAll(async () => {
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a complete, restorable dump per service database', () => {
    const script = path.join(KUSTOMIZE_ROOT, 'overlays/production/backup-databases.sh');
    const run = spawnSync('sh', [script], {
      env: { PATH: process.env.PATH ?? '', BACKUP_DIR: dir, SHOP_SERVICES: 'orders', ORDERS_DATABASE_URL: database.url },
      encoding: 'utf8',
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const files = readdirSync(dir);
    expect(files).toEqual([expect.stringMatching(/^orders-\d{8}T\d{6}Z\.dump$/)]);
    const listing = execFileSync('pg_restore', ['--list', path.join(dir, files[0])], { encoding: 'utf8' });
    expect(listing).toMatch(/TABLE DATA public orders/);
  });

  it('fails, and leaves no partial file, when a database cannot be dumped', () => {
    const script = path.join(KUSTOMIZE_ROOT, 'overlays/production/backup-databases.sh');
    const missing = new URL(database.url);
    missing.pathname = `/${database.name}_does_not_exist`;
    const run = spawnSync('sh', [script], {
      env: { PATH: process.env.PATH ?? '', BACKUP_DIR: dir, SHOP_SERVICES: 'users', USERS_DATABASE_URL: missing.toString() },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(readdirSync(dir).filter((f) => f.startsWith('users'))).toEqual([]);
  });
});

describe('scripts/create-secrets.mjs', () => {
  it('generates matching key pairs, and database URLs that carry the password Postgres is initialised with', () => {
    const secrets = generatedSecrets('shop-test');
    const serviceKeys = parsePublicKeys(secrets.get('shop-platform-keys')!['service-token-public-keys'], 'SERVICE_TOKEN_PUBLIC_KEYS');
    for (const signer of ['gateway', 'orders', 'payments', 'inventory']) {
      const key = secrets.get(`shop-${signer}-signing-key`)!;
      expect(serviceKeys.has(key.kid)).toBe(true);
      expect(key.kid.startsWith(`${signer}.`)).toBe(true);
      expect(key['private-key']).toContain('BEGIN PRIVATE KEY');
    }
    const accessKeys = parsePublicKeys(secrets.get('shop-platform-keys')!['access-token-public-keys'], 'ACCESS_TOKEN_PUBLIC_KEYS');
    expect(accessKeys.has(secrets.get('shop-users-access-token-key')!.kid)).toBe(true);
    for (const service of ['users', 'products', 'inventory', 'orders', 'payments']) {
      const { url, password } = secrets.get(`shop-${service}-database`)!;
      const parsed = new URL(url);
      expect([parsed.username, decodeURIComponent(parsed.password), parsed.hostname, parsed.pathname]).toEqual([service, password, 'postgres', `/${service}`]);
    }
    const redis = secrets.get('shop-redis')!;
    expect(decodeURIComponent(new URL(redis.url).password)).toBe(redis.password);
    expect(generatedSecrets('shop-test').get('shop-redis')!.password).not.toBe(redis.password);
  });

  it('creates only what is missing, so a re-run never replaces a password Postgres was initialised with', () => {
    const all = [...generatedSecrets('shop-test').keys()];
    expect(all).toHaveLength(15);
    const first = all.find((n) => n.endsWith('-database'))!;
    expect([...generatedSecrets('shop-test', [], [first, 'shop-redis']).keys()].sort()).toEqual(all.filter((n) => n !== first && n !== 'shop-redis').sort());
    expect([...generatedSecrets('shop-test', [], all).keys()]).toEqual([]);
  });

  it('refuses to make half a key set (public keys must match the private keys that exist)', () => {
    const run = spawnSync(process.execPath, [path.join(KUSTOMIZE_ROOT, 'scripts/create-secrets.mjs'), '--namespace', 'shop-test', '--existing', '-'], {
      input: JSON.stringify({ items: [{ metadata: { name: 'shop-gateway-signing-key' } }] }),
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/has shop-gateway-signing-key but not shop-platform-keys, shop-orders-signing-key, shop-payments-signing-key, shop-inventory-signing-key, shop-users-access-token-key/);
    expect(run.stdout).toBe('');
  });

  it('lists, in components/external-secrets, exactly the Secrets and keys it generates', () => {
    const external = renderDir('tests/fixtures/production-external-secrets').filter((o) => o.kind === 'ExternalSecret');
    const fromManager = Object.fromEntries(
      external.map((e) => [e.spec.target.name, e.spec.data.map((d: { secretKey: string }) => d.secretKey).sort()]),
    );
    const generated = Object.fromEntries([...generatedSecrets('shop-production')].map(([name, data]) => [name, Object.keys(data).sort()]));
    expect(fromManager).toEqual(generated);
  });

  it('points at managed services when asked to', () => {
    const secrets = generatedSecrets('shop-test', ['--postgres-host', 'db.internal', '--postgres-sslmode', 'require', '--redis-url', 'rediss://:x@cache.internal:6380']);
    expect(new URL(secrets.get('shop-orders-database')!.url).host).toBe('db.internal:5432');
    expect(secrets.get('shop-orders-database')!.url).toMatch(/\?sslmode=require$/);
    expect(secrets.get('shop-redis')!.url).toBe('rediss://:x@cache.internal:6380');
  });
});

describe('scripts/rotate-database-password.mjs', () => {
  // Postgres is real; kubectl is a recording stand-in (no cluster here) that serves the
  // service's current Secret and keeps what is applied.
  const role = `k8s_${randomBytes(3).toString('hex')}_orders`;
  const oldPassword = randomBytes(12).toString('hex');
  let dir: string;
  /**
   * Whether the role's stored SCRAM verifier is the one for `password` (the test server trusts
   * local logins, so a login would succeed with any password and prove nothing).
   */
  const passwordIs = async (password: string) => {
    const client = admin();
    await client.connect();
    const { rows } = await client.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
    await client.end();
    const [, iterations, salt, storedKey, serverKey] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(rows[0].rolpassword)!;
    const salted = pbkdf2Sync(password, Buffer.from(salt, 'base64'), Number(iterations), 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    return (
      createHash('sha256').update(clientKey).digest('base64') === storedKey &&
      createHmac('sha256', salted).update('Server Key').digest('base64') === serverKey
    );
  };

  beforeAll(async () => {
    const client = admin();
    await client.connect();
    await client.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${oldPassword}'`);
    await client.end();
    dir = mkdtempSync(path.join(tmpdir(), 'shop-rotate-'));
    const url = `postgres://${role}:${oldPassword}@postgres:5432/${role}`;
    writeFileSync(
      path.join(dir, 'secret.json'),
      JSON.stringify({ kind: 'Secret', type: 'Opaque', metadata: { name: `shop-${role}-database`, labels: { 'app.kubernetes.io/part-of': 'shop' } }, data: { url: Buffer.from(url).toString('base64'), password: Buffer.from(oldPassword).toString('base64') } }),
    );
    writeFileSync(
      path.join(dir, 'kubectl.js'),
      `const fs = require('fs'); const args = process.argv.slice(2); const dir = ${JSON.stringify(dir)};
fs.appendFileSync(dir + '/calls', args.join(' ') + '\\n');
if (args.includes('get')) process.stdout.write(fs.readFileSync(dir + '/secret.json'));
if (args.includes('apply')) fs.writeFileSync(dir + '/applied.json', fs.readFileSync(0));`,
    );
  });
  afterAll(async () => {
    const client = admin();
    await client.connect();
    await client.query(`DROP ROLE IF EXISTS "${role}"`);
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets the new password on the role, then in the Secret, then restarts the service', async () => {
    expect(await passwordIs(oldPassword)).toBe(true);
    const run = spawnSync(
      process.execPath,
      [
        path.join(KUSTOMIZE_ROOT, 'scripts/rotate-database-password.mjs'),
        '--namespace', 'shop-test',
        '--service', role,
        '--kubectl', `${process.execPath} ${path.join(dir, 'kubectl.js')}`,
        '--psql', 'psql --no-psqlrc -v ON_ERROR_STOP=1 --quiet -d postgres',
      ],
      { env: { ...pgEnv, PGUSER: pgEnv.POSTGRES_USER }, encoding: 'utf8' },
    );
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('has a new password') });
    const applied = JSON.parse(readFileSync(path.join(dir, 'applied.json'), 'utf8'));
    const url = new URL(applied.stringData.url);
    expect([url.username, url.hostname, url.pathname, applied.metadata.namespace]).toEqual([role, 'postgres', `/${role}`, 'shop-test']);
    expect(decodeURIComponent(url.password)).toBe(applied.stringData.password);
    expect(applied.stringData.password).not.toBe(oldPassword);
    expect(await passwordIs(applied.stringData.password)).toBe(true);
    expect(await passwordIs(oldPassword)).toBe(false);
    expect(readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n')).toEqual([
      `--namespace shop-test get secret shop-${role}-database --output json`,
      '--namespace shop-test apply -f -',
      `--namespace shop-test rollout restart deployment/${role}`,
      `--namespace shop-test rollout status deployment/${role}`,
    ]);
  });
});

describe('scripts/set-release.mjs (what CI runs to deploy a build)', () => {
  const script = path.join(KUSTOMIZE_ROOT, 'scripts/set-release.mjs');
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'shop-release-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(OVERLAYS)('sets every service image of %s and its version label to one immutable tag, and nothing else', (overlay) => {
    const original = readFileSync(path.join(KUSTOMIZE_ROOT, `overlays/${overlay}/kustomization.yaml`), 'utf8');
    const file = path.join(dir, `${overlay}.yaml`);
    writeFileSync(file, original);
    const run = spawnSync(process.execPath, [script, '--file', file, '--tag', '2.3.4-main.abc1234'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const before = parseYaml(original) as { images: { name: string; newTag: string }[]; labels: { pairs: Record<string, string> }[] };
    const after = parseYaml(readFileSync(file, 'utf8')) as typeof before;
    for (const image of after.images) expect([image.name, image.newTag]).toEqual([image.name, image.name.startsWith('shop/') ? '2.3.4-main.abc1234' : before.images.find((i) => i.name === image.name)!.newTag]);
    expect(after.labels[0].pairs['app.kubernetes.io/version']).toBe('2.3.4-main.abc1234');
    // Comments and everything else stay as they were.
    const changed = readFileSync(file, 'utf8').split('\n').filter((line, i) => line !== original.split('\n')[i]);
    expect(changed.length).toBe(SERVICES.length + 1);
  });

  it('refuses a moving tag', () => {
    const file = path.join(dir, 'refused.yaml');
    writeFileSync(file, readFileSync(path.join(KUSTOMIZE_ROOT, 'overlays/dev/kustomization.yaml'), 'utf8'));
    for (const tag of ['main', 'latest', 'v1'])
      expect(spawnSync(process.execPath, [script, '--file', file, '--tag', tag], { encoding: 'utf8' }).stderr).toMatch(/not an immutable release tag/);
  });
});

describe('components/e2e/storefront-journey.mjs (the e2e Job)', () => {
  const file = path.join(KUSTOMIZE_ROOT, 'components/e2e/storefront-journey.mjs');

  it('is valid JavaScript for the image node, importing only node built-ins (nothing to install in the image)', () => {
    execFileSync(process.execPath, ['--check', file]);
    expect(imports(readFileSync(file, 'utf8'))).toEqual(['node:fs']);
  });

  it('walks the storefront journey with operations named in the trusted-documents manifest, sent by id, never as text', () => {
    // Loaded by node itself (an ES module, as the Job runs it), not through jest's transform.
    const exported = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(file)}); console.log(JSON.stringify(m.JOURNEY));`], { encoding: 'utf8' });
    expect(JSON.parse(exported)).toEqual(['Login', 'ProductList', 'ProductPage', 'Cart', 'AddToCart', 'Checkout', 'Order', 'CancelOrder']);
    const source = readFileSync(file, 'utf8');
    const sent = [...source.matchAll(/\bsend\('(\w+)'/g)].map((m) => m[1]);
    expect(new Set(sent)).toEqual(new Set([...JSON.parse(exported), 'Register', 'RemoveFromCart']));
    for (const name of sent) expect([name, trustedNames.has(name)]).toEqual([name, true]);
    expect(source).not.toMatch(/\bquery:/);
    expect(source).toContain("paymentToken: 'tok_visa'");
  });
});

describe('production/smoke-test.mjs', () => {
  const file = path.join(KUSTOMIZE_ROOT, 'overlays/production/smoke-test.mjs');

  it('is valid JavaScript for the image node, importing only node built-ins', () => {
    execFileSync(process.execPath, ['--check', file]);
    expect(imports(readFileSync(file, 'utf8'))).toEqual(['node:fs']);
  });

  it('sends ProductList by its id in the trusted-documents manifest, never as text', () => {
    const source = readFileSync(file, 'utf8');
    expect(source).toContain("operationName: 'ProductList', documentId");
    expect(trustedNames.has('ProductList')).toBe(true);
    expect(source).not.toMatch(/\bquery:/);
  });
});

/** The modules a script imports (static imports and require calls). */
function imports(source: string): string[] {
  return [...source.matchAll(/^\s*import\b[^'"]*['"]([^'"]+)['"]|\brequire\(['"]([^'"]+)['"]\)/gm)].map((m) => m[1] ?? m[2]);
}
