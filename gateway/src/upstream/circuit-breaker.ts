export type CircuitState = 'closed' | 'open' | 'half-open';

/** What a readiness probe found: ready, answering but not ready, no readiness endpoint, or no answer. */
export type ProbeResult = 'ready' | 'not-ready' | 'no-endpoint' | 'unreachable';

/** A fetch admitted by the breaker; its outcome counts only if the circuit has not moved on since. */
export interface Admission {
  readonly epoch: number;
}

/**
 * One subgraph's circuit.
 *
 * - closed: `failureThreshold` consecutive failed fetches open it.
 * - open: every fetch fails at once without calling the subgraph, while the subgraph's
 *   readiness endpoint is probed every `probeIntervalMs`; the first "ready" answer makes the
 *   circuit half-open (so a restart is noticed within one probe interval, not after a fixed
 *   wait). A subgraph without a readiness endpoint (404) goes half-open after `openMs` instead.
 * - half-open: fetches go through; the first success closes the circuit, the first failure
 *   opens it again.
 *
 * Each change of state starts a new epoch, and only fetches admitted in the current epoch
 * count: a slow fetch started before the circuit opened (or before it went half-open) can
 * neither close it nor open it again, so results of the outage never outlive it.
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private epoch = 0;
  private failures = 0;
  private openedAt = 0;
  /** While open and probing: the timer of the next probe. */
  private probeTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly options: {
      failureThreshold: number;
      /** Fallback for subgraphs without a readiness endpoint: how long to stay open. */
      openMs: number;
      probeIntervalMs: number;
      /** Asks the subgraph whether it is ready (GET /ready); must settle within probeIntervalMs. */
      probe: () => Promise<ProbeResult>;
      now?: () => number;
      onStateChange?: (state: CircuitState) => void;
    },
  ) {}

  private now() {
    return (this.options.now ?? Date.now)();
  }

  get current(): CircuitState {
    return this.state;
  }

  /** An admission for a fetch that may go out now, or undefined while the circuit is open. */
  tryAcquire(): Admission | undefined {
    if (this.state === 'open') return undefined;
    return { epoch: this.epoch };
  }

  /**
   * Seconds a client should wait before retrying while the circuit is open: the next probe
   * comes within one interval, so that is the earliest a retry can succeed.
   */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.options.probeIntervalMs / 1000));
  }

  onSuccess(admission: Admission): void {
    if (admission.epoch !== this.epoch) return;
    this.failures = 0;
    if (this.state === 'half-open') this.transition('closed');
  }

  onFailure(admission: Admission): void {
    if (admission.epoch !== this.epoch) return;
    this.failures += 1;
    if (this.state === 'half-open' || (this.state === 'closed' && this.failures >= this.options.failureThreshold))
      this.open();
  }

  /** Stops probing (the gateway is shutting down). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.probeTimer);
  }

  private open() {
    this.openedAt = this.now();
    this.transition('open');
    this.scheduleProbe();
  }

  private scheduleProbe() {
    if (this.stopped) return;
    this.probeTimer = setTimeout(() => void this.runProbe(), this.options.probeIntervalMs);
    // A gateway with an open circuit must still be able to exit.
    this.probeTimer.unref();
  }

  private async runProbe() {
    if (this.state !== 'open' || this.stopped) return;
    let result: ProbeResult;
    try {
      result = await this.options.probe();
    } catch {
      result = 'unreachable';
    }
    if (this.state !== 'open' || this.stopped) return;
    if (result === 'ready' || (result === 'no-endpoint' && this.now() - this.openedAt >= this.options.openMs))
      this.transition('half-open');
    else this.scheduleProbe();
  }

  private transition(state: CircuitState) {
    this.state = state;
    this.epoch += 1;
    this.failures = 0;
    this.options.onStateChange?.(state);
  }
}

/**
 * GET <subgraph>/ready (the kit's readiness endpoint, next to /graphql) with a deadline:
 * 200 ready, 404 no such endpoint (a subgraph from elsewhere), another status not ready.
 */
export function readinessProbe(graphqlUrl: string, timeoutMs: number): () => Promise<ProbeResult> {
  const readyUrl = new URL('ready', graphqlUrl).toString();
  return async () => {
    try {
      const response = await fetch(readyUrl, { signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer();
      if (response.status === 200) return 'ready';
      return response.status === 404 ? 'no-endpoint' : 'not-ready';
    } catch {
      return 'unreachable';
    }
  };
}
