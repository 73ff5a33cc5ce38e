import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isListType,
  isObjectType,
  Kind,
  valueFromAST,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { CollectedFields, OperationAnalysis } from './operation-analysis';

/**
 * Tags name what a cached response was made of, so that a write can invalidate exactly the
 * responses it affects (docs/caching.md):
 *
 *   E:<Type>:<id>  an object of an entity type (any type with an `id` field) and that id
 *   T:<Type>       an object of that type whose id the client did not select
 *   L:<Type>       a list (or connection) of that type, or a lookup of it that found nothing:
 *                  the membership, order and counts a create/update/archive can change
 *   T:Stock        public stock fields (Product.inStock, Product.inventory)
 *
 * A write to entity X of type T invalidates E:T:X and T:T; creates, updates and archives
 * also invalidate L:T; stock changes whose products are not known invalidate T:Stock.
 */
export const entityTag = (type: string, id: string) => `E:${type}:${id}`;
export const typeTag = (type: string) => `T:${type}`;
export const listTag = (type: string) => `L:${type}`;
export const STOCK_TAG = 'T:Stock';
const STOCK_FIELDS = new Set(['Product.inStock', 'Product.inventory']);

type Variables = Record<string, unknown>;

function isEntityType(type: GraphQLNamedType): type is GraphQLObjectType {
  return isObjectType(type) && 'id' in type.getFields();
}

/** The entity type a field lists: [T], or a connection { edges { node: T } } / { nodes: [T] }. */
function listedEntityType(type: GraphQLOutputType): GraphQLObjectType | undefined {
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    const item = getNamedType(nullable);
    return isEntityType(item) ? item : undefined;
  }
  const named = getNamedType(type);
  if (!isObjectType(named)) return undefined;
  const fields = named.getFields();
  const nodes = fields.nodes && getNamedType(fields.nodes.type);
  if (nodes && isListType(getNullableType(fields.nodes.type)) && isEntityType(nodes)) return nodes;
  const edges = fields.edges && getNamedType(fields.edges.type);
  if (edges && isObjectType(edges) && edges.getFields().node) {
    const node = getNamedType(edges.getFields().node.type);
    if (isEntityType(node)) return node;
  }
  return undefined;
}

/**
 * Walks a response along its operation's analysis and the schema, tagging every object met.
 * The fields executed on each object come from the analysis (remembered there per type and
 * selection set), so fragments are never expanded again per object of the response.
 */
class Walker {
  readonly tags = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly analysis: OperationAnalysis,
  ) {}

  value(type: GraphQLCompositeType, selectionSet: SelectionSetNode, value: unknown): void {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      for (const item of value) this.value(type, selectionSet, item);
      return;
    }
    if (typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    let object: GraphQLObjectType | undefined;
    if (isObjectType(type)) object = type;
    else {
      const typename = this.typenameOf(type, selectionSet, record);
      const resolved = typename ? this.schema.getType(typename) : undefined;
      if (resolved && isObjectType(resolved)) object = resolved;
    }
    if (!object) {
      // An abstract type whose concrete type the client did not ask for: tag every possibility.
      for (const possible of this.schema.getPossibleTypes(type as never))
        if (isEntityType(possible)) this.tags.add(typeTag(possible.name));
      return;
    }
    this.object(object, selectionSet, record);
  }

  private typenameOf(
    type: GraphQLCompositeType,
    selectionSet: SelectionSetNode,
    record: Record<string, unknown>,
  ) {
    for (const s of selectionSet.selections)
      if (s.kind === Kind.FIELD && s.name.value === '__typename')
        return record[s.alias?.value ?? '__typename'] as string | undefined;
    return isAbstractType(type) ? undefined : type.name;
  }

  private object(type: GraphQLObjectType, selectionSet: SelectionSetNode, record: Record<string, unknown>) {
    this.fields(type, this.analysis.fieldsOf(type, selectionSet), record);
  }

  fields(type: GraphQLObjectType, fields: CollectedFields, record: Record<string, unknown>) {
    if (isEntityType(type)) {
      const idKey = [...fields].find(([, nodes]) => nodes[0].name.value === 'id')?.[0];
      const id = idKey ? record[idKey] : undefined;
      this.tags.add(
        typeof id === 'string' || typeof id === 'number'
          ? entityTag(type.name, String(id))
          : typeTag(type.name),
      );
    }
    const definitions = type.getFields();
    for (const [key, nodes] of fields) {
      const name = nodes[0].name.value;
      const definition = definitions[name];
      if (!definition) continue;
      if (STOCK_FIELDS.has(`${type.name}.${name}`)) this.tags.add(STOCK_TAG);
      const listed = listedEntityType(definition.type);
      if (listed) this.tags.add(listTag(listed.name));
      const named = getNamedType(definition.type);
      const child = record[key];
      // A lookup that found nothing may find something after a create.
      if (child === null && isEntityType(named)) this.tags.add(listTag(named.name));
      if (!isCompositeType(named)) continue;
      for (const node of nodes) if (node.selectionSet) this.value(named, node.selectionSet, child);
    }
  }

  root(data: Record<string, unknown>) {
    const rootType = this.schema.getRootType(this.analysis.operationType);
    if (rootType) this.fields(rootType, this.analysis.rootSelection, data);
  }
}

