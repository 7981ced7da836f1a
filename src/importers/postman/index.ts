import postman, { type Item, type ItemGroup, type RequestAuth } from 'postman-collection';
import { broadScope, cleanText, destructiveReason, envName, toolName, uniqueNames } from '../common.js';
import { z } from 'zod';
import { checkShape, isSourceError, sourceError } from '../errors.js';
import type { JsonObject, Operation, ImporterResult } from '../planner/types.js';

const { Collection } = postman;
type Collection = InstanceType<typeof Collection>;

const V20 = 'https://schema.getpostman.com/json/collection/v2.0.0/collection.json';
const V21 = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';
const PAGINATION = new Set(['page', 'per_page', 'perpage', 'page_size', 'pagesize', 'limit', 'offset', 'cursor', 'after', 'before', 'first', 'last', 'top', 'skip']);
// Names that hold credentials: never copied into a draft, carried as env: references instead.
const SECRETISH = /(token|secret|password|passwd|api[_-]?key|apikey|credential|^(proxy-)?authorization$|^auth$|^cookie$)/i;
const VAR = /\{\{\s*([^{}\s]+)\s*\}\}/g;

interface RawCollection {
  info?: { name?: string; schema?: string; description?: unknown; license?: unknown; provenance?: unknown };
  item?: unknown;
  auth?: unknown;
  variable?: { key?: string; value?: unknown }[];
}

// Folders and requests are objects all the way down (a request may be a URL string); checked
// before the Postman SDK walks them, so a stray value is refused at its place.
const stringOrList = z.union([z.string(), z.array(z.unknown())]).optional();
const URL_SHAPE = z.looseObject({ path: stringOrList, host: stringOrList, query: z.array(z.looseObject({})).optional(), variable: z.array(z.looseObject({})).optional() });
const ITEM_SHAPE: z.ZodType = z.lazy(() =>
  z.looseObject({
    item: z.array(ITEM_SHAPE).optional(),
    request: z.union([z.string(), z.looseObject({ url: z.union([z.string(), URL_SHAPE]).optional(), header: z.union([z.string(), z.array(z.looseObject({}))]).optional(), body: z.looseObject({}).optional() })]).optional(),
  }),
);
const COLLECTION_SHAPE = z.looseObject({ item: z.array(ITEM_SHAPE), variable: z.array(z.looseObject({})).optional() });

/** Import a Postman Collection v2.0 or v2.1: one draft per request, folders as tags. */
export function importPostman(parsed: unknown, options: { sourceName: string; uri?: string | null }): ImporterResult {
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw sourceError('$: a Postman collection must be a JSON object');
  const raw = parsed as RawCollection;
  const schema = raw.info?.schema;
  if (schema !== V20 && schema !== V21) {
    throw sourceError(`$.info.schema: must be the Postman Collection v2.0.0 or v2.1.0 schema URL, not ${JSON.stringify(schema ?? null)}`);
  }
  if (!Array.isArray(raw.item)) throw sourceError('$.item: must be a list of requests and folders');
  checkShape(COLLECTION_SHAPE, raw);
  const normalized = schema === V20 ? upgradeAuth(structuredClone(raw)) : raw;
  let collection: Collection;
  try {
    collection = new Collection(normalized as never);
  } catch (error) {
    throw sourceError(`not a usable Postman collection: ${(error as Error).message}`);
  }

  const variables = new Map<string, string>();
  for (const v of raw.variable ?? []) if (typeof v.key === 'string' && v.value !== undefined && v.value !== '') variables.set(v.key, String(v.value));
  const warnings: string[] = [];
  const ops: Operation[] = [];
  collection.forEachItem((item: Item) => {
    try {
      ops.push(requestOperation(item, variables, warnings));
    } catch (error) {
      if (!isSourceError(error)) throw error;
      warnings.push(`request "${item.name ?? '(unnamed)'}" skipped: ${error.message}`);
    }
  });
  return {
    source: {
      name: options.sourceName,
      kind: 'postman',
      uri: options.uri ?? null,
      license: typeof raw.info?.license === 'string' ? raw.info.license : null,
      provenance: typeof raw.info?.provenance === 'string' ? raw.info.provenance : null,
    },
    document: parsed,
    operations: uniqueNames(ops, warnings),
    warnings,
  };
}

