import { ConfigError, type Logger, type TokenSigner } from '@shop/kit';
import { Kind, parse, type ConstValueNode } from 'graphql';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { SUBGRAPH_NAMES, type SubgraphName } from '../env';
import { CircuitBreaker, readinessProbe, type CircuitState } from './circuit-breaker';
import { SubgraphSource } from './subgraph-source';

/** The part of the gateway's config that says where the subgraphs are and how long to wait for them. */
export type UpstreamConfig = {
  [K in SubgraphName as `${Uppercase<K>}_URL`]?: string;
} & {
  [K in Exclude<SubgraphName, 'orders'> as `${Uppercase<K>}_TIMEOUT_MS`]?: number;
} & {
  ORDERS_TIMEOUT_MS: number;
  SUBGRAPH_TIMEOUT_MS: number;
  SERVICE_TOKEN_TTL_SECONDS: number;
  CIRCUIT_BREAKER_FAILURE_THRESHOLD: number;
  CIRCUIT_BREAKER_OPEN_MS: number;
  CIRCUIT_BREAKER_PROBE_INTERVAL_MS: number;
};

const isKnown = (name: string): name is SubgraphName => (SUBGRAPH_NAMES as readonly string[]).includes(name);

/** Each subgraph's routing URL as the supergraph composed it (`@join__graph(name:, url:)`). */
export function supergraphRoutingUrls(supergraphSdl: string): Map<string, string> {
  const urls = new Map<string, string>();
  const argument = (args: readonly { name: { value: string }; value: ConstValueNode }[] | undefined, name: string) => {
    const value = args?.find((a) => a.name.value === name)?.value;
    return value?.kind === Kind.STRING ? value.value : undefined;
  };
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
    for (const value of definition.values ?? []) {
      const graph = value.directives?.find((d) => d.name.value === 'join__graph');
      const name = argument(graph?.arguments, 'name');
      const url = argument(graph?.arguments, 'url');
      if (name && url) urls.set(name, url);
    }
  }
  return urls;
}

/**
 * Where a subgraph's GraphQL endpoint is: the supergraph's routing URL, unless <NAME>_URL is
 * set (a base URL; /graphql is appended). The supergraph is authoritative by default, so a
 * gateway given another compliant supergraph calls the hosts that supergraph names.
 */
export function subgraphUrl(config: UpstreamConfig, name: string, routingUrl: string | undefined): string | undefined {
  const override = isKnown(name) ? config[`${name.toUpperCase() as Uppercase<SubgraphName>}_URL`] : undefined;
  return override ? `${override.replace(/\/+$/, '')}/graphql` : routingUrl;
}

/** A subgraph's fetch deadline: <NAME>_TIMEOUT_MS when set (orders always has one), else SUBGRAPH_TIMEOUT_MS. */
export function subgraphTimeoutMs(config: UpstreamConfig, name: string): number {
  if (name === 'orders') return config.ORDERS_TIMEOUT_MS;
  const own = isKnown(name) ? config[`${name.toUpperCase() as Uppercase<Exclude<SubgraphName, 'orders'>>}_TIMEOUT_MS`] : undefined;
  return own ?? config.SUBGRAPH_TIMEOUT_MS;
}

/**
 * The gateway's upstream side: one SubgraphSource per subgraph of the supergraph, each with
 * its URL, deadline and circuit breaker, and their metrics. Also says where the users
 * service's internal API is (for session checks).
 */
export function createUpstream(options: {
  config: UpstreamConfig;
  supergraphSdl: string;
  signer: TokenSigner;
  logger: Logger;
  registry: Registry;
}) {
  const { config, signer, logger, registry } = options;
  const routing = supergraphRoutingUrls(options.supergraphSdl);
  const fetchDuration = new Histogram({
    name: 'gateway_subgraph_fetch_duration_seconds',
    help: 'Latency of gateway fetches to each subgraph',
    labelNames: ['subgraph', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const circuitState = new Gauge({
    name: 'gateway_subgraph_circuit_state',
    help: 'Circuit breaker state per subgraph: 0 closed, 1 half-open, 2 open',
    labelNames: ['subgraph'],
    registers: [registry],
  });
  const probes = new Counter({
    name: 'gateway_subgraph_readiness_probes_total',
    help: 'Readiness probes of subgraphs whose circuit is open, by result',
    labelNames: ['subgraph', 'result'],
    registers: [registry],
  });
  const STATE_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };
  const breakers: CircuitBreaker[] = [];
  const breakerFor = (name: string, url: string) => {
    circuitState.set({ subgraph: name }, 0);
    const probe = readinessProbe(url, config.CIRCUIT_BREAKER_PROBE_INTERVAL_MS);
    const breaker = new CircuitBreaker({
      failureThreshold: config.CIRCUIT_BREAKER_FAILURE_THRESHOLD,
      openMs: config.CIRCUIT_BREAKER_OPEN_MS,
      probeIntervalMs: config.CIRCUIT_BREAKER_PROBE_INTERVAL_MS,
      probe: async () => {
        const result = await probe();
        probes.inc({ subgraph: name, result });
        return result;
      },
      onStateChange: (state) => {
        circuitState.set({ subgraph: name }, STATE_VALUE[state]);
        (state === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger))(
          { subgraph: name, state },
          `subgraph circuit ${state}`,
        );
      },
    });
    breakers.push(breaker);
    return breaker;
  };

  const usersGraphql = subgraphUrl(config, 'users', routing.get('users'));
  if (!usersGraphql)
    throw new ConfigError([
      'config error: USERS_URL is required: the supergraph has no users subgraph, and sessions are checked there',
    ]);

  return {
    /** ApolloGateway's buildService. */
    buildService({ name, url }: { name: string; url?: string }) {
      const target = subgraphUrl(config, name, url);
      if (!target) throw new ConfigError([`config error: the supergraph gives subgraph ${name} no URL`]);
      return new SubgraphSource({
        name,
        url: target,
        signer,
        tokenTtlSeconds: config.SERVICE_TOKEN_TTL_SECONDS,
        timeoutMs: subgraphTimeoutMs(config, name),
        fetchDuration,
        breaker: breakerFor(name, target),
        logger,
      });
    },
    /** Base URL of the users service (its internal API is under /internal). */
    usersBaseUrl: usersGraphql.replace(/\/graphql\/?$/, ''),
    usersTimeoutMs: subgraphTimeoutMs(config, 'users'),
    stop() {
      for (const breaker of breakers) breaker.stop();
    },
  };
}
