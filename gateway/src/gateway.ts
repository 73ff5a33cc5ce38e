import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import {
  ConfigError,
  closeServer,
  createErrorFormatter,
  createHttpBase,
  createLogger,
  createMetrics,
  createStore,
  listen,
  metricsPlugin,
  plainJsonRequest,
  readJsonBody,
  runMiddlewares,
  sendGraphQLError,
  type Middleware,
  tracingPlugin,
  parsePublicKeys,
  parseServiceConfig,
  RedisStore,
  redisState,
  ServiceClient,
  TokenSigner,
  TokenVerifier,
  type KeyValueStore,
} from '@shop/kit';
import { StoreKeyValueCache } from './caching/apq-cache';
import { Authenticator } from './security/authentication';
import { CACHE_HINTS } from './analysis/cache-hints.generated';
import { gatewayConfigShape } from './env';
import { operationAnalysisPlugin } from './analysis/analysis-plugin';
import { earlyOperationLimits } from './analysis/early-limits';
import type { OperationLimits } from './analysis/limits';
import { mountPlayground } from './http/playground';
import { rateLimitedStatusPlugin, rateLimitMiddleware, signInLimit } from './security/rate-limit';
import { cachedResponseFastPath } from './caching/cached-fast-path';
import { RequestStateReader } from './caching/request-state';
import { createCacheMetrics, ResponseCache, responseCachePlugin } from './caching/response-cache';
import { createUpstream } from './upstream/subgraphs';
import type { GatewayContext } from './context';
import { bodyErrors } from './http/body-errors';
import { identify } from './http/identify';
import { operationName } from './http/operation-name';
import { tokenLimit } from './http/token-limit';
import { variablesDepth } from './http/variables-depth';
import { loadManifest } from './trusted-documents/manifest';
import {
  createTrustedDocumentMetrics,
  TrustedDocuments,
  trustedDocumentsMiddleware,
} from './trusted-documents/trusted-documents';
import { TrustedDocumentWarmUp } from './trusted-documents/warm-up';

