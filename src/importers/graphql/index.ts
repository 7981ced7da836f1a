import {
  buildASTSchema,
  buildClientSchema,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  Kind,
  parse,
  visit,
  type DefinitionNode,
  type DocumentNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type IntrospectionQuery,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type TypeNode,
} from 'graphql';
import { broadScope, cleanText, destructiveReason, hostOf, toolName, uniqueNames } from '../common.js';
import { sourceError } from '../errors.js';
import { ImportBudget, importLimits, type ImportLimits } from '../limits.js';
import type { ImporterResult, JsonObject, Operation } from '../planner/types.js';

/** How deep generated selections go below the root field. */
export const SELECTION_DEPTH = 2;
/** The endpoint used when an SDL or introspection file names none: reserved, never resolves. */
export const PLACEHOLDER_ENDPOINT = 'https://graphql.invalid/graphql';

/**
 * Per-operation expansion bounds (issue 10): a tool's input schema carries at most this many
 * input object types in its `$defs` (deeper ones are described, not expanded), and a generated
 * selection at most this many fields. Without them a schema whose operations share a large input
 * graph or wide object types expands quadratically (minutes and gigabytes for ~150 KB of SDL).
 */
export const MAX_DEFS_PER_OPERATION = 50;
export const MAX_SELECTED_FIELDS = 500;

/** One operation's expansion state: the document-wide budget, and this operation's own bounds. */
interface Expansion {
  budget: ImportBudget;
  defs: number;
  fields: number;
  cut: string[];
}

const PAGINATION_ARGS = new Set(['first', 'last', 'after', 'before', 'limit', 'offset', 'page', 'per_page', 'perPage', 'pageSize', 'cursor', 'top', 'skip']);

export interface GraphqlOptions {
  sourceName: string;
  endpoint?: string;
  uri?: string | null;
  /** IMPORT_MAX_OPERATIONS / IMPORT_MAX_SCHEMA_NODES; from the environment by default. */
  limits?: ImportLimits;
}

/** An explicit list of named operations (YAML or JSON). */
interface OperationList {
  endpoint: string;
  license?: string;
  provenance?: string;
  auth?: { type: string; key?: string };
  operations: { name: string; operation_type?: string; query: string; description?: string }[];
}

/**
 * Import a GraphQL source: SDL text, an introspection result, or an explicit operations list.
 * `parsed` is the JSON/YAML value when the file is one, else undefined (then `text` is SDL).
 */
export function importGraphql(text: string, parsed: unknown, options: GraphqlOptions): ImporterResult {
  const warnings: string[] = [];
  const budget = new ImportBudget(options.limits ?? importLimits(), `the GraphQL source ${options.sourceName}`);
  if (parsed && typeof parsed === 'object' && 'operations' in parsed) {
    budget.operations(Array.isArray((parsed as OperationList).operations) ? (parsed as OperationList).operations.length : 0);
    return fromOperationList(parsed as OperationList, options, warnings);
  }

  let schema: GraphQLSchema;
  let document: unknown;
  const introspection = parsed && typeof parsed === 'object' ? ((parsed as { data?: unknown }).data ?? parsed) : undefined;
  if (introspection && typeof introspection === 'object' && '__schema' in introspection) {
    try {
      schema = buildClientSchema(introspection as IntrospectionQuery);
    } catch (error) {
      throw sourceError(`not a usable GraphQL introspection result: ${(error as Error).message}`);
    }
    document = introspection;
  } else {
    let ast: DocumentNode;
    try {
      ast = parse(text, { noLocation: true });
    } catch (error) {
      throw sourceError(`not GraphQL SDL, an introspection result or an operations list: ${(error as Error).message}`);
    }
    ast = dropDuplicateFields(ast, warnings);
    try {
      schema = buildASTSchema(ast);
    } catch (error) {
      throw sourceError(`the GraphQL SDL does not build a schema: ${(error as Error).message}`);
    }
    document = ast;
  }

  const endpoint = options.endpoint ?? PLACEHOLDER_ENDPOINT;
  if (!options.endpoint) warnings.push(`no endpoint given (--endpoint); drafts point at ${PLACEHOLDER_ENDPOINT}, which never resolves`);
  const ops: Operation[] = [];
  const roots = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const;
  budget.operations(roots.reduce((n, [, root]) => n + (root ? Object.keys(root.getFields()).length : 0), 0));
  for (const [kind, root] of roots) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      const expansion: Expansion = { budget, defs: 0, fields: 0, cut: [] };
      ops.push(fieldOperation(kind, field, endpoint, null, expansion));
      if (expansion.cut.length) warnings.push(`${kind} ${field.name}: ${expansion.cut.join('; ')}`);
    }
  }
  return {
    source: { name: options.sourceName, kind: 'graphql', uri: options.uri ?? null, license: null, provenance: null },
    document,
    operations: uniqueNames(ops, warnings),
    warnings,
  };
}

