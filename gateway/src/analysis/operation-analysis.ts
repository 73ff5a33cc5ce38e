import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type OperationTypeNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { CacheHints, CachePolicy } from './cache-policy';

/**
 * Cost model (documented in the README): every field costs 1 plus its selection. A field
 * with a `first` argument multiplies its selection by `first` (default 20); any other list
 * field multiplies by 10, except a connection's `edges`/`nodes`, whose size `first` already
 * counts. Introspection is measured like everything else.
 */
export const DEFAULT_FIRST = 20;
export const DEFAULT_LIST_SIZE = 10;
const CONNECTION_LISTS = new Set(['edges', 'nodes']);

/** Mutations that guess credentials or mint sessions: each occurrence is one sign-in attempt. */
export const SIGN_IN_FIELDS = new Set(['login', 'register', 'refreshSession']);

type Variables = Record<string, unknown>;
/** The fields executed on an object for a selection set, by response key (fragments expanded). */
export type CollectedFields = ReadonlyMap<string, readonly FieldNode[]>;

/**
 * Everything the gateway needs to know about one operation before it runs it, from one pass
 * over the parsed document (operation-analyzer.ts remembers it per document).
 *
 * Depth, aliases, root fields, cost and sign-in attempts count every field where it occurs,
 * through inline fragments and fragment spreads, each spread as often as it is spread (a
 * fragment spread twice counts twice), and whatever @skip/@include say (a skipped field is
 * still measured: the limits do not depend on variables). The cache policy and the collected
 * fields follow @skip/@include as execution does.
 */
export interface OperationAnalysis {
  readonly operation: OperationDefinitionNode;
  readonly operationType: OperationTypeNode;
  /** The deepest field, counted from the root (a root field is depth 1). */
  readonly depth: number;
  readonly aliases: number;
  /** Fields selected on the root type (not counting __typename). */
  readonly rootFields: number;
  readonly cost: number;
  /** How many login/register/refreshSession fields the operation runs (aliases included). */
  readonly signInAttempts: number;
  /** The response's cache policy from the subgraphs' hints; null unless a cacheable query. */
  readonly cachePolicy: CachePolicy | null;
  /** The root fields as executed, by response key. */
  readonly rootSelection: CollectedFields;
  /** The fields executed on `type` for `selectionSet`: remembered, so a response walk never re-expands fragments. */
  fieldsOf(type: GraphQLObjectType, selectionSet: SelectionSetNode): CollectedFields;
}

interface Summary {
  cost: number;
  /** Deepest field below this selection set, relative to it. */
  depth: number;
  aliases: number;
  /** Fields directly in this selection set (through fragments), not counting __typename. */
  fields: number;
  signIn: number;
  /** The smallest maxAge met (Infinity: none), and whether anything was PRIVATE. */
  maxAge: number;
  private: boolean;
}

const empty = (): Summary => ({
  cost: 0,
  depth: 0,
  aliases: 0,
  fields: 0,
  signIn: 0,
  maxAge: Number.POSITIVE_INFINITY,
  private: false,
});

function add(into: Summary, part: Summary): void {
  into.cost += part.cost;
  into.depth = Math.max(into.depth, part.depth);
  into.aliases += part.aliases;
  into.fields += part.fields;
  into.signIn += part.signIn;
  into.maxAge = Math.min(into.maxAge, part.maxAge);
  into.private ||= part.private;
}

/** Variable values only matter by class: a condition's boolean, a `first`'s number. */
function conditionClass(value: unknown): string {
  return value === true ? 't' : value === false ? 'f' : '-';
}
function countClass(value: unknown): string {
  return typeof value === 'number' ? String(value) : '-';
}

/** The variables an analysis depends on: those in @skip/@include conditions and `first` arguments. */
export interface VariableReads {
  conditions: readonly string[];
  counts: readonly string[];
}

/** Linear in the document's size; done once per document (operation-analyzer.ts remembers it). */
export function variableReads(document: DocumentNode): VariableReads {
  const conditions = new Set<string>();
  const counts = new Set<string>();
  const scan = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      for (const directive of selection.directives ?? []) {
        if (directive.name.value !== 'skip' && directive.name.value !== 'include') continue;
        const value = directive.arguments?.find((a) => a.name.value === 'if')?.value;
        if (value?.kind === Kind.VARIABLE) conditions.add(value.name.value);
      }
      if (selection.kind === Kind.FIELD) {
        const first = selection.arguments?.find((a) => a.name.value === 'first')?.value;
        if (first?.kind === Kind.VARIABLE) counts.add(first.name.value);
      }
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) scan(selection.selectionSet);
    }
  };
  for (const definition of document.definitions)
    if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION)
      scan(definition.selectionSet);
  return { conditions: [...conditions].sort(), counts: [...counts].sort() };
}

