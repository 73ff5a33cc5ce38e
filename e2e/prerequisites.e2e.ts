import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './support/platform';

/** `npm test` checks what it needs before running anything, and names what is missing. */
describe('npm test with a prerequisite missing', () => {
  const runTests = (env: Record<string, string>) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.JEST_SUMMARY_FILE;
    return spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'test.mjs')], {
      cwd: ROOT,
      env: childEnv,
      encoding: 'utf8',
      timeout: 60_000,
    });
  };

  it('stops at once with the line that names Chromium', () => {
    const result = runTests({ CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('npm test cannot run; missing:');
    expect(result.stderr).toContain('/nonexistent/chromium is missing');
    // Nothing else ran: no type-check, no test.
    expect(result.stdout).not.toContain('typecheck');
    expect(result.stdout).not.toContain('tests:');
  });

  it('names a Redis that does not answer and how to point at another', () => {
    const result = runTests({ TEST_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Redis is not answering at redis:\/\/127\.0\.0\.1:1 .*set TEST_REDIS_URL/);
  });

  it('names a Postgres that does not answer and how to point at another', () => {
    const result = runTests({ TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Postgres is not answering at postgres:\/\/postgres@127\.0\.0\.1:1\/postgres .*TEST_DATABASE_URL/);
  });

  it('names kubectl and redis-server when they are not on PATH', () => {
    const result = runTests({ PATH: path.dirname(process.execPath) === '/usr/bin' ? '/nonexistent' : path.dirname(process.execPath) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('kubectl is not on PATH');
    expect(result.stderr).toContain('redis-server is not on PATH');
  });
});
