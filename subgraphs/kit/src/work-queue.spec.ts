import { ServiceUnavailableError } from './errors';
import { WorkQueue } from './work-queue';

/** Work that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, work: () => opened };
}

describe('WorkQueue', () => {
  it('runs at most `concurrency` at once, the rest in arrival order', async () => {
    const queue = new WorkQueue({ service: 'users', concurrency: 2, maxWaitMs: 60_000 });
    const gates = Array.from({ length: 4 }, gate);
    const started: number[] = [];
    const done = gates.map((g, i) =>
      queue.run(async () => {
        started.push(i);
        await g.work();
        return i;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    gates[1].open();
    await done[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    gates[0].open();
    gates[2].open();
    gates[3].open();
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3]);
  });

  it('refuses work it could not start within maxWaitMs, at once, as retryable with the estimated wait', async () => {
    const queue = new WorkQueue({ service: 'users', concurrency: 1, maxWaitMs: 1_000 });
    // one piece of work of about 60 ms teaches the queue how long work takes
    await queue.run(() => new Promise((r) => setTimeout(r, 60)));
    const first = gate();
    const running = queue.run(first.work);
    const accepted: Promise<string>[] = [];
    let refused: Promise<unknown> | undefined;
    let refusedRan = false;
    while (!refused && accepted.length < 1_000) {
      const estimate = queue.estimatedWaitMs();
      if (estimate <= 1_000) accepted.push(queue.run(async () => 'done'));
      else
        refused = queue.run(async () => {
          refusedRan = true;
        });
    }
    expect(accepted.length).toBeGreaterThan(0);
    await expect(refused).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(refused).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      extensions: expect.objectContaining({ retryable: true, retryAfter: expect.any(Number) }),
    });
    first.open();
    await running;
    expect(new Set(await Promise.all(accepted))).toEqual(new Set(['done']));
    expect(refusedRan).toBe(false);
    // with the line gone, work is accepted again
    await expect(queue.run(async () => 'later')).resolves.toBe('later');
  });
});