/**
 * Two requests whose variables give the same key get the same analysis. Values only matter by
 * class (a condition's boolean, a count's number), so the key stays small whatever is sent.
 */
export function variableKey(reads: VariableReads, variables: Variables): string {
  let key = '';
  for (const name of reads.conditions) key += `?${name}=${conditionClass(variables[name])}`;
  for (const name of reads.counts) key += `#${name}=${countClass(variables[name])}`;
  return key;
}

export function findOperation(
  document: DocumentNode,
  operationName?: string | null,
): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  return operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
}

/**
 * Analyses one operation in a single pass whose cost is linear in the document's size: each
 * fragment is summarized once per parent type it is spread on (and whether it sits under a
 * skipped field), however often and however deeply it is spread. Not remembered: callers go
 * through operation-analyzer.ts, which is.
 */
export function analyzeOperationOnce(
  schema: GraphQLSchema,
  hints: CacheHints,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Variables,
): OperationAnalysis {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const queryType = schema.getQueryType();
  const mutationType = schema.getMutationType();
  const rootType = schema.getRootType(operation.operation);

  const excludedBy = (directives: readonly DirectiveNode[] | undefined): boolean => {
    for (const directive of directives ?? []) {
      const name = directive.name.value;
      if (name !== 'skip' && name !== 'include') continue;
      const arg = directive.arguments?.find((a) => a.name.value === 'if')?.value;
      const value =
        arg?.kind === Kind.VARIABLE ? variables[arg.name.value] : arg?.kind === Kind.BOOLEAN ? arg.value : undefined;
      if (name === 'skip' && value === true) return true;
      if (name === 'include' && value === false) return true;
    }
    return false;
  };

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
    parent: GraphQLNamedType | undefined,
    name: string,
  ): GraphQLField<unknown, unknown> | undefined => {
    if (name === '__schema' || name === '__type' || name === '__typename') return undefined;
    if (parent && (isObjectType(parent) || isInterfaceType(parent))) return parent.getFields()[name];
    return undefined;
  };
  const childTypeOf = (field: GraphQLField<unknown, unknown> | undefined, name: string) =>
    field?.type ??
    (name === '__schema'
      ? (schema.getType('__Schema') as GraphQLOutputType)
      : name === '__type'
        ? (schema.getType('__Type') as GraphQLOutputType)
        : undefined);

  /**
   * A field's own cache hint on one object type (Apollo Server's rules): the type's hint,
   * then the field's over it; a root field without a maxAge is maxAge 0.
   */
  const objectFieldPolicy = (object: GraphQLObjectType, name: string, into: Summary) => {
    const definition = object.getFields()[name];
    if (!definition) return;
    const named = getNamedType(definition.type);
    const typeHint = isCompositeType(named) ? hints.types[named.name] : undefined;
    const fieldHint = hints.fields[`${object.name}.${name}`];
    let maxAge = typeHint?.maxAge;
    let scope = typeHint?.scope;
    if (fieldHint?.inheritMaxAge && maxAge === undefined) scope = fieldHint.scope ?? scope;
    else if (fieldHint) {
      if (fieldHint.maxAge !== undefined) maxAge = fieldHint.maxAge;
      if (fieldHint.scope) scope = fieldHint.scope;
    }
    if (maxAge === undefined && object === queryType) maxAge = 0;
    if (maxAge !== undefined) into.maxAge = Math.min(into.maxAge, maxAge);
    if (scope === 'PRIVATE') into.private = true;
  };

  // Fragment summaries per (fragment, parent type, excluded): the memo that makes the pass linear.
  const fragmentSummaries = new Map<string, Summary>();
  const inProgress = new Set<string>();

  const summarize = (
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
    excluded: boolean,
  ): Summary => {
    const summary = empty();
    for (const selection of selectionSet.selections) {
      const skipped = excluded || excludedBy(selection.directives);
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const field = fieldOf(parent, name);
        const childType = childTypeOf(field, name);
        const child = selection.selectionSet
          ? summarize(selection.selectionSet, childType && getNamedType(childType), skipped)
          : empty();
        const first = selection.arguments?.find((a) => a.name.value === 'first');
        const declaresFirst = field?.args.some((a) => a.name === 'first') ?? false;
        let multiplier = 1;
        if (first || declaresFirst) multiplier = Math.max(argumentNumber(first?.value) ?? DEFAULT_FIRST, 1);
        else if (childType && isListType(getNullableType(childType)) && !CONNECTION_LISTS.has(name))
          multiplier = DEFAULT_LIST_SIZE;
        summary.cost += 1 + multiplier * child.cost;
        summary.depth = Math.max(summary.depth, 1 + child.depth);
        summary.aliases += (selection.alias ? 1 : 0) + child.aliases;
        if (name !== '__typename') summary.fields += 1;
        summary.signIn += (parent === mutationType && SIGN_IN_FIELDS.has(name) ? 1 : 0) + child.signIn;
        if (skipped) continue;
        if (name.startsWith('__')) {
          if (name !== '__typename') summary.maxAge = 0; // introspection is not cached
          continue;
        }
        if (parent && isObjectType(parent)) objectFieldPolicy(parent, name, summary);
        else if (parent && isAbstractType(parent))
          for (const object of schema.getPossibleTypes(parent)) objectFieldPolicy(object, name, summary);
        summary.maxAge = Math.min(summary.maxAge, child.maxAge);
        summary.private ||= child.private;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition?.name.value;
        add(summary, summarize(selection.selectionSet, condition ? schema.getType(condition) : parent, skipped));
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment) continue;
        const key = `${fragment.name.value}\0${parent?.name ?? ''}\0${skipped ? 1 : 0}`;
        let known = fragmentSummaries.get(key);
        if (!known) {
          // A cycle is a validation error; here it just stops.
          if (inProgress.has(key)) continue;
          inProgress.add(key);
          known = summarize(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), skipped);
          inProgress.delete(key);
          fragmentSummaries.set(key, known);
        }
        add(summary, known);
      }
    }
    return summary;
  };

  const root = summarize(operation.selectionSet, rootType ?? undefined, false);

  const collected = new WeakMap<SelectionSetNode, Map<string, CollectedFields>>();
  const applies = (condition: string | undefined, object: GraphQLObjectType) => {
    if (!condition) return true;
    const type = schema.getType(condition);
    return type === object || (!!type && isAbstractType(type) && schema.isSubType(type, object));
  };
  const collect = (
    object: GraphQLObjectType,
    selectionSet: SelectionSetNode,
    into: Map<string, FieldNode[]>,
    visited: Set<string>,
  ) => {
    for (const selection of selectionSet.selections) {
      if (excludedBy(selection.directives)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const nodes = into.get(key);
        if (nodes) nodes.push(selection);
        else into.set(key, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(selection.typeCondition?.name.value, object)) collect(object, selection.selectionSet, into, visited);
      } else {
        // As graphql-js executes: a fragment spread again in the same selection adds nothing.
        const fragment = fragments.get(selection.name.value);
        if (!fragment || visited.has(fragment.name.value)) continue;
        visited.add(fragment.name.value);
        if (applies(fragment.typeCondition.name.value, object)) collect(object, fragment.selectionSet, into, visited);
      }
    }
    return into;
  };
  const fieldsOf = (object: GraphQLObjectType, selectionSet: SelectionSetNode): CollectedFields => {
    let perType = collected.get(selectionSet);
    if (!perType) collected.set(selectionSet, (perType = new Map()));
    let fields = perType.get(object.name);
    if (!fields) perType.set(object.name, (fields = collect(object, selectionSet, new Map(), new Set())));
    return fields;
  };

  const cachePolicy: CachePolicy | null =
    operation.operation === 'query' && Number.isFinite(root.maxAge) && root.maxAge > 0
      ? { maxAge: root.maxAge, scope: root.private ? 'PRIVATE' : 'PUBLIC' }
      : null;

  return {
    operation,
    operationType: operation.operation,
    depth: root.depth,
    aliases: root.aliases,
    rootFields: root.fields,
    cost: root.cost,
    signInAttempts: root.signIn,
    cachePolicy,
    rootSelection: rootType ? fieldsOf(rootType, operation.selectionSet) : new Map(),
    fieldsOf,
  };
}
