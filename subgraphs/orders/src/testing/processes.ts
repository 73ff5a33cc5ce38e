import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { startServiceProcess, type ServiceProcess } from '@shop/kit/testing';

export const REPO = path.resolve(__dirname, '../../../..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds a workspace (tsc) when its dist is missing or older than its sources. */
export function ensureBuilt(workspace: 'kit' | 'inventory' | 'payments' | 'orders'): void {
  const dir = path.join(REPO, 'subgraphs', workspace);
  const entry = path.join(dir, 'dist', 'index.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(path.join(dir, 'src'))) return;
  execFileSync('npm', ['run', 'build', '-w', `@shop/${workspace}`], { cwd: REPO, stdio: 'pipe' });
}

/** A built service started as its own process on a fixed port, so it can be killed and restarted there. */
export async function startProcess(
  name: 'inventory' | 'payments' | 'orders',
  port: number,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  return startServiceProcess({
    name,
    entry: path.join(REPO, 'subgraphs', name, 'dist', 'index.js'),
    port,
    env: { NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
  });
}

/** Waits for a process to exit by itself (a fault hook), returning its exit code. */
export function exited(service: ServiceProcess, timeoutMs = 30_000): Promise<number | null> {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${service.name} did not exit:\n${service.output()}`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