export interface RunningGateway {
  port: number;
  url: string;
  server: Server;
  stop(): Promise<void>;
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

/** Bumped when the stored shape of a response-cache entry changes. */
const RESPONSE_CACHE_FORMAT = 'v2';
/**
 * How long a replica serves a hit it confirmed against Redis from memory: local invalidations
 * clear it at once; other replicas' writes show within it (the contract allows one second).
 */
const RESPONSE_CACHE_LOCAL_TTL_MS = 500;

export function loadGatewayConfig(env: NodeJS.ProcessEnv) {
  const config = parseServiceConfig('gateway', gatewayConfigShape, env, { database: false });
  const production = config.NODE_ENV === 'production';
  for (const name of ['SERVICE_TOKEN_PRIVATE_KEY', 'SERVICE_TOKEN_KID', 'SERVICE_TOKEN_PUBLIC_KEYS'] as const)
    if (!config[name]) throw new ConfigError([`config error: ${name} is required but not set`]);
  return {
    ...config,
    playground: config.PLAYGROUND_ENABLED ?? !production,
    introspection: config.INTROSPECTION_ENABLED ?? !production,
    responseCache: config.RESPONSE_CACHE_ENABLED ?? true,
    trustedDocumentsMode: config.TRUSTED_DOCUMENTS_MODE ?? (production ? 'enforce' : 'off'),
  };
}

/** The public entry point: auth, limits, rate limits and persisted queries around Apollo Gateway. */
export async function startGateway(
  env: NodeJS.ProcessEnv = process.env,
  options: { store?: KeyValueStore } = {},
): Promise<RunningGateway> {
  const config = loadGatewayConfig(env);
  const production = config.NODE_ENV === 'production';
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const metrics = createMetrics('gateway');
  const store = options.store ?? createStore(config.REDIS_URL, logger, config.REDIS_KEY_PREFIX, config.REDIS_COMMAND_TIMEOUT_MS);
  let accessTokens: TokenVerifier;
  let signer: TokenSigner;
  try {
    accessTokens = new TokenVerifier(
      parsePublicKeys(config.ACCESS_TOKEN_PUBLIC_KEYS, 'ACCESS_TOKEN_PUBLIC_KEYS'),
    );
    signer = new TokenSigner(config.SERVICE_TOKEN_PRIVATE_KEY!, config.SERVICE_TOKEN_KID!);
  } catch (error) {
    throw new ConfigError([error instanceof Error ? error.message : String(error)]);
  }
  let supergraphSdl: string;
  try {
    supergraphSdl = readFileSync(config.SUPERGRAPH_PATH, 'utf8');
  } catch {
    throw new ConfigError([
      `config error: SUPERGRAPH_PATH ${config.SUPERGRAPH_PATH} cannot be read (run npm run compose)`,
    ]);
  }

  let trustedDocuments: TrustedDocuments;
  try {
    trustedDocuments = new TrustedDocuments(loadManifest(config.TRUSTED_DOCUMENTS_PATH));
  } catch (error) {
    throw new ConfigError([
      `config error: TRUSTED_DOCUMENTS_PATH: ${error instanceof Error ? error.message : String(error)} (run npm run compose)`,
    ]);
  }

  const upstream = createUpstream({ config, supergraphSdl, signer, logger, registry: metrics.registry });
  const limits: OperationLimits = {
    maxDepth: config.MAX_DEPTH,
    maxAliases: config.MAX_ALIASES,
    maxRootFields: config.MAX_ROOT_FIELDS,
    maxTokens: config.MAX_TOKENS,
    maxCost: config.MAX_COST,
  };
  // Trusted operations are parsed, validated, analysed and planned before clients send them.
  const warmUp = new TrustedDocumentWarmUp({
    operations: trustedDocuments.operations,
    enabled: config.trustedDocumentsMode !== 'off',
    introspection: config.introspection,
    limits,
    logger,
    registry: metrics.registry,
  });
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger,
    queryPlannerConfig: { cache: warmUp.queryPlanStore },
    // Apollo's own spans (gateway.request, .plan, .execute, one gateway.fetch per subgraph fetch)
    // when tracing is on: operation name and type only, never the document or its variables.
    telemetry: { includeDocument: false, recordExceptions: false },
    buildService: upstream.buildService,
  });

  const authenticator = new Authenticator({
    verifier: accessTokens,
    store,
    users: new ServiceClient({
      caller: 'gateway',
      target: 'users',
      baseUrl: upstream.usersBaseUrl,
      signer,
      tokenTtlSeconds: config.SERVICE_TOKEN_TTL_SECONDS,
      timeoutMs: upstream.usersTimeoutMs,
    }),
    logger,
    metrics,
  });
  const rateLimits = {
    windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
    max: config.RATE_LIMIT_MAX,
    authMax: config.AUTH_RATE_LIMIT_MAX,
  };

  const cacheMetrics = createCacheMetrics(metrics.registry);
  // A request's rate-limit count and session state in one round trip (with Redis only).
  const requestState =
    store instanceof RedisStore ? new RequestStateReader(store.connection({ enableAutoPipelining: true })) : undefined;
  // The response cache needs Redis (shared by every replica); without it the gateway serves uncached.
  const responseCache =
    config.responseCache && store instanceof RedisStore && requestState
      ? new ResponseCache(store.client, {
          // A new schema, new operation limits (a hit implies the document passed them) or a new
          // entry format never read an old entry.
          namespace: createHash('sha256')
            .update(`${RESPONSE_CACHE_FORMAT}\n${JSON.stringify(limits)}\n${supergraphSdl}`)
            .digest('hex')
            .slice(0, 12),
          maxTtlSeconds: config.RESPONSE_CACHE_MAX_TTL_SECONDS,
          localTtlMs: RESPONSE_CACHE_LOCAL_TTL_MS,
          logger,
          metrics: cacheMetrics,
          onStoreError: (operation) => metrics.storeErrors.inc({ operation }),
          guard: (command) => store.guarded(command),
          requestState,
        })
      : undefined;

  let loaded = false;
  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema: schema, coreSupergraphSdl }) => {
    apiSchema = schema;
    void warmUp.schemaLoaded(schema, coreSupergraphSdl);
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: !production,
    formatError: createErrorFormatter({ production, logger }),
    persistedQueries: { cache: new StoreKeyValueCache(store, 'apq:', metrics), ttl: 24 * 3600 },
    documentStore: warmUp.documentStore,
    allowBatchedHttpRequests: false,
    // Shutdown is ours (runMain): Apollo's own signal handlers would keep the process alive.
    stopOnTerminationSignals: false,
    // A GET (a trusted document by id, cacheable by a CDN) must carry a header that forces a
    // CORS preflight; clients that name themselves (apollographql-client-name) already do.
    csrfPrevention: { requestHeaders: ['x-apollo-operation-name', 'apollo-require-preflight', 'apollographql-client-name'] },
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // Policies come from the subgraphs' cache-control headers; our plugin writes the header.
      ApolloServerPluginCacheControl({ calculateHttpHeaders: false }),
      metricsPlugin(metrics),
      tracingPlugin(),
      operationAnalysisPlugin({
        limits,
        hints: CACHE_HINTS,
        checks: [signInLimit(store, metrics, rateLimits)],
      }),
      rateLimitedStatusPlugin(),
      responseCachePlugin(responseCache, cacheMetrics),
    ],
  });
  await apollo.start();
  loaded = true;

  const base = createHttpBase({
    logger,
    metrics,
    // Redis is not required: the gateway serves without its caches.
    readiness: { supergraph: async () => loaded, trustedDocuments: async () => warmUp.ready },
    dependencies: { redis: () => redisState(store) },
  });
  const { app } = base;
  if (config.TRUSTED_PROXIES)
    app.set(
      'trust proxy',
      config.TRUSTED_PROXIES.split(',').map((s) => s.trim()),
    );
  if (config.playground) mountPlayground(app, '/graphql', () => apiSchema);

  // Everything a GraphQL request goes through after its body is read, in order.
  const pipeline: Middleware[] = [
    variablesDepth(),
    trustedDocumentsMiddleware({
      mode: config.trustedDocumentsMode,
      documents: trustedDocuments,
      metrics: createTrustedDocumentMetrics(metrics.registry),
      logger,
      introspection: config.introspection,
      maxTokens: limits.maxTokens,
    }),
    ...(requestState
      ? [
          cachedResponseFastPath({
            cache: responseCache,
            requestState,
            authenticator,
            limits: rateLimits,
            cacheMetrics,
            metrics,
            documentHash: (query) => trustedDocuments.hashOf(query),
          }),
        ]
      : []),
    identify(authenticator, logger),
    rateLimitMiddleware(store, metrics, rateLimits),
    tokenLimit(limits.maxTokens),
    earlyOperationLimits({ schema: () => apiSchema, limits, hints: CACHE_HINTS }),
    operationName(),
    expressMiddleware(apollo, {
      context: async ({ req }) =>
        req.prefetchedLookup ? { ...req.gatewayContext!, prefetched: req.prefetchedLookup } : req.gatewayContext!,
    }) as Middleware,
  ];
  // A POST of plain JSON (every client request in practice) runs the pipeline straight from
  // node:http: the body read here, then the same middlewares in the same order, without
  // express's router and body-parser (a cache hit never enters express at all). GET and other
  // bodies take the express route, which answers them as before.
  base.direct('POST', '/graphql', (req, res, fallback) => {
    if (!plainJsonRequest(req)) return fallback();
    const failed = (error: unknown) => {
      logger.error({ err: error }, 'graphql request failed');
      if (res.headersSent) res.destroy();
      else sendGraphQLError(res, 500, 'INTERNAL_SERVER_ERROR', `Internal server error (request id ${req.requestId})`);
    };
    readJsonBody(req, res, config.BODY_LIMIT_BYTES)
      .then((read) => {
        if (!read) return;
        (req as express.Request).body = read.value;
        runMiddlewares(app, req, res, pipeline, failed);
      })
      .catch(failed);
  });
  app.use('/graphql', express.json({ limit: config.BODY_LIMIT_BYTES }), bodyErrors(config.BODY_LIMIT_BYTES), ...pipeline);

  const { server, port } = await listen(base.handler, config.PORT, config.HOST);
  logger.info(
    {
      port,
      playground: config.playground,
      introspection: config.introspection,
      trustedDocuments: config.trustedDocumentsMode,
    },
    'gateway listening',
  );
  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    stop() {
      stopping ??= (async () => {
        base.markDraining();
        await closeServer(server, config.SHUTDOWN_GRACE_MS);
        await apollo.stop();
        upstream.stop();
        requestState?.close();
        if (!options.store) await store.close();
        logger.info('gateway stopped');
      })();
      return stopping;
    },
  };
}
