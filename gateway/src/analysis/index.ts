/**
 * The operation analyzer: everything the gateway decides about an operation before running it
 * (limits, sign-in attempts, cache policy, the fields a response walk needs), from one linear
 * pass over the parsed document, remembered per document. `warmOperationAnalyses` analyses
 * known operations (trusted documents) at start-up.
 */
export {
  analyzeOperation,
  queryHashOf,
  warmOperationAnalyses,
  type AnalysisRequest,
  type KnownOperation,
  type WarmedOperation,
} from './operation-analyzer';
export { SIGN_IN_FIELDS, type CollectedFields, type OperationAnalysis } from './operation-analysis';
