import { spawn, type ChildProcess } from 'node:child_process';

/** Polls until `check` passes or the (generous) deadline passes; for waiting, never for timing. */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export interface ServiceProcess {
  name: string;
  url: string;
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a built service (`node <entry>`) as its own process and waits for /health. */
export async function startServiceProcess(options: {
  name: string;
  entry: string;
  port: number;
  env: Record<string, string>;
  /**
   * How long it may take to answer /health. Generous by default: a service's first start on a
   * fresh clone (migrations on a new database, cold module loading) on a loaded machine took
   * more than the 30 s a plain waitFor allows (fresh-clone.e2e.ts, load average 20).
   */
  startTimeoutMs?: number;
}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [options.entry], {
    env: { PATH: process.env.PATH ?? '', ...options.env, PORT: String(options.port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${options.port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}:\n${output}`);
    const response = await fetch(`${url}/health`);
    return response.ok;
  }, `${options.name} to start`, options.startTimeoutMs ?? 120_000).catch((error: unknown) => {
    child.kill('SIGKILL'); // one that never became healthy must not outlive the test
    throw error;
  });
  return {
    name: options.name,
    url,
    child,
    output: () => output,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      return new Promise((resolve) => {
        // A process that died of a signal (SIGKILL) has no exit code but has exited all the same.
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}
