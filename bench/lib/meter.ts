import { Client } from 'pg';
import { cpuMs } from './processes';

/** A process of the stack whose CPU counts: the gateway, a subgraph, the stack's redis-server. */
export interface MeteredPart {
  name: string;
  pid: number;
}

/** CPU ms each part used during a window, `postgres` (the stack's backends) and `total` included. */
export type CpuSplit = Record<string, number>;

const SAMPLE_MS = 500;

/**
 * Stack CPU: user+system CPU (from /proc/<pid>/stat) of every process of one stack during a
 * measured window. Node processes and the stack's own redis-server are read at both ends of
 * the window. Postgres is shared by every stack (and by other users of the machine), so it
 * counts only the backends connected to this stack's databases: they are listed from
 * pg_stat_activity every 500 ms, and a backend that appears during the window counts from 0
 * (its start-up is part of the work). A backend that exits within a window loses its CPU
 * since the last sample (pools keep their connections 30 s idle, so this is rare under load).
 * Postgres's own background processes (WAL writer, checkpointer) are shared and not counted.
 */
export class StackMeter {
  private constructor(
    private readonly parts: MeteredPart[],
    private readonly databases: string[],
    private readonly pg: Client,
  ) {}

  static async open(parts: MeteredPart[], databases: string[], postgresUrl: string): Promise<StackMeter> {
    const pg = new Client({ connectionString: postgresUrl, application_name: 'bench-meter' });
    await pg.connect();
    return new StackMeter(parts, databases, pg);
  }

  private async backends(): Promise<number[]> {
    const result = await this.pg.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = ANY($1)', [this.databases]);
    return result.rows.map((r) => r.pid);
  }

  /** Starts a window; the returned function ends it and gives each part's CPU ms. */
  async start(): Promise<() => Promise<CpuSplit>> {
    const first = new Map<number, number>();
    const last = new Map<number, number>();
    const sample = async (initial: boolean) => {
      for (const pid of await this.backends()) {
        const cpu = cpuMs(pid);
        if (!first.has(pid)) first.set(pid, initial ? cpu : 0);
        last.set(pid, cpu);
      }
    };
    await sample(true);
    const before = this.parts.map((p) => cpuMs(p.pid));
    let sampling = Promise.resolve();
    const timer = setInterval(() => {
      sampling = sampling.then(() => sample(false)).catch(() => undefined);
    }, SAMPLE_MS);
    return async () => {
      const after = this.parts.map((p) => cpuMs(p.pid));
      clearInterval(timer);
      await sampling;
      await sample(false);
      const split: CpuSplit = {};
      this.parts.forEach((p, i) => (split[p.name] = (split[p.name] ?? 0) + after[i] - before[i]));
      split.postgres = [...last].reduce((sum, [pid, cpu]) => sum + Math.max(0, cpu - first.get(pid)!), 0);
      split.total = Object.values(split).reduce((a, b) => a + b, 0);
      return split;
    };
  }

  async close(): Promise<void> {
    await this.pg.end().catch(() => undefined);
  }
}

/** Divides every part of a split by the requests served: ms per request. */
export function perRequest(split: CpuSplit, requests: number): CpuSplit {
  return Object.fromEntries(Object.entries(split).map(([k, v]) => [k, v / Math.max(1, requests)]));
}