/** GitHub's SDL defines some fields twice, which strict building rejects: keep the first. */
function dropDuplicateFields(ast: DocumentNode, warnings: string[]): DocumentNode {
  const definitions = ast.definitions.map((def): DefinitionNode => {
    if (!('fields' in def) || !def.fields || !('name' in def) || !def.name) return def;
    const seen = new Set<string>();
    const fields = (def.fields as readonly { name: { value: string } }[]).filter((f) => {
      if (seen.has(f.name.value)) {
        warnings.push(`field ${def.name!.value}.${f.name.value} is defined twice in the source; the first definition is kept`);
        return false;
      }
      seen.add(f.name.value);
      return true;
    });
    return { ...def, fields } as unknown as DefinitionNode;
  });
  return { ...ast, definitions };
}

function fieldOperation(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>, endpoint: string, auth: OperationList['auth'] | null, expansion: Expansion): Operation {
  const defs: Record<string, JsonObject> = {};
  const properties: Record<string, JsonObject> = {};
  const required: string[] = [];
  for (const arg of field.args) {
    properties[arg.name] = argSchema(arg, defs, expansion);
    if (isNonNullType(arg.type) && arg.defaultValue === undefined) required.push(arg.name);
  }
  const input: JsonObject = { type: 'object', properties };
  if (required.length) input.required = required;
  if (Object.keys(defs).length) input.$defs = sortKeys(defs);

  const { selection, schema: output, depth } = selectionFor(field.type, 1, expansion);
  const variables = field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const opName = field.name.charAt(0).toUpperCase() + field.name.slice(1);
  const query = `${kind} ${opName}${variables ? `(${variables})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection ? ` ${selection}` : ''} }`;
  return graphqlOperation({
    kind,
    fieldName: field.name,
    description: field.description ?? '',
    deprecated: field.deprecationReason ?? null,
    input,
    output: output ? { type: 'object', properties: { [field.name]: output } } : null,
    query,
    argNames: field.args.map((a) => a.name),
    returnsList: returnsList(field.type),
    returnType: getNamedType(field.type).name,
    resultFields: isObjectType(getNamedType(field.type)) ? Object.keys((getNamedType(field.type) as { getFields(): Record<string, unknown> }).getFields()) : [],
    depth,
    endpoint,
    auth,
  });
}

interface GraphqlOp {
  kind: 'query' | 'mutation';
  fieldName: string;
  name?: string;
  description: string;
  deprecated: string | null;
  input: JsonObject;
  output: JsonObject | null;
  query: string;
  argNames: string[];
  returnsList: boolean;
  /** The named type a mutation returns (`PageDeletePayload`), and that type's fields (`deletedPageId`). */
  returnType?: string;
  resultFields?: string[];
  depth: number;
  endpoint: string;
  auth: OperationList['auth'] | null;
}

function graphqlOperation(op: GraphqlOp): Operation {
  const name = toolName(op.name ?? (op.kind === 'mutation' ? op.fieldName : op.fieldName));
  const destructive = op.kind === 'mutation' ? destructiveReason({ name: op.fieldName, names: op.name ? [op.name] : [], returnType: op.returnType, resultFields: op.resultFields, description: op.description }) : null;
  const effect = op.kind === 'query' ? 'read' : destructive ? 'delete' : 'write';
  const host = hostOf(op.endpoint);
  const variables = Object.fromEntries(op.argNames.map((a) => [a, `{${a}}`]));
  const description = cleanText([op.description, op.deprecated ? `Deprecated: ${op.deprecated}` : ''].filter(Boolean).join('\n')) || `GraphQL ${op.kind} ${op.fieldName}`;
  const capability: JsonObject = {
    fulcrum: '1.0',
    name,
    description,
    enabled: false,
    schema: { input: op.input, ...(op.output ? { output: op.output } : {}) },
    providers: {
      primary: {
        service: 'rest',
        timeout: 30,
        config: {
          base_url: op.endpoint,
          path: '',
          method: 'POST',
          body: { query: op.query, variables },
          response_path: `$.data.${op.fieldName}`,
        },
      },
    },
    auth: op.auth ? { required: true, type: op.auth.type, ...(op.auth.key ? { key: op.auth.key } : {}) } : { required: false },
    annotations: { readOnlyHint: effect === 'read', destructiveHint: effect === 'delete' },
    metadata: { category: 'graphql', tags: ['graphql', op.kind], read_only: effect === 'read' },
  };
  return {
    name,
    title: `${op.kind} ${op.fieldName}`,
    description,
    route: { protocol: 'graphql', method: op.kind, endpoint: op.endpoint, operation: op.fieldName },
    input_schema: op.input,
    output_schema: op.output,
    tags: ['graphql', op.kind],
    facts: {
      effect,
      destructive: effect === 'delete',
      ...(destructive ? { destructive_reason: destructive } : {}),
      auth_schemes: op.auth ? [op.auth.type] : [],
      auth_declared: Boolean(op.auth),
      broad_scope: broadScope(op.fieldName),
      unbounded_list: op.returnsList && !op.argNames.some((a) => PAGINATION_ARGS.has(a)),
      selection_depth: op.depth,
      egress_hosts: host ? [host] : [],
      plaintext_http: op.endpoint.startsWith('http:'),
    },
    target: { type: 'capability', capability },
  };
}

/** An explicit list of named operations: each query is parsed; its variables become the input. */
function fromOperationList(list: OperationList, options: GraphqlOptions, warnings: string[]): ImporterResult {
  if (typeof list.endpoint !== 'string' || !hostOf(list.endpoint)) throw sourceError('$.endpoint: an operations list needs an absolute endpoint URL');
  if (!Array.isArray(list.operations) || list.operations.length === 0) throw sourceError('$.operations: must be a non-empty list');
  const ops = list.operations.map((entry, i) => {
    const at = `$.operations[${i}]`;
    if (!entry || typeof entry.query !== 'string' || typeof entry.name !== 'string') throw sourceError(`${at}: needs a name and a query`);
    let ast: DocumentNode;
    try {
      ast = parse(entry.query, { noLocation: true });
    } catch (error) {
      throw sourceError(`${at}.query: ${(error as Error).message}`);
    }
    const def = ast.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    if (!def) throw sourceError(`${at}.query: contains no operation`);
    const kind = def.operation === 'mutation' ? 'mutation' : def.operation === 'query' ? 'query' : undefined;
    if (!kind) throw sourceError(`${at}.query: ${def.operation} operations cannot be called as tools`);
    if (entry.operation_type && entry.operation_type !== kind) throw sourceError(`${at}.operation_type: says ${entry.operation_type} but the query is a ${kind}`);
    const properties: Record<string, JsonObject> = {};
    const required: string[] = [];
    for (const v of def.variableDefinitions ?? []) {
      properties[v.variable.name.value] = typeNodeSchema(v.type);
      if (v.type.kind === Kind.NON_NULL_TYPE && !v.defaultValue) required.push(v.variable.name.value);
    }
    const root = def.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
    const fieldName = root && root.kind === Kind.FIELD ? root.name.value : entry.name;
    const rootArgs = root && root.kind === Kind.FIELD ? (root.arguments ?? []).map((a) => a.name.value) : [];
    const input: JsonObject = { type: 'object', properties };
    if (required.length) input.required = required;
    return graphqlOperation({
      kind,
      fieldName,
      name: entry.name,
      description: entry.description ?? '',
      deprecated: null,
      input,
      output: null,
      query: entry.query.trim(),
      argNames: Object.keys(properties),
      returnsList: /s$/.test(fieldName) && !rootArgs.some((a) => PAGINATION_ARGS.has(a)),
      resultFields: root && root.kind === Kind.FIELD ? (root.selectionSet?.selections ?? []).flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : [])) : [],
      depth: selectionDepth(def.selectionSet) - 1,
      endpoint: list.endpoint,
      auth: list.auth ?? null,
    });
  });
  return {
    source: {
      name: options.sourceName,
      kind: 'graphql',
      uri: options.uri ?? null,
      license: typeof list.license === 'string' ? list.license : null,
      provenance: typeof list.provenance === 'string' ? list.provenance : null,
    },
    document: list,
    operations: uniqueNames(ops, warnings),
    warnings,
  };
}

function selectionDepth(set: SelectionSetNode | undefined): number {
  let max = 0;
  visit(set ?? { kind: Kind.SELECTION_SET, selections: [] }, {
    SelectionSet: {
      enter(_node, _key, _parent, path) {
        const depth = path.filter((p) => p === 'selectionSet').length + 1;
        if (depth > max) max = depth;
      },
    },
  });
  return max;
}

function typeNodeSchema(node: TypeNode): JsonObject {
  if (node.kind === Kind.NON_NULL_TYPE) return typeNodeSchema(node.type);
  if (node.kind === Kind.LIST_TYPE) return { type: 'array', items: typeNodeSchema(node.type) };
  return scalarSchema(node.name.value) ?? { description: `GraphQL ${node.name.value}` };
}

function scalarSchema(name: string): JsonObject | undefined {
  switch (name) {
    case 'String':
    case 'ID':
      return { type: 'string' };
    case 'Int':
      return { type: 'integer' };
    case 'Float':
      return { type: 'number' };
    case 'Boolean':
      return { type: 'boolean' };
    default:
      return undefined;
  }
}

function argSchema(arg: GraphQLArgument, defs: Record<string, JsonObject>, expansion: Expansion): JsonObject {
  expansion.budget.spend(1);
  const schema = inputSchema(arg.type, defs, expansion);
  if (arg.description) schema.description = cleanText(arg.description, 512);
  if (arg.defaultValue !== undefined && arg.defaultValue !== null && typeof arg.defaultValue !== 'object') schema.default = arg.defaultValue;
  return schema;
}

/** JSON Schema for an input type; input objects go to $defs (so recursion is kept, not expanded). */
function inputSchema(type: GraphQLInputType, defs: Record<string, JsonObject>, expansion: Expansion): JsonObject {
  const t = getNullableType(type);
  if (isListType(t)) return { type: 'array', items: inputSchema(t.ofType as GraphQLInputType, defs, expansion) };
  if (isEnumType(t)) return { type: 'string', enum: t.getValues().map((v) => v.name) };
  if (isScalarType(t)) return scalarSchema(t.name) ?? { type: 'string', description: `GraphQL scalar ${t.name}` };
  if (isInputObjectType(t)) {
    if (!defs[t.name]) {
      if (expansion.defs >= MAX_DEFS_PER_OPERATION) {
        if (!expansion.cut.includes(DEFS_CUT)) expansion.cut.push(DEFS_CUT);
        return { type: 'object', description: `GraphQL input ${t.name} (not expanded: over ${MAX_DEFS_PER_OPERATION} input types)` };
      }
      expansion.defs++;
      defs[t.name] = {}; // reserve first: a recursive reference finds the name taken
      const properties: Record<string, JsonObject> = {};
      const required: string[] = [];
      for (const field of Object.values(t.getFields())) {
        expansion.budget.spend(1);
        properties[field.name] = inputSchema(field.type, defs, expansion);
        if (field.description) properties[field.name]!.description = cleanText(field.description, 512);
        if (isNonNullType(field.type) && field.defaultValue === undefined) required.push(field.name);
      }
      defs[t.name] = { type: 'object', properties, ...(required.length ? { required } : {}), ...(t.description ? { description: cleanText(t.description, 512) } : {}) };
    }
    return { $ref: `#/$defs/${t.name}` };
  }
  return {};
}

