import client, { Counter, Histogram, Registry } from 'prom-client';

/** One registry per service process; names are shared so dashboards work across services. */
export interface ServiceMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  graphqlOperations: Counter<'operation' | 'outcome'>;
  graphqlDuration: Histogram<'operation'>;
  storeErrors: Counter<'operation'>;
  dbStatements: Counter<'kind'>;
}

/** The kind of a SQL statement, for db_statements_total: its first word, lower-cased (select, insert, begin, commit, ...). */
export function statementKind(text: string): string {
  const match = /^\s*([A-Za-z]+)/.exec(text);
  const word = match ? match[1].toLowerCase() : 'other';
  return ['select', 'insert', 'update', 'delete', 'with', 'begin', 'start', 'commit', 'rollback', 'savepoint', 'release'].includes(word) ? word : 'other';
}

export function createMetrics(service: string, registry = new Registry()): ServiceMetrics {
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    graphqlOperations: new Counter({
      name: 'graphql_operations_total',
      help: 'GraphQL operations by name and outcome (ok or error code)',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operation latency by operation name',
      labelNames: ['operation'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'store_errors_total',
      help: 'Failed Redis/store operations (the service went on without its cache)',
      labelNames: ['operation'],
      registers: [registry],
    }),
    dbStatements: new Counter({
      name: 'db_statements_total',
      help: 'SQL statements sent to this service\'s database (each one round trip), by kind (select, insert, begin, commit, ...)',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}
