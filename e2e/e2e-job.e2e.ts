import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_REDIS_URL } from '@shop/kit/testing';
import { ROOT, startPlatform, type Platform } from './support/platform';

/**
 * The Kubernetes e2e Job's script (kustomize/components/e2e/storefront-journey.mjs) and
 * production's smoke-test Job's script, run as the Jobs run them — `node <script>` with
 * GATEWAY_URL, the test account and the trusted-documents manifest the Jobs mount — against
 * the whole platform as processes, seeded the way the catalog-seed Jobs seed dev and staging,
 * with the gateway enforcing the trusted-documents manifest as production does.
 */
const SCRIPT = path.join(ROOT, 'kustomize/components/e2e/storefront-journey.mjs');
const SMOKE_TEST = path.join(ROOT, 'kustomize/overlays/production/smoke-test.mjs');
/** What the Jobs mount at their default TRUSTED_DOCUMENTS_FILE: the manifest kustomize ships. */
const MANIFEST = path.join(ROOT, 'kustomize/base/gateway/trusted-documents.json');

describe('the e2e Job (storefront-journey.mjs) against a running platform', () => {
  let platform: Platform;
  const account = { E2E_EMAIL: `e2e-job-${process.pid}@shop.example.com`, E2E_PASSWORD: 'e2e job password' };
  const run = (script: string, env: Record<string, string>) =>
    spawnSync(process.execPath, [script], {
      env: { PATH: process.env.PATH ?? '', GATEWAY_URL: platform.graphqlUrl.replace(/\/graphql$/, ''), TRUSTED_DOCUMENTS_FILE: MANIFEST, ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
  const journey = (env: Record<string, string>) => run(SCRIPT, env);

  beforeAll(async () => {
    platform = await startPlatform({ gatewayEnv: { TRUSTED_DOCUMENTS_MODE: 'enforce' } });
    // What the catalog-seed Jobs run: each service's seed command on its own database.
    for (const service of ['products', 'inventory'] as const) {
      const seed = spawnSync(process.execPath, [path.join(ROOT, 'subgraphs', service, 'dist', 'seed.js'), '--products', '30'], {
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          REDIS_URL: TEST_REDIS_URL,
          DATABASE_URL: platform.databases[service]!.url,
          ...platform.keys.envFor(service),
        },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect({ service, status: seed.status, stderr: seed.stderr.slice(-2000) }).toEqual({ service, status: 0, stderr: expect.any(String) });
    }
  }, 300_000);
  afterAll(() => platform?.stop());

  it('runs against a gateway that refuses documents outside the manifest (so passing proves the Job sends trusted ones)', async () => {
    const untrusted = await platform.query('query NotInTheContract { categories { id } }');
    expect(untrusted.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('registers the test account on its first run, buys, reads and cancels, and exits 0', () => {
    const run = journey(account);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).toContain(`no test account ${account.E2E_EMAIL} yet: registering it`);
    expect(run.stdout).toMatch(/e2e journey passed: order \S+ for SEED-\d+ placed, read and cancelled/);
  }, 150_000);

  it('signs in with the existing account on the next run, and passes again (the cancel gave the stock back)', () => {
    const run = journey(account);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).not.toContain('registering');
  }, 150_000);

  it('exits 1, naming the step, when a step fails (a wrong password for the account)', () => {
    const run = journey({ ...account, E2E_PASSWORD: 'not the password' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/e2e journey FAILED: Register answered 200: .*CONFLICT/);
  }, 150_000);

  it('names the manifest when an operation it needs is not in it, and exits 1', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'e2e-job-'));
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { operations: { name: string }[] };
    const withoutLogin = path.join(dir, 'manifest.json');
    writeFileSync(withoutLogin, JSON.stringify({ ...manifest, operations: manifest.operations.filter((o) => o.name !== 'Login') }));
    const result = journey({ ...account, TRUSTED_DOCUMENTS_FILE: withoutLogin });
    rmSync(dir, { recursive: true, force: true });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`e2e journey FAILED: Login is not in the trusted-documents manifest ${withoutLogin}`);
  });

  it('runs the production smoke test the same way: ProductList by its manifest id, exit 0', () => {
    const smoke = run(SMOKE_TEST, {});
    expect({ status: smoke.status, stderr: smoke.stderr }).toEqual({ status: 0, stderr: '' });
    expect(smoke.stdout).toMatch(/^smoke test passed: 30 products, request smoke-test-\d+$/m);
  });
});
