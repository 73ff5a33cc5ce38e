import { ConfigError } from './config';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Process entry point for a service: starts it, stops it gracefully on SIGTERM/SIGINT, and
 * turns a configuration error into one line per variable and exit code 1.
 */
export function runMain(start: () => Promise<Stoppable>): void {
  start()
    .then((service) => {
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${signal} received, draining\n`);
        // A stop that hangs (a pool that never drains) must not outlive the orchestrator's
        // patience: exit non-zero a little after the grace period instead.
        const graceMs = Number(process.env.SHUTDOWN_GRACE_MS) || 10_000;
        setTimeout(() => {
          process.stderr.write(`shutdown did not finish within ${graceMs + 5_000} ms; exiting\n`);
          process.exit(1);
        }, graceMs + 5_000).unref();
        service
          .stop()
          .then(() => process.exit(0))
          .catch((error) => {
            process.stderr.write(`shutdown failed: ${error instanceof Error ? error.stack : String(error)}\n`);
            process.exit(1);
          });
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    })
    .catch((error) => {
      if (error instanceof ConfigError) {
        for (const line of error.problems) process.stderr.write(`${line}\n`);
      } else {
        process.stderr.write(`failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
      }
      process.exit(1);
    });
}
