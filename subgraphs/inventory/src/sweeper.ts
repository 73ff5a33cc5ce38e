import type { HasEntityManager, Logger } from '@shop/kit';
import type { ReservationService } from './services/reservation.service';

/** Periodically returns expired reservations to stock; stop() waits for a sweep in flight. */
export class ReservationSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly reservations: ReservationService,
    private readonly ctx: HasEntityManager,
    private readonly options: { intervalMs: number; batch: number; logger: Logger },
  ) {}

  start(): void {
    this.schedule();
  }

  /** One sweep (also used by tests); returns how many reservations expired. */
  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = await this.reservations.expireDue(this.ctx, this.options.batch);
      total += expired;
      if (expired < this.options.batch || this.stopped) break;
    }
    if (total > 0) this.options.logger.info({ expired: total }, 'expired reservations returned to stock');
    return total;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule() {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep()
        .then(() => undefined)
        .catch((error) => this.options.logger.error({ err: error }, 'reservation sweep failed'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