function requestOperation(item: Item, variables: Map<string, string>, warnings: string[]): Operation {
  const request = item.request;
  const method = (request.method ?? 'GET').toUpperCase();
  const inputs = new Map<string, JsonObject>();
  const required = new Set<string>();
  const resolve = (text: string): string =>
    text.replace(VAR, (whole, name: string) => {
      const value = variables.get(name);
      if (value !== undefined && !SECRETISH.test(name)) return value;
      inputs.set(name, inputs.get(name) ?? { type: 'string' });
      return `{${name}}`;
    });

  // URL: collection variables resolved; path variables (:id) and leftover {{x}} become inputs.
  const url = request.url;
  const protocol = url.protocol ?? 'https';
  const host = resolve(url.getHost());
  const pathSegments = (url.path ?? []).map((segment) => {
    const s = resolve(String(segment));
    if (s.startsWith(':')) {
      const name = s.slice(1);
      inputs.set(name, { type: 'string', ...describeVariable(url.variables.toObject?.() as Record<string, unknown> | undefined, name) });
      required.add(name);
      return `{${name}}`;
    }
    return s;
  });
  // A variable such as {{baseUrl}} may carry a scheme and a path prefix of its own.
  let origin: URL;
  try {
    origin = new URL(host.includes('://') ? host : `${protocol}://${host}${url.port ? `:${url.port}` : ''}`);
  } catch {
    throw sourceError(`its URL has no resolvable host (${url.toString()})`);
  }
  if (host.includes('{')) throw sourceError(`its URL has no resolvable host (${url.toString()})`);
  const baseUrl = `${origin.protocol}//${origin.host}`;
  const prefix = origin.pathname.replace(/\/+$/, '');
  const path = `${prefix}/${pathSegments.join('/')}`;
  // A request without a name is named after its method and path.
  const label = typeof item.name === 'string' && item.name.trim() ? item.name : `${method} ${path}`;

  const params: Record<string, string> = {};
  url.query.each((q) => {
    if (!q.key || q.disabled) return;
    const value = q.value ?? '';
    if (/\{\{/.test(value)) {
      params[q.key] = resolve(value);
    } else {
      inputs.set(q.key, { type: 'string', ...(value ? { default: value } : {}) });
      params[q.key] = `{${q.key}}`;
    }
  });

  const headers: Record<string, string> = {};
  const credentialHeaders: string[] = [];
  request.headers.each((h) => {
    if (!h.key || h.disabled) return;
    if (SECRETISH.test(h.key) || SECRETISH.test(h.value ?? '')) {
      credentialHeaders.push(h.key);
      return; // never copy a credential into a file; auth carries it as an env: reference
    }
    headers[h.key] = resolve(h.value ?? '');
  });

  const body = requestBody(item, resolve, inputs, warnings, label);
  const auth = authOf(item.getAuth(), credentialHeaders, warnings, label);
  const folders = folderNames(item);
  const safe = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
  const description = cleanText(descriptionOf(item.request.description) || descriptionOf(item.description)) || `${method} ${path}`;
  const destructive = safe ? null : destructiveReason({ method, name: label, names: [pathSegments.filter((p) => !p.startsWith('{')).at(-1) ?? ''], description });
  const effect = safe ? 'read' : destructive ? 'delete' : 'write';
  const lastSegment = pathSegments[pathSegments.length - 1] ?? '';
  const listing = effect === 'read' && !lastSegment.startsWith('{') && /^(list|search|all|get all|find)/i.test(label);
  const paginated = Object.keys(params).some((k) => PAGINATION.has(k.toLowerCase()));

  const properties = Object.fromEntries([...inputs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const input: JsonObject = { type: 'object', properties };
  if (required.size) input.required = [...required].sort();
  const name = toolName(label);
  const config: JsonObject = { base_url: baseUrl, path, method };
  if (Object.keys(params).length) config.params = params;
  if (Object.keys(headers).length) config.headers = headers;
  if (body.template !== undefined) config.body = body.template;
  if (body.encoding === 'form') config.body_content_type = 'application/x-www-form-urlencoded';
  const capability: JsonObject = {
    fulcrum: '1.0',
    name,
    description,
    enabled: false,
    schema: { input },
    providers: { primary: { service: 'rest', timeout: 30, config } },
    auth: auth.capability,
    annotations: { readOnlyHint: effect === 'read', destructiveHint: effect === 'delete' },
    metadata: { category: 'postman', tags: ['postman', ...folders], read_only: effect === 'read' },
  };
  return {
    name,
    title: label,
    description,
    route: { protocol: 'http', method, endpoint: `${baseUrl}${path}`, operation: label },
    input_schema: input,
    output_schema: null,
    tags: ['postman', ...folders],
    facts: {
      effect,
      destructive: effect === 'delete',
      ...(destructive ? { destructive_reason: destructive } : {}),
      auth_schemes: auth.schemes,
      auth_declared: auth.declared,
      broad_scope: broadScope(label, path),
      unbounded_list: listing && !paginated,
      selection_depth: null,
      egress_hosts: [origin.hostname],
      plaintext_http: origin.protocol === 'http:',
    },
    target: { type: 'capability', capability },
  };
}

function requestBody(
  item: Item,
  resolve: (text: string) => string,
  inputs: Map<string, JsonObject>,
  warnings: string[],
  label: string,
): { template?: unknown; encoding?: 'json' | 'form' } {
  const body = item.request.body;
  if (!body || body.isEmpty()) return {};
  if (body.mode === 'raw' && body.raw) {
    const text = body.raw.replace(VAR, (_w, name: string) => `__PMVAR_${name}__`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      warnings.push(`request "${label}": raw body is not JSON; sent as a text template`);
      return { template: resolve(body.raw) };
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      // Each top-level field becomes an argument, typed by its example value.
      const template: JsonObject = {};
      for (const [key, example] of Object.entries(parsed as JsonObject)) {
        inputs.set(key, { ...schemaOfExample(example), ...(typeof example === 'string' && example.startsWith('__PMVAR_') ? {} : { default: example }) });
        template[key] = `{${key}}`;
      }
      return { template, encoding: 'json' };
    }
    return { template: resolve(body.raw), encoding: 'json' };
  }
  if (body.mode === 'urlencoded' || body.mode === 'formdata') {
    const template: Record<string, string> = {};
    const list = body.mode === 'urlencoded' ? body.urlencoded : body.formdata;
    list?.each((p: { key?: string | null; value?: unknown; disabled?: boolean; type?: string }) => {
      if (!p.key || p.disabled) return;
      if (p.type === 'file') {
        warnings.push(`request "${label}": file field "${p.key}" is not carried`);
        return;
      }
      inputs.set(p.key, { type: 'string', ...(typeof p.value === 'string' && p.value && !p.value.includes('{{') ? { default: p.value } : {}) });
      template[p.key] = `{${p.key}}`;
    });
    return { template, encoding: 'form' };
  }
  warnings.push(`request "${label}": ${body.mode} bodies are not carried`);
  return {};
}

interface AuthResult {
  capability: JsonObject;
  schemes: string[];
  declared: boolean;
}

/** Auth as env: references: the variable a credential came from names the environment variable. */
function authOf(auth: RequestAuth | undefined, credentialHeaders: string[], warnings: string[], itemName: string): AuthResult {
  if (!auth || !auth.type) {
    const header = credentialHeaders[0];
    if (header) {
      if (credentialHeaders.length > 1) warnings.push(`request "${itemName}": only the credential header ${header} is carried (as an api_key); review ${credentialHeaders.slice(1).join(', ')} by hand`);
      return { capability: { required: true, type: 'api_key', in: 'header', name: header, key: `env:${envName(header)}` }, schemes: ['apiKey:header'], declared: true };
    }
    return { capability: { required: false }, schemes: [], declared: false };
  }
  if (auth.type === 'noauth') return { capability: { required: false }, schemes: [], declared: true };
  const params = auth.parameters().toObject() as Record<string, unknown>;
  const ref = (value: unknown, fallback: string) => {
    const match = typeof value === 'string' ? /^\{\{\s*([^{}\s]+)\s*\}\}$/.exec(value) : null;
    if (!match && value) warnings.push(`request "${itemName}": a literal ${auth.type} credential is not copied; set ${fallback}`);
    return `env:${match ? envName(match[1]!) : fallback}`;
  };
  switch (auth.type) {
    case 'bearer':
      return { capability: { required: true, type: 'bearer', key: ref(params.token, 'POSTMAN_BEARER_TOKEN') }, schemes: ['bearer'], declared: true };
    case 'basic':
      return {
        capability: { required: true, type: 'basic', username: ref(params.username, 'POSTMAN_USERNAME'), password: ref(params.password, 'POSTMAN_PASSWORD') },
        schemes: ['basic'],
        declared: true,
      };
    case 'apikey': {
      const where = params.in === 'query' ? 'query' : 'header';
      return {
        capability: { required: true, type: 'api_key', in: where, name: String(params.key ?? 'X-API-Key'), key: ref(params.value, 'POSTMAN_API_KEY') },
        schemes: [`apiKey:${where}`],
        declared: true,
      };
    }
    default:
      warnings.push(`request "${itemName}": ${auth.type} auth is not carried; review it by hand`);
      return { capability: { required: true, type: auth.type }, schemes: [auth.type], declared: true };
  }
}

/** v2.0 writes auth parameters as an object; the SDK reads v2.1's list of {key, value}. */
function upgradeAuth(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(upgradeAuth);
  if (!node || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'auth' && value && typeof value === 'object' && 'type' in value) {
      const auth = value as Record<string, unknown>;
      const type = String(auth.type);
      const params = auth[type];
      if (params && typeof params === 'object' && !Array.isArray(params)) {
        auth[type] = Object.entries(params).map(([k, v]) => ({ key: k, value: v, type: 'string' }));
      }
    } else {
      obj[key] = upgradeAuth(value);
    }
  }
  return obj;
}

function folderNames(item: Item): string[] {
  const names: string[] = [];
  let parent = item.parent() as ItemGroup<Item> | Collection | undefined;
  while (parent && !(parent instanceof Collection)) {
    if (parent.name) names.unshift(parent.name);
    parent = parent.parent() as ItemGroup<Item> | Collection | undefined;
  }
  return names;
}

function schemaOfExample(example: unknown): JsonObject {
  if (typeof example === 'number') return { type: Number.isInteger(example) ? 'integer' : 'number' };
  if (typeof example === 'boolean') return { type: 'boolean' };
  if (Array.isArray(example)) return { type: 'array' };
  if (example && typeof example === 'object') return { type: 'object' };
  return { type: 'string' };
}

function describeVariable(vars: Record<string, unknown> | undefined, name: string): JsonObject {
  const value = vars?.[name];
  return typeof value === 'string' && value && !value.startsWith('{{') ? { default: value } : {};
}

function descriptionOf(value: unknown): string {
  if (!value) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && 'content' in value) return String((value as { content: unknown }).content ?? '');
  return String(value);
}

