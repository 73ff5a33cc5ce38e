import type { NextFunction, Request, Response } from 'express';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '@shop/kit';
import { sha256Hex, type ManifestOperation, type PersistedQueryManifest } from './manifest';

/**
 * off: anything goes (development; the playground works). log: everything runs, operations
 * not in the manifest are counted and logged. enforce: only the manifest's operations run.
 * Ids from the manifest are accepted in every mode.
 */
export const TRUSTED_DOCUMENTS_MODES = ['off', 'log', 'enforce'] as const;
export type TrustedDocumentsMode = (typeof TRUSTED_DOCUMENTS_MODES)[number];

/** How a request relates to the manifest (the metric's `result` label). */
type Result = 'trusted' | 'not_in_list' | 'unknown_id';

export interface TrustedDocumentMetrics {
  requests: Counter<'client_name' | 'client_version' | 'result'>;
}

export function createTrustedDocumentMetrics(registry: Registry): TrustedDocumentMetrics {
  return {
    requests: new Counter({
      name: 'gateway_trusted_documents_requests_total',
      help: 'GraphQL requests by client (apollographql-client-name/-version headers) and trusted-documents result: trusted (an id or a body of the manifest), not_in_list (a document the manifest does not hold), unknown_id (an id it does not know)',
      labelNames: ['client_name', 'client_version', 'result'],
      registers: [registry],
    }),
  };
}

/** The manifest indexed by id and by body text. */
export class TrustedDocuments {
  private readonly byId = new Map<string, ManifestOperation>();
  private readonly byBody = new Map<string, ManifestOperation>();
  constructor(readonly manifest: PersistedQueryManifest) {
    for (const operation of manifest.operations) {
      this.byId.set(operation.id, operation);
      this.byBody.set(operation.body, operation);
    }
  }
  get(id: string): ManifestOperation | undefined {
    return this.byId.get(id);
  }
  /**
   * The operation whose body is exactly `text`. The same answer as `get(sha256Hex(text))` (the
   * manifest's ids are checked to be the hashes of their bodies), without hashing the text:
   * every request that sends a trusted body asks this, some of them twice.
   */
  withBody(text: string): ManifestOperation | undefined {
    return this.byBody.get(text);
  }
  /** The SHA-256 (hex) of a document's text: the manifest's id for a trusted body, else computed. */
  hashOf(text: string): string {
    return this.byBody.get(text)?.id ?? sha256Hex(text);
  }
  get operations(): readonly ManifestOperation[] {
    return this.manifest.operations;
  }
}

/**
 * Header values become label values: anything a client sends must not grow the metric without
 * bound, so after `max` distinct values the rest are counted as "other".
 */
class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  of(raw: string | string[] | undefined): string {
    const value = (Array.isArray(raw) ? raw[0] : raw)?.trim().slice(0, 64) || 'unknown';
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}

/** What identification reads from a request, wherever the client put it (POST body or GET query string). */
interface Params {
  query?: unknown;
  operationName?: unknown;
  documentId?: unknown;
  extensions?: Record<string, unknown>;
}

function readParams(req: Request): Params | null {
  if (req.method === 'POST') {
    const body = req.body as unknown;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
    const { query, operationName, documentId, extensions } = body as Record<string, unknown>;
    return { query, operationName, documentId, extensions: isObject(extensions) ? extensions : undefined };
  }
  if (req.method === 'GET') {
    const search = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1 || req.url.length));
    let extensions: unknown;
    try {
      extensions = search.has('extensions') ? JSON.parse(search.get('extensions')!) : undefined;
    } catch {
      extensions = undefined; // Apollo answers the malformed parameter
    }
    return {
      query: search.get('query') ?? undefined,
      operationName: search.get('operationName') ?? undefined,
      documentId: search.get('documentId') ?? undefined,
      extensions: isObject(extensions) ? extensions : undefined,
    };
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/** The APQ hash a client sent (Apollo clients send a trusted id this way, with no query). */
function persistedQueryHash(extensions: Record<string, unknown> | undefined): string | undefined {
  const apq = extensions?.persistedQuery;
  return isObject(apq) && typeof apq.sha256Hash === 'string' ? apq.sha256Hash : undefined;
}

/**
 * Puts the trusted body where Apollo reads the query and takes the id away, so everything
 * after (response cache, APQ, Apollo) sees an ordinary request for that text: its hash is the
 * id, so cache keys are the same whichever way the operation was sent.
 */
function substitute(req: Request, body: string) {
  const strip = (extensions: Record<string, unknown> | undefined) => {
    if (!extensions) return undefined;
    const { persistedQuery: _apq, ...others } = extensions;
    return Object.keys(others).length > 0 ? others : undefined;
  };
  if (req.method === 'POST') {
    const { documentId: _id, extensions, ...rest } = req.body as Record<string, unknown>;
    const remaining = strip(isObject(extensions) ? extensions : undefined);
    req.body = { ...rest, query: body, ...(remaining ? { extensions: remaining } : {}) };
    return;
  }
  const question = req.url.indexOf('?');
  const search = new URLSearchParams(req.url.slice(question + 1));
  search.delete('documentId');
  search.set('query', body);
  const extensions = search.get('extensions');
  let parsed: unknown;
  try {
    parsed = extensions === null ? undefined : JSON.parse(extensions);
  } catch {
    parsed = undefined; // left as sent: Apollo answers the malformed parameter
  }
  if (isObject(parsed)) {
    const remaining = strip(parsed);
    if (remaining) search.set('extensions', JSON.stringify(remaining));
    else search.delete('extensions');
  }
  req.url = `${req.url.slice(0, question)}?${search.toString()}`;
}

