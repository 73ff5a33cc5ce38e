import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Baseline {
  ref: string;
  commit: string;
  /** Root of the worktree the ref is built in. */
  root: string;
}

/**
 * The `--baseline <ref>` build: a detached git worktree of the ref under the temp directory
 * (kept between runs, keyed by commit, so a second run does not build again), with the
 * working tree's node_modules hard-linked in when the lockfiles match (`npm ci` otherwise),
 * built with turbo.
 */
export function prepareBaseline(ref: string, root: string, log: (line: string) => void): Baseline {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
  const dir = path.join(os.tmpdir(), `shop-bench-baseline-${commit.slice(0, 12)}`);
  if (!existsSync(path.join(dir, 'package.json'))) {
    log(`baseline ${ref} (${commit.slice(0, 7)}): adding a worktree at ${dir}`);
    git('worktree', 'prune');
    git('worktree', 'add', '--detach', dir, commit);
  }
  if (!existsSync(path.join(dir, 'node_modules'))) {
    const lock = (r: string) => readFileSync(path.join(r, 'package-lock.json'), 'utf8');
    if (lock(root) === lock(dir)) {
      log('baseline: same lockfile, hard-linking node_modules');
      const workspaces = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
      for (const ws of ['.', ...workspaces]) {
        const from = path.join(root, ws, 'node_modules');
        if (existsSync(from) && existsSync(path.join(dir, ws))) execFileSync('cp', ['-al', from, path.join(dir, ws, 'node_modules')]);
      }
    } else {
      log('baseline: its lockfile differs, npm ci (needs the registry)');
      execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit', timeout: 900_000 });
    }
  }
  const marker = path.join(dir, '.bench-built');
  if (!existsSync(marker)) {
    log(`baseline: building ${commit.slice(0, 7)}`);
    execFileSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: dir, stdio: 'inherit', timeout: 1_800_000 });
    writeFileSync(marker, `${commit}\n`);
  }
  return { ref, commit, root: dir };
}

/** The commit the working tree is at (for the report), with "+changes" when it is dirty. */
export function describeWorkingTree(root: string): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  const commit = git('rev-parse', '--short', 'HEAD');
  return git('status', '--porcelain', '--untracked-files=no') ? `${commit}+changes` : commit;
}
