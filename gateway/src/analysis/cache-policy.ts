import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  Kind,
  type ConstDirectiveNode,
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export interface CacheHint {
  maxAge?: number;
  scope?: 'PUBLIC' | 'PRIVATE';
  inheritMaxAge?: boolean;
}
/** The subgraphs' @cacheControl hints, merged: `types[Type]`, `fields["Type.field"]`. */
export interface CacheHints {
  types: Record<string, CacheHint>;
  fields: Record<string, CacheHint>;
}
export interface CachePolicy {
  maxAge: number;
  scope: 'PUBLIC' | 'PRIVATE';
}

function hintOf(
  directives: readonly (ConstDirectiveNode | DirectiveNode)[] | undefined,
): CacheHint | undefined {
  const directive = directives?.find((d) => d.name.value === 'cacheControl');
  if (!directive) return undefined;
  const hint: CacheHint = {};
  for (const arg of directive.arguments ?? []) {
    if (arg.name.value === 'maxAge' && arg.value.kind === Kind.INT) hint.maxAge = Number(arg.value.value);
    if (arg.name.value === 'scope' && arg.value.kind === Kind.ENUM)
      hint.scope = arg.value.value as CacheHint['scope'];
    if (arg.name.value === 'inheritMaxAge' && arg.value.kind === Kind.BOOLEAN)
      hint.inheritMaxAge = arg.value.value;
  }
  return hint;
}

/** Two subgraphs hinting the same type or field: the shorter life and the narrower scope win. */
function merge(a: CacheHint | undefined, b: CacheHint): CacheHint {
  if (!a) return b;
  const maxAges = [a.maxAge, b.maxAge].filter((m): m is number => m !== undefined);
  return {
    ...(maxAges.length ? { maxAge: Math.min(...maxAges) } : {}),
    ...(a.scope === 'PRIVATE' || b.scope === 'PRIVATE'
      ? { scope: 'PRIVATE' }
      : a.scope || b.scope
        ? { scope: 'PUBLIC' }
        : {}),
    ...(a.inheritMaxAge && b.inheritMaxAge ? { inheritMaxAge: true } : {}),
  };
}

/** Reads every @cacheControl hint from the subgraphs' SDL (composition drops them from the supergraph). */
export function extractCacheHints(subgraphs: DocumentNode[]): CacheHints {
  const hints: CacheHints = { types: {}, fields: {} };
  for (const document of subgraphs)
    for (const definition of document.definitions) {
      if (!('name' in definition) || !definition.name || !('directives' in definition)) continue;
      const typeName = definition.name.value;
      const typeHint = hintOf(definition.directives);
      if (typeHint) hints.types[typeName] = merge(hints.types[typeName], typeHint);
      if (!('fields' in definition) || !definition.fields) continue;
      for (const field of definition.fields) {
        if (field.kind !== Kind.FIELD_DEFINITION) continue;
        const fieldHint = hintOf(field.directives);
        const key = `${typeName}.${field.name.value}`;
        if (fieldHint) hints.fields[key] = merge(hints.fields[key], fieldHint);
      }
    }
  const sorted = (record: Record<string, CacheHint>) =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return { types: sorted(hints.types), fields: sorted(hints.fields) };
}

/**
 * The cache policy of an operation, computed by the gateway from the subgraphs' hints over
 * the selection (not the data), so it is the same for every caller of the same operation.
 * Apollo Server's rules, with one difference: a composite non-root field with no hint on it
 * or its type (a value type such as Money or PageInfo, a connection's edges) inherits its
 * parent's policy instead of making the whole response uncacheable. Per field: the type's
 * hint, then the field's hint over it; a root field without a maxAge is maxAge 0; PRIVATE
 * anywhere makes the response private. Null when the response must not be cached.
 */
export function operationCachePolicy(
  schema: GraphQLSchema,
  hints: CacheHints,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): CachePolicy | null {
  return computePolicy(schema, hints, document, operation, variables).policy;
}

const memo = new WeakMap<OperationDefinitionNode, { schema: GraphQLSchema; policy: CachePolicy | null }>();

/**
 * operationCachePolicy, remembered per parsed operation (Apollo keeps one parsed document per
 * query text) and schema, unless @skip/@include on a variable makes it depend on the variables.
 */
export function memoizedCachePolicy(
  schema: GraphQLSchema,
  hints: CacheHints,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): CachePolicy | null {
  const known = memo.get(operation);
  if (known && known.schema === schema) return known.policy;
  const { policy, dependsOnVariables } = computePolicy(schema, hints, document, operation, variables);
  if (!dependsOnVariables) memo.set(operation, { schema, policy });
  return policy;
}

