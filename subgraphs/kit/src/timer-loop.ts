import type { Logger } from './logger';
import { withSpan } from './telemetry';

export interface TimerLoopOptions {
  /** Names the loop in its log lines ("<name> failed"). */
  name: string;
  intervalMs: number;
  logger: Logger;
  /**
   * Each wait is intervalMs × (1 ± jitter), so replicas started together do not run their
   * passes (and their queries) in lockstep. Default 0.2.
   */
  jitter?: number;
  /** Run the first pass at once instead of after the first interval. */
  runAtStart?: boolean;
}

export interface TimerLoop {
  /** Runs one pass now, or joins the pass already running (passes never overlap). */
  runNow(): Promise<void>;
  /** No new pass starts; resolves once the pass in flight (if any) has finished. */
  stop(): Promise<void>;
}

/**
 * Background work every service runs the same way (sweepers, recovery, publishers): one pass
 * at a time, the next one scheduled only after the last finished, a failed pass logged and
 * retried at the next interval, and a stop that waits for the pass in flight so pools close
 * after it.
 */
export function startTimerLoop(pass: () => Promise<unknown>, options: TimerLoopOptions): TimerLoop {
  const jitter = options.jitter ?? 0.2;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const schedule = () => {
    if (stopped) return;
    const delay = options.intervalMs * (1 + jitter * (2 * Math.random() - 1));
    timer = setTimeout(() => void runNow(), Math.max(0, Math.round(delay)));
    timer.unref();
  };
  const runNow = (): Promise<void> => {
    if (running) return running;
    if (stopped) return Promise.resolve();
    clearTimeout(timer);
    // Each pass is its own trace (when tracing): work done later on behalf of requests, not inside one.
    running = withSpan(options.name, { root: true, attributes: { 'background.loop': options.name } }, () => pass())
      .then(() => undefined)
      .catch((error: unknown) => options.logger.error({ err: error }, `${options.name} failed`))
      .finally(() => {
        running = undefined;
        schedule();
      });
    return running;
  };

  if (options.runAtStart) void runNow();
  else schedule();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
