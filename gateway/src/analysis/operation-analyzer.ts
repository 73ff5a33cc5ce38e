import { createHash } from 'node:crypto';
import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { CACHE_HINTS } from './cache-hints.generated';
import type { CacheHints } from './cache-policy';
import {
  analyzeOperationOnce,
  findOperation,
  variableKey,
  variableReads,
  type OperationAnalysis,
  type VariableReads,
} from './operation-analysis';

export interface AnalysisRequest {
  document: DocumentNode;
  /**
   * The SHA-256 (hex) of the query text, as Apollo Server computes it (`requestContext.queryHash`):
   * when given, the memo key, so a document parsed again (or warmed at start-up) is still known.
   */
  queryHash?: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

interface DocumentEntry {
  reads: VariableReads;
  /** Per operation name ('' for the only one), per variable key. */
  analyses: Map<string, Map<string, OperationAnalysis>>;
}

/** Documents remembered per schema (least recently used go first). */
const MAX_DOCUMENTS = 5_000;
/** Variable keys remembered per operation: only @skip/@include conditions and `first` values make them differ. */
const MAX_VARIANTS = 32;

class AnalysisMemo {
  private readonly byHash = new Map<string, DocumentEntry>();
  private readonly byDocument = new WeakMap<DocumentNode, DocumentEntry>();

  /** The entry of a query hash already seen, without a document. */
  known(queryHash: string): DocumentEntry | undefined {
    return this.byHash.get(queryHash);
  }

  entry(request: AnalysisRequest): DocumentEntry {
    const { queryHash, document } = request;
    let entry = queryHash ? this.byHash.get(queryHash) : this.byDocument.get(document);
    if (entry && queryHash) {
      // Refresh its place in the LRU order.
      this.byHash.delete(queryHash);
      this.byHash.set(queryHash, entry);
    }
    if (entry) return entry;
    entry = { reads: variableReads(document), analyses: new Map() };
    if (queryHash) {
      if (this.byHash.size >= MAX_DOCUMENTS) this.byHash.delete(this.byHash.keys().next().value as string);
      this.byHash.set(queryHash, entry);
    } else this.byDocument.set(document, entry);
    return entry;
  }
}

const memos = new WeakMap<GraphQLSchema, WeakMap<CacheHints, AnalysisMemo>>();

function memoFor(schema: GraphQLSchema, hints: CacheHints): AnalysisMemo {
  let perHints = memos.get(schema);
  if (!perHints) memos.set(schema, (perHints = new WeakMap()));
  let memo = perHints.get(hints);
  if (!memo) perHints.set(hints, (memo = new AnalysisMemo()));
  return memo;
}

/**
 * The analysis of the operation a request runs (operation-analysis.ts), remembered per schema,
 * document (by query hash when given) and operation, and per variable values only where
 * @skip/@include conditions or `first` arguments read them. A remembered document costs a map
 * lookup; a new one a single linear pass. Undefined when the document names no such
 * operation (or several, and no operation name).
 */
export function analyzeOperation(
  schema: GraphQLSchema,
  request: AnalysisRequest,
  hints: CacheHints = CACHE_HINTS,
): OperationAnalysis | undefined {
  const entry = memoFor(schema, hints).entry(request);
  const name = request.operationName ?? '';
  let variants = entry.analyses.get(name);
  const variables = request.variables ?? {};
  const key = variableKey(entry.reads, variables);
  const known = variants?.get(key);
  if (known) return known;
  const operation = findOperation(request.document, request.operationName);
  if (!operation) return undefined;
  const analysis = analyzeOperationOnce(schema, hints, request.document, operation, variables);
  if (!variants) entry.analyses.set(name, (variants = new Map()));
  if (variants.size >= MAX_VARIANTS) variants.delete(variants.keys().next().value as string);
  variants.set(key, analysis);
  return analysis;
}

/**
 * The remembered analysis of a query hash for these variables, without parsing anything;
 * undefined when this document (or variant) has not been analysed yet.
 */
export function knownAnalysis(
  schema: GraphQLSchema,
  request: { queryHash: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  hints: CacheHints = CACHE_HINTS,
): OperationAnalysis | undefined {
  const entry = memoFor(schema, hints).known(request.queryHash);
  if (!entry) return undefined;
  return entry.analyses.get(request.operationName ?? '')?.get(variableKey(entry.reads, request.variables ?? {}));
}

/** Apollo Server's query hash: the memo key of a query text. */
export function queryHashOf(query: string): string {
  return createHash('sha256').update(query).digest('hex');
}

export interface KnownOperation {
  query: string;
  /** Needed when the document holds several operations; each named one can be warmed. */
  operationName?: string | null;
  /** Variables for @skip/@include or `first` when the usual request sends them (default: none). */
  variables?: Record<string, unknown>;
}

export type WarmedOperation =
  | { queryHash: string; operationName: string | null; analysis: OperationAnalysis; errors?: undefined }
  | { queryHash: string; operationName: string | null; analysis?: undefined; errors: readonly GraphQLError[] };

/**
 * Analyses operations known ahead of time (the trusted documents, at start-up) against the
 * schema the gateway serves, so their first requests find the analysis remembered. Each is
 * parsed and validated once; a document that does not parse or validate, or names no such
 * operation, comes back with its errors (and is not remembered), for the caller to refuse.
 * Call it again after a schema change (the memo is per schema).
 */
export function warmOperationAnalyses(
  schema: GraphQLSchema,
  operations: Iterable<KnownOperation>,
  hints: CacheHints = CACHE_HINTS,
): WarmedOperation[] {
  const warmed: WarmedOperation[] = [];
  for (const known of operations) {
    const queryHash = queryHashOf(known.query);
    const operationName = known.operationName ?? null;
    let document: DocumentNode;
    try {
      document = parse(known.query);
    } catch (error) {
      warmed.push({ queryHash, operationName, errors: [error as GraphQLError] });
      continue;
    }
    const errors = validate(schema, document);
    if (errors.length > 0) {
      warmed.push({ queryHash, operationName, errors });
      continue;
    }
    const analysis = analyzeOperation(
      schema,
      { document, queryHash, operationName, variables: known.variables },
      hints,
    );
    if (analysis) warmed.push({ queryHash, operationName, analysis });
    else
      warmed.push({
        queryHash,
        operationName,
        errors: [new GraphQLError(`Unknown operation named "${operationName ?? ''}" (or several operations and no name)`)],
      });
  }
  return warmed;
}
