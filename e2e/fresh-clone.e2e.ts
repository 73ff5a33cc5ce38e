import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './support/platform';

/**
 * The repository stands on its own: a copy of its files in an empty folder, with nothing
 * beside it (no ../shared), composes, passes the contract gate and runs an e2e journey.
 * Dependencies are hard-linked from this checkout's node_modules (the same lockfile), so the
 * test checks the repository's files, not the npm registry.
 */
function run(command: string, args: string[], cwd: string, timeoutMs: number): SpawnSyncReturns<string> {
  // The outer run's summary file must not receive the inner Jest runs' counts.
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.JEST_SUMMARY_FILE;
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
}

function expectSuccess(result: SpawnSyncReturns<string>, what: string) {
  const tail = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
  expect({ what, status: result.status, signal: result.signal, tail: result.status === 0 ? '' : tail }).toEqual({
    what,
    status: 0,
    signal: null,
    tail: '',
  });
}

describe('a copy of the repository with nothing beside it', () => {
  let parent: string;
  let clone: string;

  beforeAll(() => {
    parent = mkdtempSync(path.join(os.tmpdir(), 'fresh-clone-'));
    clone = path.join(parent, 'shop');
    mkdirSync(clone);
    // What a clone of this tree would hold: tracked files and new files not ignored.
    const listed = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT, 30_000);
    expectSuccess(listed, 'git ls-files');
    for (const file of listed.stdout.split('\0').filter(Boolean)) {
      if (!existsSync(path.join(ROOT, file))) continue; // deleted in the work tree, not yet committed
      mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
      cpSync(path.join(ROOT, file), path.join(clone, file));
    }
    expectSuccess(run('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules')], ROOT, 120_000), 'link node_modules');
    // npm nests a workspace's own version of a package under the workspace (the kit's OpenTelemetry 2.x).
    const workspaces = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    for (const workspace of workspaces.filter((w) => existsSync(path.join(ROOT, w, 'node_modules'))))
      expectSuccess(
        run('cp', ['-al', path.join(ROOT, workspace, 'node_modules'), path.join(clone, workspace, 'node_modules')], ROOT, 120_000),
        `link ${workspace}/node_modules`,
      );
  }, 180_000);

  afterAll(() => {
    if (parent) rmSync(parent, { recursive: true, force: true });
  });

  it('has no shared folder beside it', () => {
    expect(readdirSync(parent)).toEqual(['shop']);
    expect(existsSync(path.join(clone, 'contract', 'storefront.graphql'))).toBe(true);
  });

  it('builds, and its composed files and playground examples are up to date from its own contract', () => {
    expectSuccess(run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], clone, 600_000), 'build');
    expectSuccess(run('npx', ['tsx', 'scripts/compose.ts', '--check'], clone, 120_000), 'compose --check');
  }, 720_000);

  it('passes the contract gate', () => {
    expectSuccess(
      run('npx', ['jest', 'src/supergraph.spec.ts', 'src/contract-copy.spec.ts'], path.join(clone, 'gateway'), 300_000),
      'contract gate',
    );
  }, 300_000);

  it('runs the account journey end to end, every service its own process', () => {
    expectSuccess(run('npx', ['jest', 'account.e2e.ts'], path.join(clone, 'e2e'), 300_000), 'account e2e');
  }, 300_000);
});
