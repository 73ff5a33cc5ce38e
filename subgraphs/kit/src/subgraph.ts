import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import express from 'express';
import { parse, type DocumentNode } from 'graphql';
import type { DataSource, EntityManager } from 'typeorm';
import { AppError, ErrorCode, ServiceUnavailableError, UnauthenticatedError } from './errors';
import { closeServer, createHttpBase, listen, pathOf, plainJsonRequest, readJsonBody, sendGraphQLError, sendJson } from './http';
import type { Logger } from './logger';
import { DirectGraphQL } from './direct-graphql';
import { createErrorFormatter, metricsPlugin, tracingPlugin } from './graphql';
import { findMalformedString, malformedInputError, malformedInputPlugin } from './input-strings';
import { databaseUnavailable } from './sql';
import { redisState } from './store';
import { activeSpan, recordError } from './telemetry';
import type { CommonConfig, Runtime } from './runtime';
import { bearerToken, ServiceTokenVerifier, type Identity } from './tokens';

/** What every resolver and service method receives first. */
export interface ServiceContext {
  requestId: string;
  /** The user on whose behalf the call is made (anonymous: all null). */
  identity: Identity;
  /** The platform service that sent the request: "gateway", "orders", ... */
  caller: string;
  /** The current unit of work; repositories come from here (see withTransaction). */
  em: EntityManager;
  log: Logger;
}

export interface SubgraphSpec<Ctx extends ServiceContext> {
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<Ctx>;
  /** Adds the domain's per-request parts (DataLoaders, services) to the base context. */
  context: (base: ServiceContext) => Ctx;
  /** Internal, non-GraphQL operations other services call (not part of the supergraph). */
  internal?: (api: InternalApi<Ctx>) => void;
  /** Extra readiness checks beyond the database. */
  readiness?: Record<string, () => Promise<boolean>>;
  /** Background work to stop before pools close (loops, sweepers). */
  onStop?: () => Promise<void>;
}

export interface InternalApi<Ctx> {
  /** POST /internal/<path>, accepted only from the named calling services. */
  route<I, O>(path: string, callers: string[], handler: (ctx: Ctx, input: I) => Promise<O>): void;
}

export interface RunningService {
  name: string;
  port: number;
  url: string;
  server: Server;
  /** This service's database (for seeding in embedded mode and for tests). */
  dataSource: DataSource;
  stop(): Promise<void>;
}

/** The largest GraphQL request body a subgraph reads (the gateway's own limit is lower). */
const GRAPHQL_BODY_LIMIT = 1024 * 1024;
/** The largest body an internal route reads. */
const INTERNAL_BODY_LIMIT = 256 * 1024;

export function loadTypeDefs(file: string): DocumentNode {
  return parse(readFileSync(file, 'utf8'));
}

/**
 * Serves a subgraph: GraphQL on /graphql (only for requests carrying a valid service token
 * minted for this subgraph, `_entities` and `_service` included), internal routes under
 * /internal, and the shared health, readiness and metrics endpoints.
 */
