#!/usr/bin/env node
// `npm test`: typecheck and lint, then every workspace's tests through turbo (one workspace at a time: they share
// the machine's Postgres and 2 cores), then one closing line with the totals.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureInstalled } from './ensure-installed.mjs';
import { requirePrerequisites } from './prerequisites.mjs';

ensureInstalled();
// Before anything runs: what the tests need beyond the repository, one line per missing piece.
await requirePrerequisites(['postgres', 'redis', 'redis-server', 'kubectl', 'chromium'], 'npm test');

// Types and lint first: cheap, and a red one says more than the tests it would break.
const checks = spawnSync('npx', ['turbo', 'run', 'typecheck', 'lint', '--concurrency=2', '--output-logs=errors-only'], {
  stdio: 'inherit',
});
if (checks.status !== 0) {
  console.log('tests: 0 passed, 1 failed (typecheck or lint failed; see above)');
  process.exit(1);
}

const summaryFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'jest-summary-')), 'runs.jsonl');
const args = ['turbo', 'run', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)];
const result = spawnSync('npx', args, { stdio: 'inherit', env: { ...process.env, JEST_SUMMARY_FILE: summaryFile } });

const runs = existsSync(summaryFile)
  ? readFileSync(summaryFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line))
  : [];
const total = (key) => runs.reduce((sum, run) => sum + run[key], 0);
const failedSuites = total('suitesFailed');
console.log('');
for (const run of runs) console.log(`  ${path.relative(process.cwd(), run.cwd) || '.'}: ${run.passed} passed, ${run.failed} failed`);
console.log(`tests: ${total('passed')} passed, ${total('failed')} failed, ${total('skipped')} skipped`);
if (failedSuites > 0) console.log(`${failedSuites} test suite(s) failed to run`);
process.exit(result.status === 0 && total('failed') === 0 && failedSuites === 0 && runs.length > 0 ? 0 : 1);
