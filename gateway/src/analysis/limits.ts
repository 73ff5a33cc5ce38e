import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxTokens: number;
  maxCost: number;
}

export function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'OPERATION_TOO_COMPLEX', http: { status: 400 } } });
}

/** Counts lexical tokens without building an AST, so oversized documents are refused cheaply. */
export function countTokens(query: string, stopAfter: number): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      count += 1;
      if (count > stopAfter) break;
    }
  } catch {
    // a lexing error is the parser's to report (GRAPHQL_PARSE_FAILED)
  }
  return count;
}

/** What the limits look at (an OperationAnalysis has them all). */
export interface OperationMeasure {
  depth: number;
  aliases: number;
  rootFields: number;
  cost: number;
}

export function checkMeasure(measure: OperationMeasure, limits: OperationLimits): void {
  if (measure.depth > limits.maxDepth)
    throw tooComplex(`Query depth ${measure.depth} exceeds the depth limit of ${limits.maxDepth}`);
  if (measure.aliases > limits.maxAliases)
    throw tooComplex(`Query uses ${measure.aliases} aliases; the alias limit is ${limits.maxAliases}`);
  if (measure.rootFields > limits.maxRootFields)
    throw tooComplex(
      `Operation selects ${measure.rootFields} root fields; the root field limit is ${limits.maxRootFields}`,
    );
  if (measure.cost > limits.maxCost)
    throw tooComplex(`Query cost ${measure.cost} exceeds the cost limit of ${limits.maxCost}`);
}

export function unresolvedOperation(operationName: string | undefined): GraphQLError {
  const message = operationName
    ? `Unknown operation named "${operationName}"`
    : 'The document holds several operations: name the one to run in operationName';
  return new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } });
}

