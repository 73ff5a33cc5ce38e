import { ConfigError } from './config';
import { stopTracing } from './tracing';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Process entry point for a service: starts it, stops it gracefully on SIGTERM/SIGINT, and
 * turns a configuration error into one line per variable and exit code 1.
 */
export function runMain(start: () => Promise<Stoppable>): void {
  exitLoudlyOnUnhandledErrors();
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
          // Spans still batched go out before the process ends.
          .then(() => stopTracing())
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

/**
 * An error nobody handled means the process's state is unknown: say exactly what it was on
 * one line (with its stack), then exit non-zero so the orchestrator restarts the process and
 * recovery finishes whatever it left half-way. Node would exit too, but with a report that
 * is easy to miss among other output and that never says which kind of failure it was.
 */
function exitLoudlyOnUnhandledErrors(): void {
  const fatal = (kind: string, error: unknown) => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`fatal: ${kind}, exiting: ${detail.replace(/\n/g, '\\n')}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', (error) => fatal('uncaught exception', error));
  process.on('unhandledRejection', (reason) => fatal('unhandled promise rejection', reason));
}
