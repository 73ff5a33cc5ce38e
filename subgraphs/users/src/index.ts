import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  createRuntime,
  loadTypeDefs,
  parsePublicKeys,
  parseServiceConfig,
  runMain,
  startSubgraph,
  TokenSigner,
  BadUserInputError,
  WorkQueue,
  type KeyValueStore,
  type RunningService,
  type Runtime,
  type ServiceContext,
} from '@shop/kit';
import type { UsersContext } from './context';
import { entities } from './entities';
import { usersConfigShape } from './env';
import { createLoaders } from './loaders';
import { createUsersMetrics } from './metrics';
import { migrations } from './migrations';
import { resolvers } from './resolvers';
import { AccountService } from './services/account.service';
import { LoginLimiter } from './services/login-limiter';
import { SessionService } from './services/session.service';

export const SERVICE_NAME = 'users';

export interface UsersService extends RunningService {
  /** For tests and embedding: the process's runtime (config, store, database). */
  runtime: Runtime;
}

/** Checks that need several variables at once (the shape checks each one alone). */
function checkKeys(config: { ACCESS_TOKEN_KID: string; ACCESS_TOKEN_PUBLIC_KEYS?: string }) {
  if (!config.ACCESS_TOKEN_PUBLIC_KEYS) return;
  const keys = parsePublicKeys(config.ACCESS_TOKEN_PUBLIC_KEYS, 'ACCESS_TOKEN_PUBLIC_KEYS');
  if (!keys.has(config.ACCESS_TOKEN_KID))
    throw new ConfigError([
      `config error: ACCESS_TOKEN_PUBLIC_KEYS has no key for ACCESS_TOKEN_KID "${config.ACCESS_TOKEN_KID}" (tokens would not verify)`,
    ]);
}

export async function startUsers(env: NodeJS.ProcessEnv = process.env, options: { store?: KeyValueStore } = {}): Promise<UsersService> {
  // Validate before opening anything, so a bad variable never leaves a pool behind.
  checkKeys(parseServiceConfig(SERVICE_NAME, usersConfigShape, env));
  const runtime = await createRuntime({ name: SERVICE_NAME, env, configShape: usersConfigShape, entities, migrations, store: options.store });
  const { config, logger, store } = runtime;
  let publisher: { stop(): Promise<void> } | undefined;
  try {
    const metrics = createUsersMetrics(runtime.metrics.registry);
    const onStoreError = (error: unknown) => {
      runtime.metrics.storeErrors.inc({ operation: 'users' });
      logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'store unavailable');
    };
    const sessions = new SessionService({
      signer: new TokenSigner(config.ACCESS_TOKEN_PRIVATE_KEY, config.ACCESS_TOKEN_KID),
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlDays: config.REFRESH_TOKEN_TTL_DAYS,
      store,
      metrics,
      logger,
      onStoreError,
      publishIntervalMs: config.REVOCATION_PUBLISH_INTERVAL_MS,
    });
    const limiter = new LoginLimiter({
      store,
      limit: config.LOGIN_FAILURE_LIMIT,
      windowSeconds: config.LOGIN_FAILURE_WINDOW_SECONDS,
      onStoreError,
    });
    const accounts = new AccountService({
      bcryptCost: config.BCRYPT_COST,
      passwordWork: new WorkQueue({
        service: SERVICE_NAME,
        concurrency: config.PASSWORD_HASH_CONCURRENCY ?? availableParallelism(),
        maxWaitMs: config.PASSWORD_HASH_MAX_WAIT_MS,
      }),
      sessions,
      limiter,
      metrics,
      logger,
    });
    await accounts.calibrated();
    const services = { accounts, sessions };
    const em = runtime.db.dataSource.manager;

    if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) await accounts.ensureAdmin({ em }, config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
    else if (config.ADMIN_EMAIL) logger.warn('ADMIN_EMAIL is set without ADMIN_PASSWORD; no admin account ensured');

    publisher = sessions.startPublisher(em);
    const stopPublisher = publisher.stop;
    const running = await startSubgraph<typeof config, UsersContext>(runtime, {
      typeDefs: loadTypeDefs(path.join(__dirname, 'schema.graphql')),
      resolvers,
      context: (base: ServiceContext): UsersContext => ({ ...base, loaders: createLoaders(base.em), services }),
      internal(api) {
        // The gateway asks when its cache has no answer or Redis is down.
        api.route<{ sessionId?: unknown }, { active: boolean }>('sessions/status', ['gateway'], async (ctx, input) => {
          if (typeof input?.sessionId !== 'string') throw new BadUserInputError('sessionId must be a string');
          return { active: await ctx.services.sessions.isActive(ctx, input.sessionId) };
        });
      },
      onStop: () => stopPublisher(),
    });
    return { ...running, stop: () => running.stop(), runtime: runtime as unknown as Runtime };
  } catch (error) {
    await publisher?.stop();
    await runtime.close();
    throw error;
  }
}

if (require.main === module) runMain(() => startUsers());
