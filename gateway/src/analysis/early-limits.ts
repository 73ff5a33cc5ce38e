import type { NextFunction, Request, Response } from 'express';
import { parse, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';
import { sendGraphQLError } from '@shop/kit';
import type { CacheHints } from './cache-policy';
import { checkMeasure, type OperationLimits } from './limits';
import { analyzeOperation, knownAnalysis, queryHashOf } from './operation-analyzer';

/**
 * Applies the operation limits before Apollo validates the document. graphql-js validation
 * runs some thirty rules over every field, so a document built to be wide (1,600 aliases
 * under the token limit) costs more to validate than to refuse: the analysis does not need a
 * valid document, so it refuses first. A document already analysed costs a map lookup (its
 * analysis is remembered by query hash, and operationAnalysisPlugin finds it there too); a
 * new one is parsed here. Anything the analysis cannot judge (no query text, a syntax error,
 * an unknown operation) is left to Apollo, which answers it.
 */
export function earlyOperationLimits(options: {
  schema: () => GraphQLSchema | undefined;
  limits: OperationLimits;
  hints: CacheHints;
}) {
  return (req: Request, res: Response, next: NextFunction) => {
    const params = (req.method === 'GET' ? req.query : req.body) as Record<string, unknown> | undefined;
    const query = params?.query;
    const schema = options.schema();
    if (typeof query !== 'string' || !schema) return next();
    const operationName = typeof params?.operationName === 'string' ? params.operationName : undefined;
    const variables =
      params?.variables && typeof params.variables === 'object' ? (params.variables as Record<string, unknown>) : {};
    const queryHash = queryHashOf(query);
    let analysis = knownAnalysis(schema, { queryHash, operationName, variables }, options.hints);
    if (!analysis) {
      let document: DocumentNode;
      try {
        document = parse(query);
      } catch {
        return next();
      }
      analysis = analyzeOperation(schema, { document, queryHash, operationName, variables }, options.hints);
    }
    if (!analysis) return next();
    try {
      checkMeasure(analysis, options.limits);
    } catch (error) {
      sendGraphQLError(res, 400, 'OPERATION_TOO_COMPLEX', (error as GraphQLError).message);
      return;
    }
    next();
  };
}