function computePolicy(
  schema: GraphQLSchema,
  hints: CacheHints,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): { policy: CachePolicy | null; dependsOnVariables: boolean } {
  let dependsOnVariables = false;
  if (operation.operation !== 'query') return { policy: null, dependsOnVariables };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let maxAge = Number.POSITIVE_INFINITY;
  let scope: CachePolicy['scope'] = 'PUBLIC';
  const visiting = new Set<string>();

  const skipped = (
    directives:
      | readonly {
          name: { value: string };
          arguments?: readonly { name: { value: string }; value: unknown }[];
        }[]
      | undefined,
  ) => {
    for (const directive of directives ?? []) {
      const arg = directive.arguments?.find((a) => a.name.value === 'if')?.value as
        { kind: string; value?: boolean; name?: { value: string } } | undefined;
      if (arg?.kind === Kind.VARIABLE) dependsOnVariables = true;
      const value = arg?.kind === Kind.VARIABLE ? variables[arg.name!.value] : arg?.value;
      if (directive.name.value === 'skip' && value === true) return true;
      if (directive.name.value === 'include' && value === false) return true;
    }
    return false;
  };

  const visit = (parent: GraphQLCompositeType, selectionSet: SelectionSetNode, isRoot: boolean) => {
    const objects: readonly GraphQLObjectType[] = isAbstractType(parent)
      ? schema.getPossibleTypes(parent)
      : [parent as GraphQLObjectType];
    for (const object of objects) visitObject(object, selectionSet, isRoot);
  };
  const visitObject = (object: GraphQLObjectType, selectionSet: SelectionSetNode, isRoot: boolean) => {
    for (const selection of selectionSet.selections) {
      if (skipped(selection.directives)) continue;
      if (selection.kind !== Kind.FIELD) {
        const fragment =
          selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
        if (!fragment) continue;
        const condition = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : object;
        if (
          condition !== object &&
          !(condition && isAbstractType(condition) && schema.isSubType(condition, object))
        )
          continue;
        const id =
          selection.kind === Kind.FRAGMENT_SPREAD ? `${object.name}:${selection.name.value}` : undefined;
        if (id && visiting.has(id)) continue;
        if (id) visiting.add(id);
        visitObject(object, fragment.selectionSet, isRoot);
        if (id) visiting.delete(id);
        continue;
      }
      const name = selection.name.value;
      if (name.startsWith('__')) {
        if (name !== '__typename') maxAge = 0; // introspection is not cached
        continue;
      }
      const definition = object.getFields()[name];
      if (!definition) continue;
      const named = getNamedType(definition.type);
      const typeHint = isCompositeType(named) ? hints.types[named.name] : undefined;
      const fieldHint = hints.fields[`${object.name}.${name}`];
      let fieldMaxAge = typeHint?.maxAge;
      let fieldScope = typeHint?.scope;
      if (fieldHint?.inheritMaxAge && fieldMaxAge === undefined) fieldScope = fieldHint.scope ?? fieldScope;
      else if (fieldHint) {
        if (fieldHint.maxAge !== undefined) fieldMaxAge = fieldHint.maxAge;
        if (fieldHint.scope) fieldScope = fieldHint.scope;
      }
      if (fieldMaxAge === undefined && isRoot) fieldMaxAge = 0;
      if (fieldMaxAge !== undefined) maxAge = Math.min(maxAge, fieldMaxAge);
      if (fieldScope === 'PRIVATE') scope = 'PRIVATE';
      if (isCompositeType(named) && selection.selectionSet) visit(named, selection.selectionSet, false);
    }
  };

  const root = schema.getQueryType();
  if (!root) return { policy: null, dependsOnVariables };
  visit(root, operation.selectionSet, true);
  if (!Number.isFinite(maxAge) || maxAge <= 0) return { policy: null, dependsOnVariables };
  return { policy: { maxAge, scope }, dependsOnVariables };
}

/** The source of src/analysis/cache-hints.generated.ts (written by npm run compose). */
export function cacheHintsSource(hints: CacheHints): string {
  return `// Generated by \`npm run compose\` from subgraphs/*/src/schema.graphql; do not edit.
// Composition drops @cacheControl from the supergraph, so the gateway carries the hints itself.
import type { CacheHints } from './cache-policy';

export const CACHE_HINTS: CacheHints = ${JSON.stringify(hints, null, 2)};
`;
}
