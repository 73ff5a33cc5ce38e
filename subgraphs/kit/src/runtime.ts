import { ConfigError, commonConfigShape, parseConfig, type ConfigOf, type ConfigShape } from './config';
import { openDatabase, migrate, type Database, type DatabaseOptions } from './db';
import { devKeyEnv, loadDevKeyring, parsePublicKeys } from './keys';
import { createLogger, type Logger } from './logger';
import { createMetrics, statementKind, type ServiceMetrics } from './metrics';
import { ServiceClient } from './service-client';
import { createStore, type KeyValueStore } from './store';
import { TokenSigner, TokenVerifier } from './tokens';

export type CommonConfig = ConfigOf<typeof commonConfigShape>;

/** Everything a service process holds once: config, logs, metrics, stores, keys. */
export interface Runtime<C extends CommonConfig = CommonConfig> {
  name: string;
  config: C;
  logger: Logger;
  metrics: ServiceMetrics;
  store: KeyValueStore;
  db: Database;
  serviceTokens: TokenVerifier;
  /** Present when this service calls others (SERVICE_TOKEN_PRIVATE_KEY set). */
  serviceSigner?: TokenSigner;
  /** A client for another service's internal API, signed as this service. */
  clientFor(target: string, baseUrl: string, timeoutMs: number): ServiceClient;
  close(): Promise<void>;
}

export interface RuntimeOptions<S extends ConfigShape> {
  name: string;
  env: NodeJS.ProcessEnv;
  configShape: S;
  entities: DatabaseOptions['entities'];
  migrations: DatabaseOptions['migrations'];
  /** Embedded mode shares one in-memory store between services in one process. */
  store?: KeyValueStore;
  /** Tests only. */
  synchronize?: boolean;
}

/**
 * In development, keys that are not configured come from a keyring generated once under
 * DATA_DIR, so separately started processes of one checkout agree. Elsewhere they must be set.
 */
export function withDevDefaults(name: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const nodeEnv = env.NODE_ENV ?? 'development';
  if (nodeEnv !== 'development') return env;
  const keyEnv = devKeyEnv(loadDevKeyring(env.DATA_DIR || '.data'), name);
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const [key, value] of Object.entries(keyEnv)) if (!merged[key]) merged[key] = value;
  return merged;
}

/**
 * What each store falls back to when its variable is unset: fine on a laptop, wrong for a
 * deployment (every replica would keep its own copy, silently).
 */
const PRODUCTION_STORES = {
  DATABASE_URL: 'unset, each process would run its own embedded database',
  REDIS_URL: 'unset, each process would keep its caches, rate limits and revocation marks in memory',
} as const;

export function parseServiceConfig<S extends ConfigShape>(
  name: string,
  shape: S,
  env: NodeJS.ProcessEnv,
  /** The gateway keeps nothing durable: it needs Redis in production, not a database. */
  options: { database?: boolean } = {},
): CommonConfig & ConfigOf<S> {
  const withDefaults = withDevDefaults(name, env);
  const problems: string[] = [];
  const attempt = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else throw error;
      return undefined;
    }
  };
  const common = attempt(() => parseConfig(commonConfigShape, withDefaults));
  const own = attempt(() => parseConfig(shape, withDefaults));
  if (common?.NODE_ENV === 'production') {
    const required = (options.database ?? true) ? (['DATABASE_URL', 'REDIS_URL'] as const) : (['REDIS_URL'] as const);
    for (const variable of required)
      if (!common[variable])
        problems.push(`config error: ${variable} is required when NODE_ENV=production (${PRODUCTION_STORES[variable]})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...common!, ...own! };
}

export async function createRuntime<S extends ConfigShape>(
  options: RuntimeOptions<S>,
): Promise<Runtime<CommonConfig & ConfigOf<S>>> {
  const config = parseServiceConfig(options.name, options.configShape, options.env);
  if (!config.SERVICE_TOKEN_PUBLIC_KEYS)
    throw new ConfigError(['config error: SERVICE_TOKEN_PUBLIC_KEYS is required but not set']);
  if (config.SERVICE_TOKEN_PRIVATE_KEY && !config.SERVICE_TOKEN_KID)
    throw new ConfigError(['config error: SERVICE_TOKEN_KID is required when SERVICE_TOKEN_PRIVATE_KEY is set']);
  let serviceTokens: TokenVerifier;
  let serviceSigner: TokenSigner | undefined;
  try {
    serviceTokens = new TokenVerifier(parsePublicKeys(config.SERVICE_TOKEN_PUBLIC_KEYS, 'SERVICE_TOKEN_PUBLIC_KEYS'));
    if (config.SERVICE_TOKEN_PRIVATE_KEY)
      serviceSigner = new TokenSigner(config.SERVICE_TOKEN_PRIVATE_KEY, config.SERVICE_TOKEN_KID!);
  } catch (error) {
    throw new ConfigError([error instanceof Error ? error.message : String(error)]);
  }
  const logger = createLogger(options.name, config.LOG_LEVEL);
  const metrics = createMetrics(options.name);
  const store = options.store ?? createStore(config.REDIS_URL, logger, config.REDIS_KEY_PREFIX, config.REDIS_COMMAND_TIMEOUT_MS);
  const db = await openDatabase({
    service: options.name,
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolMax: config.DATABASE_POOL_MAX,
    entities: options.entities,
    migrations: options.migrations,
    logger,
    synchronize: options.synchronize,
    onStatement: (text) => metrics.dbStatements.inc({ kind: statementKind(text) }),
  });
  if (!options.synchronize) await migrate(db, options.name, logger);
  const ownsStore = !options.store;
  return {
    name: options.name,
    config,
    logger,
    metrics,
    store,
    db,
    serviceTokens,
    serviceSigner,
    clientFor(target, baseUrl, timeoutMs) {
      if (!serviceSigner)
        throw new ConfigError([`config error: SERVICE_TOKEN_PRIVATE_KEY is required for ${options.name} to call ${target}`]);
      return new ServiceClient({
        caller: options.name,
        target,
        baseUrl,
        signer: serviceSigner,
        tokenTtlSeconds: config.SERVICE_TOKEN_TTL_SECONDS,
        timeoutMs,
      });
    },
    async close() {
      await db.close();
      if (ownsStore) await store.close();
    },
  };
}
