import { ServiceUnavailableError } from './errors';

/**
 * CPU-heavy work (bcrypt) run at most `concurrency` at a time, the rest waiting in order.
 * A burst larger than the machine can serve in `maxWaitMs` is not accepted only to time out
 * at the caller after the work was done (an account created behind a failed registration):
 * work whose estimated wait exceeds `maxWaitMs` is refused at once with SERVICE_UNAVAILABLE,
 * retryable, with the estimated wait as `retryAfter`, before anything was done.
 */
export class WorkQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Moving average of how long one piece of work takes (0 until the first one finished). */
  private averageMs = 0;

  constructor(
    private readonly options: {
      /** Named in the refusal: "The <service> service is unavailable right now". */
      service: string;
      concurrency: number;
      maxWaitMs: number;
    },
  ) {}

  /** How long work queued now would wait before it starts, from the average so far. */
  estimatedWaitMs(): number {
    const { concurrency } = this.options;
    if (this.running < concurrency) return 0;
    return Math.ceil((this.waiting.length + 1) / concurrency) * this.averageMs;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    const waitMs = this.estimatedWaitMs();
    if (waitMs > this.options.maxWaitMs)
      throw new ServiceUnavailableError(this.options.service, `work queue full (about ${waitMs} ms)`, Math.ceil(waitMs / 1000));
    if (this.running >= this.options.concurrency) await new Promise<void>((start) => this.waiting.push(start));
    else this.running += 1;
    const started = performance.now();
    try {
      return await work();
    } finally {
      const took = performance.now() - started;
      this.averageMs = this.averageMs === 0 ? took : 0.8 * this.averageMs + 0.2 * took;
      // Hand the slot straight to the next in line (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