export async function startSubgraph<C extends CommonConfig & { PORT: number }, Ctx extends ServiceContext>(
  runtime: Runtime<C>,
  spec: SubgraphSpec<Ctx>,
): Promise<RunningService> {
  const { name, config, logger, metrics, db } = runtime;
  const production = config.NODE_ENV === 'production';
  const base = createHttpBase({
    logger,
    metrics,
    readiness: {
      database: async () => {
        await db.dataSource.query('SELECT 1');
        return true;
      },
      ...spec.readiness,
    },
    dependencies: { redis: () => redisState(runtime.store) },
  });
  const { app } = base;

  const serviceTokens = new ServiceTokenVerifier(runtime.serviceTokens, name);
  const authenticate = (req: IncomingMessage) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new UnauthenticatedError('This service only answers requests from the platform (no service token)');
    return serviceTokens.verify(token);
  };
  const baseContext = (req: IncomingMessage, call: { caller: string; identity: Identity }): ServiceContext => ({
    requestId: req.requestId,
    identity: call.identity,
    caller: call.caller,
    em: db.dataSource.manager,
    log: logger.child({ caller: call.caller, userId: call.identity.userId ?? undefined }),
  });

  // ---- internal API
  const internal = express.Router();
  internal.use(express.json({ limit: INTERNAL_BODY_LIMIT }));
  spec.internal?.({
    route(path, callers, handler) {
      const answer = async (req: IncomingMessage, body: unknown): Promise<{ status: number; payload: unknown }> => {
        activeSpan()?.updateName(`POST /internal/${path}`);
        try {
          const call = authenticate(req);
          if (!callers.includes(call.caller))
            return internalError(403, ErrorCode.FORBIDDEN, `${call.caller} may not call ${name}/${path}`);
          const malformed = findMalformedString(body);
          if (malformed) throw malformedInputError(malformed);
          const result = await handler(spec.context(baseContext(req, call)), body as never);
          return { status: 200, payload: { data: result ?? null } };
        } catch (thrown) {
          let error = thrown;
          // A database outage is this service being unavailable (retryable), not a defect of the call.
          if (databaseUnavailable(thrown)) {
            logger.warn({ err: thrown, path }, 'database unavailable');
            error = new ServiceUnavailableError(name, String(thrown));
          }
          if (error instanceof AppError)
            return internalError(error.httpStatus === 400 ? 422 : error.httpStatus, error.code, error.message, error.extensions);
          logger.error({ err: error, path }, 'internal call failed');
          return internalError(500, ErrorCode.INTERNAL_SERVER_ERROR, production ? 'internal error' : String(error));
        }
      };
      internal.post(`/${path}`, async (req, res) => {
        const { status, payload } = await answer(req, req.body);
        res.status(status).json(payload);
      });
      // The hot path, as for GraphQL: a plain JSON POST (every call orders makes during a
      // checkout) is served from node:http, without express's router and body-parser.
      base.direct('POST', `/internal/${path}`, (req, res, fallback) => {
        if (!plainJsonRequest(req)) return fallback();
        void (async () => {
          try {
            const read = await readJsonBody(req, res, INTERNAL_BODY_LIMIT);
            if (!read) return;
            const { status, payload } = await answer(req, read.value);
            sendJson(res, status, payload);
          } catch (error) {
            logger.error({ err: error, path }, 'internal call failed');
            if (!res.headersSent) sendJson(res, 500, internalError(500, ErrorCode.INTERNAL_SERVER_ERROR, 'internal error').payload);
            else res.destroy();
          }
        })();
      });
    },
  });
  app.use('/internal', internal);

  // ---- GraphQL
  const schema = buildSubgraphSchema({ typeDefs: spec.typeDefs, resolvers: spec.resolvers as GraphQLResolverMap<unknown> });
  const formatError = createErrorFormatter({ production, logger, service: name });
  const direct = new DirectGraphQL<Ctx>({ schema, formatError, includeStacktraceInErrorResponses: !production, metrics });
  const apollo = new ApolloServer<Ctx>({
    schema,
    includeStacktraceInErrorResponses: !production,
    formatError,
    // Shutdown is ours (runMain): Apollo's own signal handlers would keep the process alive.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      // The gateway computes every cache policy itself from the subgraphs' @cacheControl hints
      // (docs/caching.md); Apollo's plugin would wrap every resolver of every request to compute
      // a cache-control header nobody reads.
      ApolloServerPluginCacheControlDisabled(),
      metricsPlugin(metrics) as ApolloServerPlugin<Ctx>,
      malformedInputPlugin() as ApolloServerPlugin<Ctx>,
      tracingPlugin() as ApolloServerPlugin<Ctx>,
    ],
  });
  await apollo.start();
  // The hot path: POST /graphql with a JSON body is served straight from node:http (no express
  // router, no body-parser); anything else sent to /graphql (GET, another content type, a
  // compressed body) takes the express route below, which answers as before.
  base.direct('POST', '/graphql', (req, res, fallback) => {
    if (!plainJsonRequest(req)) return fallback();
    void serveGraphQL(req, res);
  });
  const serveGraphQL = async (req: IncomingMessage, res: ServerResponse) => {
    let call: { caller: string; identity: Identity };
    try {
      call = authenticate(req);
    } catch (error) {
      req.resume();
      sendGraphQLError(res, 401, ErrorCode.UNAUTHENTICATED, error instanceof Error ? error.message : 'Unauthenticated');
      return;
    }
    try {
      const read = await readJsonBody(req, res, GRAPHQL_BODY_LIMIT);
      if (!read) return;
      const body = read.value;
      const operationName = (body as { operationName?: unknown } | null)?.operationName;
      if (typeof operationName === 'string') req.operationName = operationName;
      const answer = await direct.answer(body, req.headers.accept, () => spec.context(baseContext(req, call)));
      if (answer) {
        for (const [name, value] of answer.headers) res.setHeader(name, value);
        res.statusCode = answer.status;
        res.setHeader('content-length', Buffer.byteLength(answer.body));
        res.end(answer.body);
        return;
      }
      const headers = new HeaderMap();
      for (const name in req.headers) {
        const value = req.headers[name];
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      const url = req.url ?? '/graphql';
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: 'POST', headers, search: url.slice(pathOf(url).length), body },
        context: async () => spec.context(baseContext(req, call)),
      });
      for (const [name, value] of response.headers) res.setHeader(name, value);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === 'complete') {
        res.setHeader('content-length', Buffer.byteLength(response.body.string));
        res.end(response.body.string);
        return;
      }
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    } catch (error) {
      logger.error({ err: error }, 'graphql request failed');
      if (!res.headersSent) sendGraphQLError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, production ? 'internal error' : String(error));
      else res.destroy();
    }
  };
  const graphqlHandler = expressMiddleware(apollo, {
    context: async ({ req }) => spec.context(baseContext(req, req.serviceCall!)),
  });
  app.use(
    '/graphql',
    (req, res, next) => {
      try {
        req.serviceCall = authenticate(req);
        next();
      } catch (error) {
        const message = error instanceof Error ? error.message : 'Unauthenticated';
        sendGraphQLError(res, 401, ErrorCode.UNAUTHENTICATED, message);
      }
    },
    express.json({ limit: GRAPHQL_BODY_LIMIT }),
    graphqlHandler,
  );

  const { server, port } = await listen(base.handler, config.PORT, config.HOST);
  logger.info({ port }, `${name} subgraph listening`);
  let stopping: Promise<void> | undefined;
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    dataSource: db.dataSource,
    stop() {
      stopping ??= (async () => {
        base.markDraining();
        await closeServer(server, config.SHUTDOWN_GRACE_MS);
        await spec.onStop?.();
        await apollo.stop();
        await runtime.close();
        logger.info(`${name} stopped`);
      })();
      return stopping;
    },
  };
}

declare module 'express-serve-static-core' {
  interface Request {
    serviceCall?: { caller: string; identity: Identity };
  }
}

/** An internal route's error answer: `{ error: { code, message, extensions } }`, recorded on the server span. */
function internalError(status: number, code: string, message: string, extensions: Record<string, unknown> = {}) {
  recordError(activeSpan(), undefined, code);
  const { code: _code, ...rest } = extensions;
  return { status, payload: { error: { code, message, extensions: rest } } };
}
