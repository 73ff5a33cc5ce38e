import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** Runs a service entry point whose start() succeeds and then leaves `fault` unhandled. */
function runServiceThat(fault: string) {
  const main = path.join(__dirname, 'main.ts');
  const script = `require(${JSON.stringify(main)}).runMain(async () => { setTimeout(() => { ${fault} }, 10); return { stop: async () => {} }; });`;
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 60_000 });
}

describe('a service process with an error nobody handled', () => {
  it('names an uncaught exception on one line, with its stack, and exits non-zero', () => {
    const run = runServiceThat(`throw new Error('boom from a timer')`);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fatal: uncaught exception, exiting: Error: boom from a timer\\n\s+at /);
  });

  it('names an unhandled promise rejection the same way', () => {
    const run = runServiceThat(`Promise.reject(new Error('nobody awaited me'))`);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^fatal: unhandled promise rejection, exiting: Error: nobody awaited me/);
  });
});
