import type { ConfigOf, ConfigShape } from './config';
import { migrate, openDatabase, type Database, type DatabaseOptions } from './db';
import { createLogger, type Logger } from './logger';
import { runMain } from './main';
import { parseServiceConfig, type CommonConfig } from './runtime';
import { createStore, type KeyValueStore } from './store';

export interface CommandOptions<S extends ConfigShape> {
  name: string;
  configShape: S;
  entities: DatabaseOptions['entities'];
  migrations: DatabaseOptions['migrations'];
}

export interface CommandContext<C> {
  config: C;
  logger: Logger;
  db: Database;
  /** The service's store, under its REDIS_KEY_PREFIX (memory when REDIS_URL is unset). */
  store: KeyValueStore;
}

/**
 * A one-shot command of a service (migrate, seed): the service's own validated config, its
 * database migrated under the advisory lock, its store; closed afterwards, exit 0.
 */
export function runCommandMain<S extends ConfigShape>(
  options: CommandOptions<S>,
  command: (ctx: CommandContext<CommonConfig & ConfigOf<S>>) => Promise<void>,
): void {
  runMain(async () => {
    const config = parseServiceConfig(options.name, options.configShape, process.env);
    const logger = createLogger(options.name, config.LOG_LEVEL);
    const db = await openDatabase({
      service: options.name,
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolMax: 2,
      entities: options.entities,
      migrations: options.migrations,
      logger,
    });
    const store = createStore(config.REDIS_URL, logger, config.REDIS_KEY_PREFIX, config.REDIS_COMMAND_TIMEOUT_MS);
    try {
      const applied = await migrate(db, options.name, logger);
      logger.info({ applied: applied.length }, 'migrations up to date');
      await command({ config, logger, db, store });
    } finally {
      await store.close();
      await db.close();
    }
    process.exit(0);
  });
}

/** The `migrate` command (Kubernetes runs it as an init container). */
export function runMigrationsMain<S extends ConfigShape>(options: CommandOptions<S>): void {
  runCommandMain(options, async () => undefined);
}

/** `--name value` or `--name=value` from the command line. */
export function argValue(name: string, args: string[] = process.argv.slice(2)): string | undefined {
  const index = args.indexOf(name);
  if (index >= 0) return args[index + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.split('=')[1];
}

/** The size of a seed: `--products N`, else SEED_PRODUCTS, else the development default. */
export function seedSizeArg(fallback = 300): number {
  const products = Number(argValue('--products') ?? process.env.SEED_PRODUCTS ?? fallback);
  if (!Number.isInteger(products) || products < 0)
    throw new Error('--products must be a non-negative integer');
  return products;
}
