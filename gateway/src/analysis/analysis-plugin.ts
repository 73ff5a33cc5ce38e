import type { ApolloServerPlugin, GraphQLRequest } from '@apollo/server';
import type { GatewayContext } from '../context';
import type { CacheHints } from './cache-policy';
import { checkMeasure, unresolvedOperation, type OperationLimits } from './limits';
import type { OperationAnalysis } from './operation-analysis';
import { analyzeOperation } from './operation-analyzer';

/** A check that runs once the operation is analysed and within the limits (e.g. the sign-in limiter). */
export type AnalysisCheck = (analysis: OperationAnalysis, context: GatewayContext) => Promise<void>;

const analyses = new WeakMap<GraphQLRequest, OperationAnalysis>();

/** The analysis made for this request by operationAnalysisPlugin (from didResolveOperation on). */
export function analysisOf(request: GraphQLRequest): OperationAnalysis | undefined {
  return analyses.get(request);
}

/**
 * Analyses the operation once it is parsed and validated (remembered per document, so a known
 * document costs a lookup), refuses it when over a limit, then runs the checks in order. One
 * plugin, so that nothing is counted for an operation the limits refuse.
 */
export function operationAnalysisPlugin(options: {
  limits: OperationLimits;
  hints: CacheHints;
  checks?: AnalysisCheck[];
}): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, queryHash, request, contextValue }) {
          // With a gateway, Apollo Server leaves operation selection to the executor, which
          // would fail with a 500; answer the contract's code here instead.
          const analysis = analyzeOperation(
            schema,
            { document, queryHash, operationName: request.operationName, variables: request.variables },
            options.hints,
          );
          if (!analysis) throw unresolvedOperation(request.operationName);
          checkMeasure(analysis, options.limits);
          analyses.set(request, analysis);
          for (const check of options.checks ?? []) await check(analysis, contextValue);
        },
      };
    },
  };
}
