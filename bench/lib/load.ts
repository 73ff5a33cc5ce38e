import { percentile } from './stats';

// autocannon ships no types; the slice of its API used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: Record<string, unknown>) => AutocannonInstance;
interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, responseTime: number) => void): void;
  stop(): void;
}
interface AutocannonResult {
  requests: { total: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  /** CPU time the server process used per request during the run, in ms (when measured). */
  cpuMsPerRequest?: number;
  /** Transport errors + timeouts + non-2xx + bodies that were not `{"data":...}` without errors. */
  errors: number;
}

export interface LoadOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  /** Offered requests per second across all connections (default: as fast as they go). */
  rate?: number;
}

/** A body counts as good when it is GraphQL data without an errors entry. */
const goodBody = (body: string) => body.startsWith('{"data":') && !body.includes('"errors":');

/** Fixed connections for a fixed time; latency percentiles from every response. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: options.seconds,
    ...(options.rate ? { overallRate: options.rate } : {}),
    timeout: 10,
    verifyBody: goodBody,
  });
  instance.on('response', (_client, _status, _bytes, responseTime) => {
    if (latencies.length < 2_000_000) latencies.push(responseTime);
  });
  const result = await instance;
  const requests = result.requests.total;
  return {
    rps: requests / Math.max(result.duration, 1e-3),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    requests,
    errors: result.errors + result.timeouts + result.non2xx + result.mismatches,
  };
}