/** graphql-over-http persisted documents send `sha256:<hex>`; a bare hex is accepted too (Hive, Relay). */
function idOf(documentId: string): string {
  return documentId.startsWith('sha256:') ? documentId.slice('sha256:'.length) : documentId;
}

/** True when the operation to run only reads the schema (__schema, __type, __typename). */
function isIntrospection(query: string, operationName: unknown, maxTokens: number): boolean {
  try {
    const operations = parse(query, { maxTokens }).definitions.filter(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    );
    const operation =
      typeof operationName === 'string'
        ? operations.find((o) => o.name?.value === operationName)
        : operations.length === 1
          ? operations[0]
          : undefined;
    return (
      !!operation &&
      operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'))
    );
  } catch {
    return false;
  }
}

function refuse(res: Response, status: number, code: string, message: string) {
  // A refusal must never be cached by a CDN: a client ahead of this manifest retries later.
  res.setHeader('cache-control', 'private, no-cache, must-revalidate');
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/**
 * Identifies the operation of a request against the trusted-documents manifest before
 * anything else reads it (docs/trusted-documents.md). An id (`documentId`, or an APQ
 * `sha256Hash` without a query) is replaced by its body; a body is hashed (never parsed,
 * except to recognise introspection where that is enabled). In enforce mode a document the
 * manifest does not hold is refused here, so it never reaches the limits, the planner or a
 * subgraph.
 */
export function trustedDocumentsMiddleware(deps: {
  mode: TrustedDocumentsMode;
  documents: TrustedDocuments;
  metrics: TrustedDocumentMetrics;
  logger: Logger;
  /** Introspection follows its own setting: allowed in enforce mode when enabled. */
  introspection: boolean;
  maxTokens: number;
}) {
  const { mode, documents, metrics, logger } = deps;
  const clientNames = new BoundedLabel(50);
  const clientVersions = new BoundedLabel(200);
  // One log line per operation and client per replica: the metric counts every request.
  const logged = new Set<string>();

  return (req: Request, res: Response, next: NextFunction) => {
    const params = readParams(req);
    if (!params) return next();
    const client = {
      name: clientNames.of(req.headers['apollographql-client-name']),
      version: clientVersions.of(req.headers['apollographql-client-version']),
    };
    const count = (result: Result) =>
      metrics.requests.inc({ client_name: client.name, client_version: client.version, result });
    const untrusted = (result: Result, hash: string) => {
      count(result);
      if (mode !== 'log') return;
      const key = `${hash} ${client.name} ${client.version}`;
      if (logged.has(key)) return;
      if (logged.size >= 10_000) logged.clear();
      logged.add(key);
      logger.warn(
        { hash, result, clientName: client.name, clientVersion: client.version },
        'operation not in the trusted-documents manifest',
      );
    };

    if (params.documentId !== undefined) {
      if (params.query !== undefined) {
        refuse(res, 400, 'BAD_REQUEST', 'Send a documentId or a query, not both');
        return;
      }
      const id = typeof params.documentId === 'string' ? idOf(params.documentId) : '';
      const operation = documents.get(id);
      if (!operation) {
        count('unknown_id');
        refuse(
          res,
          200,
          'PERSISTED_QUERY_NOT_FOUND',
          `No trusted document has the id ${String(params.documentId)}`,
        );
        return;
      }
      count('trusted');
      substitute(req, operation.body);
      return next();
    }

    const hash = persistedQueryHash(params.extensions);
    if (params.query === undefined && hash !== undefined) {
      const operation = documents.get(hash);
      if (operation) {
        count('trusted');
        substitute(req, operation.body);
        return next();
      }
      if (mode === 'off') return next(); // an automatic persisted query, Apollo's to resolve
      untrusted('unknown_id', hash);
      // APQ cannot register new documents in enforce mode, so an unknown hash is final there.
      if (mode === 'enforce') {
        refuse(res, 200, 'PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');
        return;
      }
      return next();
    }

    if (typeof params.query !== 'string' || mode === 'off') return next();
    // The body itself decides, never the id sent with it: a tampered body under a trusted id is refused.
    if (documents.withBody(params.query)) {
      count('trusted');
      return next();
    }
    const bodyHash = sha256Hex(params.query);
    if (
      mode === 'enforce' &&
      deps.introspection &&
      isIntrospection(params.query, params.operationName, deps.maxTokens)
    )
      return next();
    untrusted('not_in_list', bodyHash);
    if (mode === 'enforce') {
      refuse(
        res,
        403,
        'PERSISTED_QUERY_NOT_IN_LIST',
        'Only trusted operations are accepted here: this document is not in the trusted-documents manifest',
      );
      return;
    }
    next();
  };
}
