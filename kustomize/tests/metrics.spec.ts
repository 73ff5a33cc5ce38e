import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createTestDatabase, createTestKeys, TEST_REDIS_URL, uniqueRedisPrefix, type TestDatabase } from '@shop/kit/testing';
import { startGateway } from '../../gateway/src/gateway';
import { startInventory } from '../../subgraphs/inventory/src';
import { startOrders } from '../../subgraphs/orders/src';
import { startPayments } from '../../subgraphs/payments/src';
import { startProducts } from '../../subgraphs/products/src';
import { startUsers } from '../../subgraphs/users/src';
import { KUSTOMIZE_ROOT, SERVICES, SUBGRAPHS, type ServiceName } from './render';
import { readYamlFile } from './render';

/**
 * Every metric the Grafana dashboard and the PrometheusRule alerts query is registered by a
 * service: the names are read from the dashboard JSON and the rule expressions, all six
 * services are started against real Postgres and Redis, and their /metrics are scraped.
 */

/** Metrics that come from cluster add-ons, not from the services (kube-prometheus-stack). */
const ADD_ON_METRICS: Record<string, string> = {
  kube_deployment_status_replicas_unavailable: 'kube-state-metrics',
};

const PROMQL_WORDS = new Set([
  // aggregations and keywords
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
  // functions
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'clamp_min', 'clamp_max', 'clamp',
  'abs', 'ceil', 'floor', 'round', 'sqrt', 'exp', 'ln', 'log2', 'log10', 'vector', 'scalar', 'time', 'timestamp',
  'absent', 'absent_over_time', 'avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'count_over_time',
  'quantile_over_time', 'last_over_time', 'label_replace', 'label_join', 'sort', 'sort_desc', 'changes', 'resets',
  'predict_linear', 'holt_winters', 'inf', 'nan', 'e', 'label_values',
]);

/** Metric names in a PromQL expression (Grafana variables allowed). */
export function metricNames(expression: string): string[] {
  const stripped = expression
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping labels
    .replace(/\$\{?\w+\}?/g, ' ') // Grafana variables
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' '); // numbers
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(names.filter((n) => !PROMQL_WORDS.has(n)))];
}

function queriedMetrics(): Map<string, string[]> {
  const where = new Map<string, string[]>();
  const add = (expression: string, origin: string) => {
    for (const name of metricNames(expression)) where.set(name, [...(where.get(name) ?? []), origin]);
  };
  const dashboard = JSON.parse(readFileSync(path.join(KUSTOMIZE_ROOT, 'components/monitoring/dashboard.json'), 'utf8'));
  for (const panel of dashboard.panels) for (const target of panel.targets ?? []) add(target.expr, `dashboard: ${panel.title}`);
  for (const variable of dashboard.templating.list)
    if (variable.type === 'query') add(/label_values\(([^,)]+)/.exec(variable.query.query)![1], `dashboard variable ${variable.name}`);
  const [rule] = readYamlFile('components/monitoring/prometheusrule.yaml') as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } }[];
  for (const group of rule.spec.groups) for (const r of group.rules) add(r.expr, `alert ${r.alert}`);
  return where;
}

/** `# TYPE name type` lines of a Prometheus text exposition. */
function registered(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const line of exposition.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (match) types.set(match[1], match[2]);
  }
  return types;
}

function isRegistered(name: string, types: Map<string, string>): boolean {
  if (types.has(name)) return true;
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
  return Boolean(histogram && ['histogram', 'summary'].includes(types.get(histogram[1]) ?? '') && (histogram[2] !== 'bucket' || types.get(histogram[1]) === 'histogram'));
}

describe('metric names in PromQL', () => {
  it('are told apart from functions, labels, strings and Grafana variables', () => {
    expect(
      metricNames('histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket{namespace="$namespace", route="/graphql"}[5m]))) > 1'),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(metricNames('sum(rate(a_total{x=~"b|c"}[5m])) / clamp_min(sum(rate(b_total[5m])), 1e-9) and on (ns) c > 0.1')).toEqual(['a_total', 'b_total', 'c']);
  });
});

describe('every metric the dashboard and the alerts query', () => {
  const keys = createTestKeys();
  const databases: TestDatabase[] = [];
  const running: { name: ServiceName; url: string; stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    const base = (name: ServiceName) => ({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: uniqueRedisPrefix(`k8s_metrics_${name}`),
      ...keys.envFor(name),
    });
    const withDatabase = async (name: ServiceName) => {
      const database = await createTestDatabase(`k8s_metrics_${name}`);
      databases.push(database);
      return { ...base(name), DATABASE_URL: database.url };
    };
    const starters: Record<Exclude<ServiceName, 'gateway'>, (env: NodeJS.ProcessEnv) => Promise<{ url: string; stop(): Promise<void> }>> = {
      users: startUsers,
      products: startProducts,
      inventory: startInventory,
      payments: startPayments,
      orders: startOrders,
    };
    const urls: Record<string, string> = {};
    for (const name of ['users', 'products', 'inventory', 'payments', 'orders'] as const) {
      const env = await withDatabase(name);
      if (name === 'inventory') Object.assign(env, { PRODUCTS_URL: urls.products });
      if (name === 'orders') Object.assign(env, { PRODUCTS_URL: urls.products, INVENTORY_URL: urls.inventory, PAYMENTS_URL: urls.payments });
      const service = await starters[name](env);
      urls[name] = service.url;
      running.push({ name, url: service.url, stop: () => service.stop() });
    }
    const gateway = await startGateway({
      ...base('gateway'),
      ...Object.fromEntries(SUBGRAPHS.map((s) => [`${s.toUpperCase()}_URL`, urls[s]])),
    });
    running.push({ name: 'gateway', url: gateway.url, stop: () => gateway.stop() });
  }, 180_000);

  afterAll(async () => {
    for (const service of running.reverse()) await service.stop().catch(() => undefined);
    for (const database of databases) await database.drop();
  });

  it('is registered by a running service (or comes from a named cluster add-on)', async () => {
    expect(running.map((s) => s.name).sort()).toEqual([...SERVICES].sort());
    const types = new Map<string, string>();
    for (const service of running) {
      const response = await fetch(`${service.url}/metrics`);
      expect(response.status).toBe(200);
      for (const [name, type] of registered(await response.text())) types.set(name, type);
    }
    const queried = queriedMetrics();
    expect(queried.size).toBeGreaterThan(10);
    const missing = [...queried.entries()]
      .filter(([name]) => !isRegistered(name, types) && !ADD_ON_METRICS[name])
      .map(([name, origins]) => `${name} (${[...new Set(origins)].join('; ')})`);
    expect(missing).toEqual([]);
    for (const name of Object.keys(ADD_ON_METRICS)) {
      expect(queried.has(name)).toBe(true); // no stale exemption
      expect(types.has(name)).toBe(false);
    }
  });
});
