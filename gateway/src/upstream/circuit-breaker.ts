export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * One subgraph's circuit: `failureThreshold` consecutive failures open it; while open every
 * fetch fails at once without calling the subgraph; after `openMs` one probe fetch is let
 * through (half-open) — its success closes the circuit, its failure opens it again.
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(
    private readonly options: {
      failureThreshold: number;
      openMs: number;
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

  /** Whether a fetch may go out now; a true answer in half-open is the one probe. */
  tryAcquire(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.options.openMs) return false;
      this.transition('half-open');
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Milliseconds until an open circuit lets a probe through (0 when not open). */
  retryInMs(): number {
    return this.state === 'open' ? Math.max(0, this.options.openMs - (this.now() - this.openedAt)) : 0;
  }

  onSuccess(): void {
    this.failures = 0;
    this.probing = false;
    if (this.state !== 'closed') this.transition('closed');
  }

  onFailure(): void {
    this.probing = false;
    this.failures += 1;
    if (
      this.state === 'half-open' ||
      (this.state === 'closed' && this.failures >= this.options.failureThreshold)
    ) {
      this.openedAt = this.now();
      this.transition('open');
    }
  }

  private transition(state: CircuitState) {
    this.state = state;
    this.options.onStateChange?.(state);
  }
}