/** The tags of a public query's response (what it was made of). */
export function responseTags(
  schema: GraphQLSchema,
  analysis: OperationAnalysis,
  data: Record<string, unknown>,
): string[] {
  const walker = new Walker(schema, analysis);
  walker.root(data);
  return [...walker.tags].sort();
}

/** Mutations whose effects go beyond the entities they return. */
const LIST_CHANGING = new Set(['createCategory', 'createProduct', 'updateProduct', 'archiveProduct']);
/** Mutations that return stock to the shelves for products their response may not name. */
const RESTOCKING = new Set(['refundOrder', 'cancelOrder']);

/**
 * The tags a mutation will touch, known from its arguments before it runs (#15): for each root
 * field (found through fragments) returning an entity, its type-wide tag and the entity named
 * by an `id`/`productId` argument; the lists of the type for creates, updates and archives; all
 * public stock for a refund or cancellation (which products it restocks is not known yet).
 * Marked before the mutation is forwarded and again after it returns, so a response that never
 * arrives cannot leave stale public data behind.
 */
export function attemptTags(schema: GraphQLSchema, analysis: OperationAnalysis, variables: Variables): string[] {
  const tags = new Set<string>();
  const mutationType = schema.getMutationType();
  if (!mutationType || analysis.operationType !== 'mutation') return [];
  for (const [, nodes] of analysis.rootSelection)
    for (const selection of nodes) {
      const field = mutationType.getFields()[selection.name.value];
      if (!field) continue;
      const named = getNamedType(field.type);
      if (isEntityType(named)) {
        tags.add(typeTag(named.name));
        for (const tag of argumentTags(field, selection, named.name, variables)) tags.add(tag);
        if (LIST_CHANGING.has(field.name)) tags.add(listTag(named.name));
      }
      if (RESTOCKING.has(field.name)) tags.add(STOCK_TAG);
    }
  return [...tags].sort();
}

/** The entity an `id`/`productId` argument names (a productId always names a Product). */
function argumentTags(
  field: GraphQLField<unknown, unknown>,
  selection: FieldNode,
  typeName: string,
  variables: Variables,
): string[] {
  const tags: string[] = [];
  for (const arg of selection.arguments ?? []) {
    if (arg.name.value !== 'id' && arg.name.value !== 'productId') continue;
    const definition = field.args.find((a) => a.name === arg.name.value);
    const value = definition ? valueFromAST(arg.value, definition.type, variables) : undefined;
    const target = arg.name.value === 'productId' ? 'Product' : typeName;
    if (typeof value === 'string') tags.push(entityTag(target, value), typeTag(target));
  }
  return tags;
}

/**
 * The tags a mutation invalidates once its response is known: the entity each root field
 * returns (its id read from the response, else from an `id`/`productId` argument) with its
 * type-wide tag; the lists of the type for creates, updates and archives; and for a refund or
 * cancellation, the products the response names, else all public stock (it returns the
 * order, not its products). Root fields are found through fragments, as they execute.
 */
export function invalidationTags(
  schema: GraphQLSchema,
  analysis: OperationAnalysis,
  variables: Variables,
  data: Record<string, unknown> | null | undefined,
): string[] {
  const tags = new Set<string>();
  const mutationType = schema.getMutationType();
  if (!mutationType || analysis.operationType !== 'mutation') return [];
  for (const [key, nodes] of analysis.rootSelection) {
    const selection = nodes[0];
    const field = mutationType.getFields()[selection.name.value];
    if (!field) continue;
    const named = getNamedType(field.type);
    const result = data?.[key];
    // A refused or failed mutation changed nothing (and must not let anyone flush the cache).
    if (result === null || result === undefined) continue;
    if (isEntityType(named)) {
      tags.add(typeTag(named.name));
      const idKey = selection.selectionSet?.selections.find(
        (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'id',
      );
      for (const item of Array.isArray(result) ? result : [result]) {
        const id = item && idKey ? (item as Record<string, unknown>)[idKey.alias?.value ?? 'id'] : undefined;
        if (typeof id === 'string') tags.add(entityTag(named.name, id));
      }
      for (const tag of argumentTags(field, selection, named.name, variables)) tags.add(tag);
      if (LIST_CHANGING.has(field.name)) tags.add(listTag(named.name));
    }
    if (RESTOCKING.has(field.name)) {
      const walker = new Walker(schema, analysis);
      if (data && selection.selectionSet && isCompositeType(named))
        walker.value(named, selection.selectionSet, result);
      const products = [...walker.tags].filter((t) => t.startsWith('E:Product:'));
      for (const t of products) tags.add(t);
      if (products.length > 0) tags.add(typeTag('Product'));
      else tags.add(STOCK_TAG);
    }
  }
  return [...tags].sort();
}
