import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  Lexer,
  Source,
  TokenKind,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxTokens: number;
  maxCost: number;
}

/**
 * Cost model (documented in the README): every field costs 1 plus its selection. A field
 * with a `first` argument multiplies its selection by `first` (default 20); any other list
 * field multiplies by 10, except a connection's `edges`/`nodes`, whose size `first` already
 * counts. Introspection is measured like everything else.
 */
export const DEFAULT_FIRST = 20;
export const DEFAULT_LIST_SIZE = 10;
const CONNECTION_LISTS = new Set(['edges', 'nodes']);

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

export interface OperationMeasure {
  depth: number;
  aliases: number;
  rootFields: number;
  cost: number;
}

export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): OperationMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  let aliases = 0;
  let maxDepth = 0;

  const argumentNumber = (value: ValueNode | undefined): number | undefined => {
    if (!value) return undefined;
    if (value.kind === Kind.INT) return Number(value.value);
    if (value.kind === Kind.VARIABLE) {
      const v = variables[value.name.value];
      return typeof v === 'number' ? v : undefined;
    }
    return undefined;
  };

  const fieldOf = (
    parent: GraphQLOutputType | undefined,
    name: string,
  ): GraphQLField<unknown, unknown> | undefined => {
    const named = parent && getNamedType(parent);
    if (named && (isObjectType(named) || isInterfaceType(named))) return named.getFields()[name];
    return undefined;
  };

  // Returns the cost of a selection set; tracks depth and aliases along the way.
  const walk = (
    selectionSet: SelectionSetNode,
    parentType: GraphQLOutputType | undefined,
    depth: number,
    visitedFragments: Set<string>,
  ): number => {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases += 1;
        const fieldDepth = depth + 1;
        if (fieldDepth > maxDepth) maxDepth = fieldDepth;
        const name = selection.name.value;
        const field = name.startsWith('__') && name !== '__typename' ? undefined : fieldOf(parentType, name);
        let childType: GraphQLOutputType | undefined = field?.type;
        if (!childType && name === '__schema') childType = schema.getType('__Schema') as GraphQLOutputType;
        if (!childType && name === '__type') childType = schema.getType('__Type') as GraphQLOutputType;
        let childCost = 0;
        if (selection.selectionSet)
          childCost = walk(selection.selectionSet, childType, fieldDepth, visitedFragments);
        const firstArgument = selection.arguments?.find((a) => a.name.value === 'first');
        const declaresFirst = field?.args.some((a) => a.name === 'first') ?? false;
        let multiplier = 1;
        if (firstArgument || declaresFirst)
          multiplier = Math.max(argumentNumber(firstArgument?.value) ?? DEFAULT_FIRST, 1);
        else if (childType && isListType(getNullableType(childType)) && !CONNECTION_LISTS.has(name))
          multiplier = DEFAULT_LIST_SIZE;
        cost += 1 + multiplier * childCost;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const typeName = selection.typeCondition?.name.value;
        const type = typeName ? (schema.getType(typeName) as GraphQLOutputType | undefined) : parentType;
        cost += walk(selection.selectionSet, type, depth, visitedFragments);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || visitedFragments.has(fragment.name.value)) continue;
        const type = schema.getType(fragment.typeCondition.name.value) as GraphQLOutputType | undefined;
        cost += walk(fragment.selectionSet, type, depth, new Set([...visitedFragments, fragment.name.value]));
      }
    }
    return cost;
  };

  const rootType =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  const cost = walk(operation.selectionSet, rootType ?? undefined, 0, new Set());
  const rootFields = countRootFields(operation.selectionSet, fragments);
  return { depth: maxDepth, aliases, rootFields, cost };
}

function countRootFields(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) count += selection.name.value === '__typename' ? 0 : 1;
    else if (selection.kind === Kind.INLINE_FRAGMENT)
      count += countRootFields(selection.selectionSet, fragments);
    else {
      const fragment = fragments.get(selection.name.value);
      if (fragment) count += countRootFields(fragment.selectionSet, fragments);
    }
  }
  return count;
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

function unresolvedOperation(operationName: string | undefined): GraphQLError {
  const message = operationName
    ? `Unknown operation named "${operationName}"`
    : 'The document holds several operations: name the one to run in operationName';
  return new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } });
}

/** Applies the limits once the operation is known (after parse and validation, before execution). */
export function operationLimitsPlugin(limits: OperationLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          // With a gateway, Apollo Server leaves operation selection to the executor, which
          // would fail with a 500; answer the contract's code here instead.
          if (!operation) throw unresolvedOperation(request.operationName);
          checkMeasure(measureOperation(schema, document, operation, request.variables ?? {}), limits);
        },
      };
    },
  };
}
