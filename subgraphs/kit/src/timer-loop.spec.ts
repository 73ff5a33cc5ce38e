import { createLogger } from './logger';
import { startTimerLoop } from './timer-loop';

const logger = createLogger('kit-test', 'silent');

/** A pass the test finishes by hand, to see what the loop does while one is in flight. */
function controllablePass() {
  const started: (() => void)[] = [];
  let waiting: (() => void) | undefined;
  const nextStart = () => new Promise<void>((resolve) => (waiting = resolve));
  const pass = () =>
    new Promise<void>((finish) => {
      started.push(finish);
      waiting?.();
    });
  return { pass, started, nextStart };
}

describe('timer loop', () => {
  it('never starts a pass while one is running, and runs again after it', async () => {
    const { pass, started, nextStart } = controllablePass();
    const first = nextStart();
    const loop = startTimerLoop(pass, { name: 'probe', intervalMs: 5, logger, runAtStart: true });
    await first;
    // Many intervals go by while the first pass is still running: nothing else starts.
    await new Promise((r) => setTimeout(r, 50));
    expect(started).toHaveLength(1);
    const joined = loop.runNow();
    expect(started).toHaveLength(1);
    const second = nextStart();
    started[0]();
    await joined;
    await second;
    expect(started).toHaveLength(2);
    started[1]();
    await loop.stop();
  });

  it('logs a failed pass and keeps going', async () => {
    const errors: unknown[] = [];
    const failing = { ...logger, error: (fields: unknown) => errors.push(fields) } as unknown as typeof logger;
    let passes = 0;
    let reachedThird!: () => void;
    const third = new Promise<void>((r) => (reachedThird = r));
    const loop = startTimerLoop(
      async () => {
        if (++passes === 3) reachedThird();
        throw new Error('pass failed');
      },
      { name: 'flaky', intervalMs: 1, logger: failing, runAtStart: true },
    );
    await third;
    await loop.stop();
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toEqual({ err: new Error('pass failed') });
  });

  it('stop waits for the pass in flight and starts no other', async () => {
    const { pass, started, nextStart } = controllablePass();
    const first = nextStart();
    const loop = startTimerLoop(pass, { name: 'probe', intervalMs: 1, logger, runAtStart: true });
    await first;
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    started[0]();
    await stopping;
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toHaveLength(1);
    await loop.runNow();
    expect(started).toHaveLength(1);
  });
});
