import { z } from 'zod';

/**
 * Configuration is read once, from the environment, and validated before anything starts.
 * A bad value stops the process with one line per offending variable, naming it.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export const NodeEnv = z.enum(['development', 'test', 'production']);

/** A boolean flag written the way people write them in env files. */
export const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v)));

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
export const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol.replace(':', ''));
    } catch {
      return false;
    }
  }, `must be a URL with scheme ${protocols.join(' or ')}`);

/** Variables every service reads. Each service adds its own with `serviceConfig`. */
export const commonConfigShape = {
  /** development (dev keyring, playground), test, or production (secrets required, errors masked). */
  NODE_ENV: NodeEnv.default('development'),
  /** pino level of the JSON logs on stdout. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Address to listen on. */
  HOST: z.string().default('0.0.0.0'),
  /** Postgres connection for this service's own database. Unset: embedded PGlite under DATA_DIR (refused when NODE_ENV=production). */
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  /** Connections in this service's Postgres pool (embedded PGlite always uses one). */
  DATABASE_POOL_MAX: positiveInt(10),
  /** Unset: an in-process memory store (fine for one process, not for replicas; refused when NODE_ENV=production). */
  REDIS_URL: url(['redis', 'rediss']).optional(),
  /** Prefix for every key this deployment writes, so environments (or test runs) can share a Redis. */
  REDIS_KEY_PREFIX: z.string().default(''),
  /** How long one Redis command may take before the store counts it failed and the caller goes on without Redis (a slow Redis must not hold requests). */
  REDIS_COMMAND_TIMEOUT_MS: positiveInt(500),
  /** Where embedded PGlite data and the development keyring live. */
  DATA_DIR: z.string().default('.data'),
  /** JSON object {kid: PEM public key} of every service allowed to sign internal tokens. */
  SERVICE_TOKEN_PUBLIC_KEYS: z.string().optional(),
  /** This service's own signing key (PEM, EC P-256), if it calls others (gateway, orders, payments, inventory). */
  SERVICE_TOKEN_PRIVATE_KEY: z.string().optional(),
  /** kid of SERVICE_TOKEN_PRIVATE_KEY, "<service>.<version>" (e.g. gateway.2); rotate by adding a new kid. */
  SERVICE_TOKEN_KID: z.string().optional(),
  /** Lifetime of the internal tokens this service mints for each call. */
  SERVICE_TOKEN_TTL_SECONDS: z.coerce.number().int().min(1).max(300).default(30),
  /** On SIGTERM: how long in-flight requests may finish before connections are cut. */
  SHUTDOWN_GRACE_MS: positiveInt(10_000),
};

export type ConfigShape = Record<string, z.ZodType>;
export type ConfigOf<S extends ConfigShape> = z.infer<z.ZodObject<S>>;

/** Validates `env` against `shape`; throws ConfigError naming every bad variable. */
export function parseConfig<S extends ConfigShape>(shape: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  // Empty strings mean "not set": that is how env files and manifests usually leave a blank.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = z.object(shape).safeParse(cleaned);
  if (result.success) return result.data as ConfigOf<S>;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.join('.');
    const value = cleaned[variable];
    const message = value === undefined && issue.code === 'invalid_type' ? 'is required but not set' : issue.message;
    return `config error: ${variable} ${message}`;
  });
  throw new ConfigError(problems);
}

/** parseConfig for a process entry point: on error print one line per variable and exit(1). */
export function loadConfig<S extends ConfigShape>(shape: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  try {
    return parseConfig(shape, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.problems) process.stderr.write(`${line}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** Secrets have no defaults outside development: require them when NODE_ENV=production. */
export function requireInProduction<T extends { NODE_ENV: string }>(config: T, names: (keyof T & string)[]): void {
  if (config.NODE_ENV !== 'production') return;
  const missing = names.filter((name) => config[name] === undefined || config[name] === '');
  if (missing.length > 0)
    throw new ConfigError(missing.map((name) => `config error: ${name} is required when NODE_ENV=production`));
}