/** A bounded selection set of scalar leaves, and the JSON Schema of what it returns. */
const DEFS_CUT = `input types past ${MAX_DEFS_PER_OPERATION} are described, not expanded`;
const FIELDS_CUT = `the selection was cut at ${MAX_SELECTED_FIELDS} fields`;

function selectionFor(type: GraphQLOutputType, depth: number, expansion: Expansion): { selection: string; schema: JsonObject | null; depth: number } {
  const named = getNamedType(type);
  const wrap = (schema: JsonObject): JsonObject => (returnsListType(type) ? { type: 'array', items: schema } : schema);
  if (isLeafType(named)) {
    const leaf = isEnumType(named) ? { type: 'string', enum: named.getValues().map((v) => v.name) } : (scalarSchema(named.name) ?? { type: 'string' });
    return { selection: '', schema: wrap(leaf), depth: depth - 1 };
  }
  if (isUnionType(named)) return { selection: '{ __typename }', schema: wrap({ type: 'object', properties: { __typename: { type: 'string' } } }), depth };
  if (!isObjectType(named) && !isInterfaceType(named)) return { selection: '{ __typename }', schema: null, depth };
  const parts: string[] = [];
  const properties: Record<string, JsonObject> = {};
  let deepest = depth;
  for (const field of Object.values(named.getFields())) {
    if (expansion.fields >= MAX_SELECTED_FIELDS) {
      if (!expansion.cut.includes(FIELDS_CUT)) expansion.cut.push(FIELDS_CUT);
      break;
    }
    if (field.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    if (field.deprecationReason) continue;
    const inner = getNamedType(field.type);
    if (isLeafType(inner)) {
      expansion.fields++;
      expansion.budget.spend(1);
      parts.push(field.name);
      properties[field.name] = selectionFor(field.type, depth + 1, expansion).schema ?? {};
    } else if (depth < SELECTION_DEPTH && (isObjectType(inner) || isInterfaceType(inner))) {
      expansion.fields++;
      const sub = selectionFor(field.type, depth + 1, expansion);
      if (sub.selection && sub.selection !== '{ __typename }') {
        parts.push(`${field.name} ${sub.selection}`);
        properties[field.name] = sub.schema ?? {};
        deepest = Math.max(deepest, sub.depth);
      }
    }
  }
  if (parts.length === 0) parts.push('__typename');
  return { selection: `{ ${parts.join(' ')} }`, schema: wrap({ type: 'object', properties }), depth: deepest };
}

function returnsListType(type: GraphQLOutputType): boolean {
  return isListType(getNullableType(type));
}

/** A list, or a Relay connection (edges/nodes), is a list result. */
function returnsList(type: GraphQLOutputType): boolean {
  if (returnsListType(type)) return true;
  const named = getNamedType(type);
  return isObjectType(named) && ('nodes' in named.getFields() || 'edges' in named.getFields());
}

function sortKeys<T>(obj: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]!]));
}
