import { startTimerLoop, type HasEntityManager, type Logger, type TimerLoop } from '@shop/kit';
import type { ReservationService } from './services/reservation.service';

/** Periodically returns expired reservations to stock; stop() waits for a sweep in flight. */
export class ReservationSweeper {
  private loop?: TimerLoop;
  private stopped = false;

  constructor(
    private readonly reservations: ReservationService,
    private readonly ctx: HasEntityManager,
    private readonly options: { intervalMs: number; batch: number; logger: Logger },
  ) {}

  start(): void {
    this.loop = startTimerLoop(() => this.sweep(), {
      name: 'reservation sweep',
      intervalMs: this.options.intervalMs,
      logger: this.options.logger,
    });
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
    await this.loop?.stop();
  }
}
