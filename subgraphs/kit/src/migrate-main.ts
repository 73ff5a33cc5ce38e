import type { ConfigShape } from './config';
import { migrate, openDatabase, type DatabaseOptions } from './db';
import { createLogger } from './logger';
import { runMain } from './main';
import { parseServiceConfig } from './runtime';

/**
 * The `migrate` command of a service (Kubernetes runs it as an init container): apply
 * pending migrations under the advisory lock, then exit.
 */
export function runMigrationsMain(options: {
  name: string;
  configShape: ConfigShape;
  entities: DatabaseOptions['entities'];
  migrations: DatabaseOptions['migrations'];
}): void {
  runMain(async () => {
    const config = parseServiceConfig(options.name, options.configShape, process.env);
    const logger = createLogger(options.name, config.LOG_LEVEL);
    const db = await openDatabase({
      service: options.name,
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolMax: 1,
      entities: options.entities,
      migrations: options.migrations,
      logger,
    });
    const applied = await migrate(db, options.name, logger);
    logger.info({ applied: applied.length }, 'migrations up to date');
    await db.close();
    process.exit(0);
  });
}
