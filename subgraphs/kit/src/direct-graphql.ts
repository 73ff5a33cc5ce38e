import {
  execute,
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { findMalformedLiteral, findMalformedString } from './input-strings';
import type { ServiceMetrics } from './metrics';
import { nameSpanAfterOperation, recordOperation, recordSpanErrors } from './graphql';
import { activeSpan } from './telemetry';

/** What a request to the direct path carries, read from the body the edge already parsed. */
interface PlainRequest {
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
}

/** A document that parsed and validated, with the operation the request names. */
interface Prepared {
  document: DocumentNode;
  /** Operations by the name a request asks for ('' for a request that names none). */
  operations: Map<string, OperationDefinitionNode | null>;
}

export interface DirectAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

export interface DirectGraphQLOptions {
  schema: GraphQLSchema;
  /** The same formatter Apollo Server is given (createErrorFormatter). */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  includeStacktraceInErrorResponses: boolean;
  metrics: ServiceMetrics;
  /** How many distinct documents to keep parsed and validated (the gateway sends few). */
  maxDocuments?: number;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** Documents that did not parse or validate: remembered so Apollo answers them without our trying again. */
const REFUSED = null;

/**
 * The subgraph's hot path: a POST from the gateway, a document that parses and validates, no
 * persisted-query extension, variables free of malformed text, run with graphql-js's `execute`
 * against the subgraph schema and answered as Apollo Server would answer it (the same body,
 * `{"errors":[...],"data":...}` formatted by the same formatter, the same status and content
 * type). Apollo's request pipeline costs more than the execution of a small page: a dozen
 * plugin hooks and promises per request, content negotiation, a SHA-256 of the query.
 *
 * Anything else returns undefined *before any resolver runs*, and the caller hands the request
 * to Apollo Server, which answers it with its own errors and codes: a parse or validation
 * error, introspection, an operation it cannot pick, variables that do not coerce (execute
 * returns no `data` then: no field ran), malformed text, another `accept`, APQ, batching.
 */
export class DirectGraphQL<Ctx> {
  private readonly documents = new Map<string, Prepared | typeof REFUSED>();
  private readonly rules = [...specifiedRules, NoSchemaIntrospectionCustomRule];

  constructor(private readonly options: DirectGraphQLOptions) {}

  /** The answer, or undefined when Apollo Server must answer (nothing has run yet then). */
  async answer(body: unknown, accept: string | undefined, context: () => Ctx): Promise<DirectAnswer | undefined> {
    if (accept !== undefined && accept !== '*/*' && accept !== 'application/json') return undefined;
    const request = plainRequest(body);
    if (!request) return undefined;
    const operation = this.operationOf(request);
    if (!operation || operation.operation === 'subscription') return undefined;
    if (request.variables && findMalformedString(request.variables)) return undefined;
    let contextValue: Ctx;
    try {
      contextValue = context();
    } catch {
      return undefined; // Apollo answers a context that cannot be built in its own words
    }
    const started = process.hrtime.bigint();
    const span = activeSpan();
    const { document } = this.documents.get(request.query)!;
    const result = await execute({
      schema: this.options.schema,
      document,
      contextValue,
      variableValues: request.variables,
      operationName: request.operationName,
    });
    // No data: the operation never started (its variables did not coerce), so no resolver ran.
    if (result.data === undefined) return undefined;
    const operationName = operation.name?.value;
    nameSpanAfterOperation(span, operation.operation, operationName);
    let status = 200;
    const headers: [string, string][] = [['content-type', JSON_CONTENT_TYPE]];
    let errors: GraphQLFormattedError[] | undefined;
    if (result.errors?.length) {
      recordSpanErrors(span, result.errors);
      errors = result.errors.map((error) => this.formatError(error, (http) => {
        if (typeof http.status === 'number') status = http.status;
        if (http.headers instanceof Map) for (const [name, value] of http.headers) headers.push([name, String(value)]);
      }));
    }
    recordOperation(this.options.metrics, operationName ?? request.operationName, result.errors, started);
    // Apollo's field order (errors, data, extensions) and its trailing newline: the same bytes.
    return { status, headers, body: JSON.stringify({ errors, data: result.data, extensions: result.extensions }) + '\n' };
  }

  /** Apollo Server's error normalisation (errorNormalize.ts), then our formatter. */
  private formatError(error: GraphQLError, onHttp: (http: { status?: unknown; headers?: unknown }) => void): GraphQLFormattedError {
    const enrich = (thrown: unknown): GraphQLFormattedError => {
      const graphqlError =
        thrown instanceof GraphQLError
          ? thrown
          : new GraphQLError(thrown instanceof Error ? thrown.message : `Unexpected error value: ${String(thrown)}`, {
              originalError: thrown instanceof Error ? thrown : undefined,
            });
      const extensions: Record<string, unknown> = { ...graphqlError.extensions, code: graphqlError.extensions.code ?? 'INTERNAL_SERVER_ERROR' };
      const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
      if (http && typeof http === 'object' && (!('status' in http) || typeof http.status === 'number') && (!('headers' in http) || http.headers instanceof Map)) {
        onHttp(http);
        delete extensions.http;
      }
      if (this.options.includeStacktraceInErrorResponses) extensions.stacktrace = graphqlError.stack?.split('\n');
      return { ...graphqlError.toJSON(), extensions };
    };
    try {
      return this.options.formatError(enrich(error), error);
    } catch (formattingError) {
      if (this.options.includeStacktraceInErrorResponses) return enrich(formattingError);
      return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    }
  }

  /** The operation to run, parsing and validating the document once; null when Apollo must answer. */
  private operationOf(request: PlainRequest): OperationDefinitionNode | null {
    let prepared = this.documents.get(request.query);
    if (prepared === undefined) {
      prepared = prepare(this.options.schema, request.query, this.rules);
      if (this.documents.size >= (this.options.maxDocuments ?? 500)) this.documents.delete(this.documents.keys().next().value as string);
      this.documents.set(request.query, prepared);
    }
    if (prepared === REFUSED) return null;
    const key = request.operationName ?? '';
    let operation = prepared.operations.get(key);
    if (operation === undefined) {
      operation = getOperationAST(prepared.document, request.operationName) ?? null;
      prepared.operations.set(key, operation);
    }
    return operation;
  }
}

function prepare(schema: GraphQLSchema, query: string, rules: typeof specifiedRules): Prepared | typeof REFUSED {
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch {
    return REFUSED;
  }
  if (validate(schema, document, rules).length > 0) return REFUSED;
  // Malformed text written into the document: Apollo's malformedInputPlugin answers it.
  if (findMalformedLiteral(document)) return REFUSED;
  return { document, operations: new Map() };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** A POST body of the plain shape, or undefined for anything Apollo has an answer of its own for. */
function plainRequest(body: unknown): PlainRequest | undefined {
  if (!isRecord(body)) return undefined;
  const { query, operationName, variables, extensions } = body;
  if (typeof query !== 'string' || query === '') return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  if (variables !== undefined && variables !== null && !isRecord(variables)) return undefined;
  // Extensions (a persisted query, anything else) are Apollo's to read.
  if (extensions !== undefined && extensions !== null) return undefined;
  return { query, operationName: operationName ?? undefined, variables: variables ?? undefined };
}
