import { createHash } from 'node:crypto';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type QueryPlan, type QueryPlanCache } from '@apollo/query-planner';
import {
  InMemoryLRUCache,
  type KeyValueCache,
  type KeyValueCacheSetOptions,
} from '@apollo/utils.keyvaluecache';
import { parse, printSchema, validate, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '@shop/kit';
import { checkMeasure, type OperationLimits } from '../analysis/limits';
import { analyzeOperation } from '../analysis/operation-analyzer';
import type { ManifestOperation } from './manifest';

/**
 * Apollo's cache interface with pinned entries on top of an LRU: the trusted operations'
 * prepared documents and plans are never evicted by a flood of other documents. A miss is
 * reported: it means the work is being done while a client waits.
 */
class PinnedCache<V extends object> implements KeyValueCache<V> {
  private pinned = new Map<string, V>();
  constructor(
    private readonly lru: InMemoryLRUCache<V>,
    private readonly onMiss: () => void,
  ) {}
  async get(key: string): Promise<V | undefined> {
    const value = this.pinned.get(key) ?? (await this.lru.get(key));
    if (value === undefined) this.onMiss();
    return value;
  }
  async set(key: string, value: V, options?: KeyValueCacheSetOptions): Promise<void> {
    await this.lru.set(key, value, options);
  }
  async delete(key: string): Promise<boolean | void> {
    this.pinned.delete(key);
    return this.lru.delete(key);
  }
  /** The gateway clears its plans when the supergraph changes; the warm-up pins the new ones. */
  clear() {
    this.pinned = new Map();
    this.lru.clear();
  }
  pin(entries: Map<string, V>) {
    this.pinned = entries;
  }
}

export interface PreparationMetrics {
  preparations: Counter<'stage'>;
}

function sha256(...parts: string[]) {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);
function readsIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (INTROSPECTION_FIELDS.has(node.name.value)) found = true;
    },
  });
  return found;
}

/**
 * Prepares every trusted operation before clients send it (log and enforce modes): parsed and
 * validated against the schema the gateway serves (Apollo's document store), analysed (limits,
 * cache policy, sign-in count: the operation analyzer's memo) and planned (the gateway's query
 * plan store), so its first request does no more work than its thousandth. A new supergraph
 * prepares them again. /ready waits for the first preparation.
 *
 * The keys are Apollo's: the document store is keyed by `<sha256(printed API schema)>:<query
 * hash>` (Apollo Server with a provided store), the plan store by the query hash, or
 * sha256(query hash + operation name) when the request names its operation (@apollo/gateway).
 * gateway_operation_preparations_total counts the parses and plans done while serving, so a
 * change of those keys shows there (and fails the warm-up test).
 */
export class TrustedDocumentWarmUp {
  readonly documentStore: PinnedCache<DocumentNode>;
  readonly queryPlanStore: QueryPlanCache;
  private readonly planStore: PinnedCache<QueryPlan>;
  private readonly metrics: PreparationMetrics;
  private generation = 0;
  /** True once the operations are prepared for the first schema (or when there is nothing to prepare). */
  ready: boolean;

  constructor(
    private readonly options: {
      operations: readonly ManifestOperation[];
      /** False in off mode: nothing is prepared ahead (development). */
      enabled: boolean;
      introspection: boolean;
      limits: OperationLimits;
      logger: Logger;
      registry: Registry;
    },
  ) {
    this.ready = !options.enabled;
    this.metrics = {
      preparations: new Counter({
        name: 'gateway_operation_preparations_total',
        help: 'Documents parsed and validated (stage=parse) and query plans built (stage=plan) while serving a request; trusted documents are prepared at start-up in log and enforce modes',
        labelNames: ['stage'],
        registers: [options.registry],
      }),
    };
    // Apollo's own defaults: an LRU of about 30 MiB each.
    this.documentStore = new PinnedCache(new InMemoryLRUCache<DocumentNode>(), () =>
      this.metrics.preparations.inc({ stage: 'parse' }),
    );
    this.planStore = new PinnedCache(
      new InMemoryLRUCache<QueryPlan>({
        maxSize: 30 * 2 ** 20,
        sizeCalculation: (plan) => Buffer.byteLength(JSON.stringify(plan), 'utf8'),
      }),
      () => this.metrics.preparations.inc({ stage: 'plan' }),
    );
    this.queryPlanStore = this.planStore;
  }

  /**
   * Called for every schema the gateway loads (onSchemaLoadOrUpdate). Runs in the background,
   * yielding between operations so health checks and requests are served meanwhile; a newer
   * schema supersedes a preparation still running for an older one.
   */
  schemaLoaded(schema: GraphQLSchema, supergraphSdl: string): Promise<void> {
    if (!this.options.enabled) return Promise.resolve();
    const generation = (this.generation += 1);
    return this.prepare(schema, supergraphSdl, generation).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'trusted documents could not be prepared');
    });
  }

  private async prepare(schema: GraphQLSchema, supergraphSdl: string, generation: number) {
    const { logger, operations, limits } = this.options;
    const started = process.hrtime.bigint();
    const prefix = `${sha256(printSchema(schema))}:`;
    const supergraph = Supergraph.build(supergraphSdl);
    const planner = new QueryPlanner(supergraph);
    const plannerApi = supergraph.apiSchema();
    const documents = new Map<string, DocumentNode>();
    const plans = new Map<string, QueryPlan>();
    const problems: { name: string; id: string; problem: string }[] = [];
    for (const op of operations) {
      await new Promise((resolve) => setImmediate(resolve));
      if (generation !== this.generation) return;
      try {
        const document = parse(op.body);
        const errors = validate(schema, document);
        if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('; '));
        // Apollo refuses __schema/__type where introspection is off: never prepare around that rule.
        if (!this.options.introspection && readsIntrospection(document))
          throw new Error('introspection is disabled');
        for (const operationName of [op.name, null]) {
          const analysis = analyzeOperation(schema, { document, queryHash: op.id, operationName });
          if (!analysis) throw new Error(`the document holds no operation named ${op.name}`);
          // Measured without variables: a request's own `first` values are measured when it comes.
          checkMeasure(analysis, limits);
        }
        const plan = planner.buildQueryPlan(
          operationFromDocument(plannerApi, document, { operationName: op.name }),
          {
            recursiveSelectionsLimitDisabled:
              process.env.APOLLO_DISABLE_SECURITY_RECURSIVE_SELECTIONS_CHECK === 'true',
            nonLocalSelectionsLimitDisabled:
              process.env.APOLLO_DISABLE_SECURITY_NON_LOCAL_SELECTIONS_CHECK === 'true',
          },
        );
        documents.set(prefix + op.id, document);
        plans.set(op.id, plan);
        plans.set(sha256(op.id, op.name), plan);
      } catch (error) {
        problems.push({
          name: op.name,
          id: op.id,
          problem: error instanceof Error ? error.message : String(error),
        });
      }
    }
    if (generation !== this.generation) return;
    this.documentStore.pin(documents);
    this.planStore.pin(plans);
    this.ready = true;
    // A trusted operation the schema no longer accepts fails for its clients: say so loudly.
    for (const { name, id, problem } of problems)
      logger.error({ operation: name, id, problem }, 'trusted operation cannot run against this supergraph');
    logger.info(
      {
        operations: operations.length - problems.length,
        failed: problems.length,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      },
      'trusted documents prepared',
    );
  }
}
