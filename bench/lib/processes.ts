import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, closeSync } from 'node:fs';
import { waitFor } from '@shop/kit/testing';

export interface BenchProcess {
  name: string;
  pid: number;
  url: string;
  child: ChildProcess;
  logFile: string;
  /** Peak resident set size of the process so far (VmHWM), in MB. */
  peakRssMb(): number;
  /** CPU time (user + system) the process and its children used so far, in ms. */
  cpuMs(): number;
  kill(): Promise<void>;
}

/**
 * Starts a gateway-like process (or any process, given `ready`) with stdout/stderr to a log file (as a container runtime
 * would take them; an in-memory buffer would grow with info-level request logs), and waits
 * until POST /graphql answers `{ __typename }` (with data, or with a GraphQL refusal: a gateway
 * that accepts only trusted documents answers the freeform probe 403, and is up all the same).
 */
export async function startProcess(options: {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  logFile: string;
  cwd?: string;
  graphqlPath?: string;
  /** How to tell it is up (default: POST /graphql answers `{ __typename }`); subgraphs: GET /health. */
  ready?: (child: ChildProcess) => Promise<boolean>;
}): Promise<BenchProcess> {
  const fd = openSync(options.logFile, 'a');
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env, PORT: String(options.port), HOST: '127.0.0.1' },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${options.port}${options.graphqlPath ?? '/graphql'}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}; see ${options.logFile}`);
        if (options.ready) return options.ready(child);
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        return response.ok || response.status === 403;
      },
      `${options.name} to answer on ${url}`,
      // Generous: on the shared 2 cores (load average 20-50) a start-up has taken over two minutes.
      240_000,
    );
  } catch (error) {
    // Nobody will own a process that never came up: it must not outlive the run (and its database).
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  }
  return {
    name: options.name,
    pid: child.pid!,
    url,
    child,
    logFile: options.logFile,
    peakRssMb: () => peakRssMb(child.pid!),
    cpuMs: () => cpuMs(child.pid!),
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        // Long enough for a process started with --cpu-prof to write its profile at exit on a loaded machine.
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** VmHWM of a process and its children (a CLI may serve from a forked worker), in MB. */
export function peakRssMb(pid: number): number {
  let total = 0;
  for (const p of [pid, ...childPids(pid)]) {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (match) total += Number(match[1]) / 1024;
    } catch {
      // gone
    }
  }
  return total;
}

function childPids(pid: number): number[] {
  try {
    const direct = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return direct.flatMap((c) => [c, ...childPids(c)]);
  } catch {
    return [];
  }
}

/** utime + stime of a process and its children (from /proc/<pid>/stat), in ms. */
export function cpuMs(pid: number): number {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  let total = 0;
  for (const p of [pid, ...childPids(pid)]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * tick;
    } catch {
      // gone
    }
  }
  return total;
}

/** Answers `GET <base>/health` with 200 (every subgraph has it). */
export const healthy = (base: string) => async () => (await fetch(`${base}/health`)).ok;

/**
 * A redis-server of the stack's own (no persistence), so the Redis column of stack CPU is
 * this stack's work alone, not the shared server's other clients.
 */
export async function startRedisServer(name: string, port: number, logFile: string): Promise<BenchProcess> {
  const { default: Redis } = await import('ioredis');
  return startProcess({
    name,
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    env: {},
    port,
    logFile,
    ready: async () => {
      const client = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    },
  });
}
