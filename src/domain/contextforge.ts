import type { FieldError } from '../errors.js';
import type { Kind } from './entities.js';
import { EXPORT_VERSION } from './export-document.js';
import { isObject } from './merge-patch.js';
import { NAME_PATTERN } from './text.js';

/**
 * IBM ContextForge export files (`entities: {tools, gateways, servers, prompts, resources,
 * roots}`) mapped onto this gateway's kinds, as ContextForge's own export writes them and its
 * import reads them (mcpgateway/services/export_service.py, import_service.py). Their
 * `auth_value` uses the same encryption (SPEC §6), so it is carried unchanged. What has no
 * counterpart here is reported with the path in the file as written, never guessed or dropped
 * silently.
 */

/** ContextForge's `settings.masked_auth_value`: what its API (and export) writes instead of a secret. */
export const CONTEXTFORGE_MASK = '*****';

/** `metadata.generator` of a ContextForge-format file this gateway wrote: its names are already what clients call (no slugging on the way back). */
export const GENERATOR = 'mcpgateway';

/** An object whose credentials the file does not carry: they must be entered again. */
export interface Reenter {
  kind: Kind;
  key: string;
  /** Where the object is in the file. */
  path: string;
  /** The auth_type the file names (ContextForge's spelling). */
  auth_type: string;
  reason: string;
}

/** A ContextForge file turned into the shape of an export document (not yet validated). */
export interface Conversion {
  document: Record<string, unknown>;
  /** For each kind, the JSON path in the original file of each converted object. */
  origins: Record<Kind, string[]>;
  /** For each kind and object, our field name → the file's field name where they differ. */
  fields: Record<Kind, Record<string, string>[]>;
  /** For each kind and object, every name the file knows it by (id, original name, custom name, slug). */
  aliases: Record<Kind, string[][]>;
  /** What was carried differently (renames) or not at all, each with its path in the file. */
  notes: FieldError[];
  /** What was dropped because it cannot be trusted (masked values), with its path. */
  warnings: FieldError[];
  /** Objects imported without credentials the file does not hold. */
  reenter: Reenter[];
}

/** True for a document in ContextForge's layout. */
export function isContextForge(value: unknown): value is Record<string, unknown> & { entities: Record<string, unknown> } {
  return isObject(value) && isObject(value.entities);
}

/** The entity kinds of a ContextForge file (`roots` has no counterpart here: reported, not imported). */
const ENTITY_KINDS = ['tools', 'gateways', 'servers', 'prompts', 'resources', 'roots'];

/**
 * The fields each entity must carry as a string, as ContextForge's import requires them
 * (import_service.py `_validate_entity_fields`, the *Create models); `url` for REST tools only
 * (MCP tools are not imported: they come back with their gateway).
 */
const REQUIRED_FIELDS: Record<string, string[]> = { tools: ['name', 'url'], gateways: ['name', 'url'], servers: ['name'], prompts: ['name'], resources: ['uri'], roots: ['uri'] };

/**
 * What makes a file in ContextForge's layout unreadable before it is converted: `entities` not an
 * object, a kind not an array, an entity not an object, a required field missing or not a string.
 * Each finding names its JSON path in the file as sent (`$.entities.tools[3].name`). Without this,
 * such a file converted to nothing and was accepted as empty. Field values past these are checked
 * by the export document's own schema after the conversion, with their paths mapped back.
 */
export function contextForgeShapeErrors(file: Record<string, unknown>, base = '$'): FieldError[] {
  const entities = file.entities;
  if (!isObject(entities)) return [{ path: `${base}.entities`, message: `must be an object of entity lists (${ENTITY_KINDS.join(', ')}), not ${describeJson(entities)}` }];
  const errors: FieldError[] = [];
  for (const kind of ENTITY_KINDS) {
    const list = entities[kind];
    const at = `${base}.entities.${kind}`;
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errors.push({ path: at, message: `must be an array of ${kind}, not ${describeJson(list)}` });
      continue;
    }
    list.forEach((entity: unknown, index) => {
      const path = `${at}[${index}]`;
      if (!isObject(entity)) return void errors.push({ path, message: `must be an object (one ${kind.slice(0, -1)}), not ${describeJson(entity)}` });
      const mcpTool = kind === 'tools' && typeof entity.integration_type === 'string' && entity.integration_type.toUpperCase() === 'MCP';
      for (const field of REQUIRED_FIELDS[kind]!) {
        if (field === 'url' && mcpTool) continue;
        const value = entity[field];
        if (value === undefined || value === null) errors.push({ path: `${path}.${field}`, message: `is required (a string): ContextForge's import needs it` });
        else if (typeof value !== 'string' || value === '') errors.push({ path: `${path}.${field}`, message: `must be a non-empty string, not ${describeJson(value)}` });
      }
    });
  }
  return errors;
}

/** A JSON value's kind for messages, without its content (a file may hold secrets). */
function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'missing';
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** ContextForge's `slugify` (mcpgateway/utils/create_slug.py) with its default "-" separator: the name its clients call a tool or prompt by. */
export function contextForgeSlug(text: string): string {
  let slug = text.toLowerCase().replace(/(\w)['’](\w)/g, '$1$2');
  slug = slug.replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '');
  slug = slug.replace(/æ/g, 'ae').replace(/ß/g, 'ss').replace(/ø/g, 'o');
  return slug.normalize('NFKD').replace(/[^\x00-\x7F]/g, '');
}

// Fields ContextForge derives or measures; nothing to carry, nothing to report.
const DERIVED = new Set([
  'id', 'created_at', 'updated_at', 'last_modified', 'capabilities', 'metrics', 'health_check', 'federation_enabled',
  'sse_endpoint', 'websocket_endpoint', 'jsonrpc_endpoint', 'size', 'slug', 'gateway_id', 'gateway_slug',
  'custom_name_slug', 'enabled', 'reachable', 'last_seen', 'team_id', 'owner_email', 'team',
  'visibility', 'created_by', 'modified_by', 'version', 'original_description',
]);

const AUTH_TYPES: Record<string, string> = {
  none: 'none', '': 'none', basic: 'basic', bearer: 'bearer', authheaders: 'headers', headers: 'headers', oauth: 'oauth2', oauth2: 'oauth2', query_param: 'query_param',
};

type Entity = Record<string, unknown>;

class Converter {
  readonly notes: FieldError[] = [];
  readonly warnings: FieldError[] = [];
  readonly reenter: Reenter[] = [];
  private readonly unknownFields = new Map<string, Map<string, number[]>>();

  /** A name as a valid name here, or the rename reported at `path`. */
  validName(kind: string, value: unknown, path: string): unknown {
    if (typeof value !== 'string' || NAME_PATTERN.test(value)) return value;
    const fixed = value.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
    if (fixed === '') return value;
    this.notes.push({ path, message: `${kind} "${value}" is named "${fixed}" here (names are A-Z, a-z, 0-9, "_" and "-")` });
    return fixed;
  }

  /** Remember fields this kind has no place for, to report once per field with the objects. */
  leftOver(kind: string, index: number, entity: Entity, used: string[]): void {
    const seen = this.unknownFields.get(kind) ?? new Map<string, number[]>();
    for (const [key, value] of Object.entries(entity)) {
      if (used.includes(key) || DERIVED.has(key) || value === null || isEmpty(value)) continue;
      seen.set(key, [...(seen.get(key) ?? []), index]);
    }
    this.unknownFields.set(kind, seen);
  }

  finish(base: string): void {
    for (const [kind, fields] of this.unknownFields) {
      for (const [field, indexes] of [...fields].sort(([a], [b]) => a.localeCompare(b))) {
        const at = indexes.length === 1 ? `${base}.${kind}[${indexes[0]}].${field}` : `${base}.${kind}[${indexes.join(',')}].${field}`;
        this.notes.push({ path: at, message: `not carried: ${kind} here have no ${field} (${NOT_CARRIED[field] ?? 'no counterpart'})` });
      }
    }
  }
}

const NOT_CARRIED: Record<string, string> = {
  passthrough_headers: 'client headers are not passed through to upstreams',
  auth_query_params: 'more than one query parameter',
};

/** Map a ContextForge export onto an export document, reporting what does not carry. `base` is where `entities` sits in what was sent. */
export function fromContextForge(file: Record<string, unknown> & { entities: Record<string, unknown> }, base = '$.entities'): Conversion {
  const c = new Converter();
  const origins: Record<Kind, string[]> = { gateways: [], servers: [], tools: [], prompts: [], resources: [] };
  const fields: Record<Kind, Record<string, string>[]> = { gateways: [], servers: [], tools: [], prompts: [], resources: [] };
  const out: Record<Kind, Entity[]> = { gateways: [], servers: [], tools: [], prompts: [], resources: [] };
  const aliases: Record<Kind, string[][]> = { gateways: [], servers: [], tools: [], prompts: [], resources: [] };
  const entities = file.entities;
  const list = (kind: string): Entity[] => {
    const value = entities[kind];
    return Array.isArray(value) ? (value as Entity[]) : [];
  };
  const ours = isObject(file.metadata) && file.metadata.generator === GENERATOR;
  const servedName = (value: unknown) => (typeof value !== 'string' || ours ? value : contextForgeSlug(value));
  // Every name a server's tool_ids may use for a tool (its id, original name, custom name, slug) → its name here.
  const toolRefs = new Map<string, string>();

  list('tools').forEach((raw, i) => {
    const path = `${base}.tools[${i}]`;
    const t = snake(raw);
    const fileName = t.original_name ?? t.name;
    if (String(t.integration_type ?? 'REST').toUpperCase() === 'MCP') {
      c.notes.push({ path, message: `tool "${String(fileName)}" is an MCP tool: it comes back when its gateway is registered, so it is not imported` });
      return;
    }
    const served = servedName(t.custom_name ?? fileName);
    const name = c.validName('tool', served, `${path}.name`);
    if (typeof fileName === 'string' && name !== fileName && served === name) {
      c.notes.push({ path: `${path}.name`, message: `tool "${fileName}" is named "${String(name)}" here: the name ContextForge served it under (its slug), so its clients keep calling it by that name` });
    }
    for (const ref of [t.id, fileName, t.custom_name, served, t.name]) if (typeof ref === 'string' && ref !== '') toolRefs.set(ref, String(name));
    const display = typeof t.display_name === 'string' && t.display_name !== '' && t.display_name !== fileName && t.display_name !== name ? t.display_name : undefined;
    const tool: Entity = {
      ...common(c, t),
      name,
      title: display,
      integration_type: 'REST',
      url: t.url,
      request_type: typeof t.request_type === 'string' ? t.request_type.toUpperCase() : t.request_type,
      headers: unmasked(c, t.headers, `${path}.headers`),
      input_schema: t.input_schema ?? undefined,
      output_schema: t.output_schema ?? undefined,
      annotations: t.annotations ?? undefined,
      response_path: t.jsonpath_filter ? t.jsonpath_filter : undefined,
      timeout_ms: typeof t.timeout === 'number' && t.timeout > 0 ? Math.round(t.timeout * 1000) : undefined,
      ...auth(c, t, { kind: 'tools', key: String(name), path }),
      rate_limit: t.rate_limit === 0 ? undefined : (t.rate_limit ?? undefined),
    };
    if (typeof t.jsonpath_filter === 'string' && t.jsonpath_filter !== '' && !/^\$?(\.[A-Za-z_][\w-]*|\[\d+\]|\.)*$/.test(t.jsonpath_filter)) {
      c.warnings.push({ path: `${path}.jsonpath_filter`, message: `jq filter "${t.jsonpath_filter}" is kept as response_path, which selects plain paths only (.a.b, .items[0]); calls will fail until it is one` });
    }
    c.leftOver('tools', i, t, [...COMMON, ...AUTH, 'custom_name', 'display_name', 'url', 'integration_type', 'request_type', 'headers', 'input_schema', 'output_schema', 'annotations', 'jsonpath_filter', 'timeout', 'rate_limit']);
    out.tools.push(defined(tool));
    origins.tools.push(path);
    fields.tools.push({ response_path: 'jsonpath_filter', title: raw.displayName !== undefined ? 'displayName' : 'display_name', timeout_ms: 'timeout' });
    aliases.tools.push(names(t.id, fileName, t.custom_name, served, t.name));
  });

  list('gateways').forEach((raw, i) => {
    const path = `${base}.gateways[${i}]`;
    const g = snake(raw);
    // ContextForge's import (GatewayCreate) defaults a missing transport to SSE.
    const transport = typeof g.transport === 'string' ? g.transport.toLowerCase().replace(/[^a-z]/g, '') : 'sse';
    const name = c.validName('gateway', g.name, `${path}.name`);
    out.gateways.push(defined({ ...common(c, g), name, url: g.url, transport, ...auth(c, g, { kind: 'gateways', key: String(name), path }) }));
    c.leftOver('gateways', i, g, [...COMMON, ...AUTH, 'url', 'transport']);
    origins.gateways.push(path);
    fields.gateways.push({});
    aliases.gateways.push(names(g.id, g.name, name));
  });

  list('prompts').forEach((raw, i) => {
    const path = `${base}.prompts[${i}]`;
    const p = snake(raw);
    const fileName = p.original_name ?? p.name;
    const source = p.custom_name ?? fileName;
    const served = servedName(source);
    const name = c.validName('prompt', served, `${path}.name`);
    if (typeof fileName === 'string' && name !== fileName && served === name) {
      c.notes.push({ path: `${path}.name`, message: `prompt "${fileName}" is named "${String(name)}" here: the name ContextForge served it under (its slug), so its clients keep calling it by that name` });
    }
    const display = typeof p.display_name === 'string' && p.display_name !== '' && p.display_name !== fileName && p.display_name !== source && p.display_name !== name ? p.display_name : undefined;
    out.prompts.push(
      defined({ ...common(c, p), name, title: display, template: p.template, input_schema: p.input_schema ?? argumentsSchema(p.arguments), ...auth(c, p, { kind: 'prompts', key: String(name), path }) }),
    );
    c.leftOver('prompts', i, p, [...COMMON, ...AUTH, 'original_name', 'custom_name', 'display_name', 'template', 'input_schema', 'arguments']);
    origins.prompts.push(path);
    fields.prompts.push({ title: 'display_name' });
    aliases.prompts.push(names(p.id, fileName, p.name, p.custom_name, served));
  });

  list('resources').forEach((raw, i) => {
    const path = `${base}.resources[${i}]`;
    const r = snake(raw);
    out.resources.push(
      defined({
        ...common(c, r),
        name: typeof r.name === 'string' && r.name !== '' ? r.name : undefined,
        uri: r.uri,
        mime_type: r.mime_type ?? undefined,
        text: typeof r.content === 'string' && r.content !== '' ? r.content : typeof r.text === 'string' ? r.text : undefined,
      }),
    );
    c.leftOver('resources', i, r, [...COMMON, 'uri', 'mime_type', 'content', 'text']);
    origins.resources.push(path);
    fields.resources.push({ text: r.content !== undefined ? 'content' : 'text' });
    aliases.resources.push(names(r.id, r.uri, r.name));
  });

  list('servers').forEach((raw, i) => {
    const path = `${base}.servers[${i}]`;
    const s = snake(raw);
    const fieldMap: Record<string, string> = {};
    const refs = (ours: string, map: Map<string, string> | undefined, ...candidates: string[]) => {
      for (const field of candidates) {
        if (!Array.isArray(s[field])) continue;
        fieldMap[ours] = field;
        return [...new Set((s[field] as unknown[]).map((n) => (typeof n === 'string' ? (map?.get(n) ?? n) : n)))];
      }
      return undefined;
    };
    out.servers.push(
      defined({
        ...common(c, s),
        name: c.validName('server', s.name, `${path}.name`),
        tools: refs('tools', toolRefs, 'tool_ids', 'associated_tools', 'tools'),
        prompts: refs('prompts', undefined, 'prompt_ids', 'associated_prompts', 'prompts'),
        resources: refs('resources', undefined, 'resource_ids', 'associated_resources', 'resources'),
      }),
    );
    c.leftOver('servers', i, s, [...COMMON, 'tool_ids', 'associated_tools', 'tools', 'prompt_ids', 'associated_prompts', 'prompts', 'resource_ids', 'associated_resources', 'resources']);
    origins.servers.push(path);
    fields.servers.push(fieldMap);
    aliases.servers.push(names(s.id, s.name));
  });

  const roots = list('roots');
  if (roots.length > 0) c.notes.push({ path: `${base}.roots`, message: `${roots.length} root${roots.length > 1 ? 's' : ''} not carried: this gateway has no roots (MCP clients declare their own)` });
  for (const key of Object.keys(entities)) {
    if (!['tools', 'gateways', 'servers', 'prompts', 'resources', 'roots'].includes(key)) c.notes.push({ path: `${base}.${key}`, message: 'not carried: no counterpart here' });
  }
  c.finish(base);
  return { document: { version: EXPORT_VERSION, ...out }, origins, fields, aliases, notes: c.notes, warnings: c.warnings, reenter: c.reenter };
}

const COMMON = ['name', 'description', 'tags', 'is_active', 'enabled'];
const AUTH = ['auth_type', 'auth_value', 'auth_query_params'];

function common(_c: Converter, e: Entity): Entity {
  const active = e.is_active ?? e.enabled;
  return {
    description: e.description ?? undefined,
    tags: Array.isArray(e.tags) ? e.tags.map(tagText) : undefined,
    is_active: typeof active === 'boolean' ? active : undefined,
  };
}

/** Header values ContextForge masked (`*****`) are not secrets anyone can use: drop them, saying where. */
function unmasked(c: Converter, headers: unknown, path: string): unknown {
  if (!isObject(headers)) return headers ?? undefined;
  const out: Entity = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === CONTEXTFORGE_MASK) c.warnings.push({ path: `${path}.${key}`, message: `masked value "${CONTEXTFORGE_MASK}" dropped: ContextForge wrote a mask, not the header's value; set it again` });
    else out[key] = value;
  }
  return out;
}

function auth(c: Converter, e: Entity, who: { kind: Kind; key: string; path: string }): Entity {
  const declared = typeof e.auth_type === 'string' ? e.auth_type : undefined;
  const type = declared !== undefined ? (AUTH_TYPES[declared.toLowerCase()] ?? declared) : undefined;
  if (type === undefined || type === 'none') return {};
  const reenter = (reason: string) => {
    c.reenter.push({ kind: who.kind, key: who.key, path: who.path, auth_type: declared!, reason });
    c.warnings.push({ path: `${who.path}.auth_value`, message: `${who.kind.slice(0, -1)} "${who.key}" has auth_type "${declared}" but ${reason}: imported without credentials; enter them again` });
    return {};
  };
  if (type === 'query_param') {
    const params = isObject(e.auth_query_params) ? Object.entries(e.auth_query_params) : [];
    if (params.length === 0) return reenter('no auth_query_params');
    const [[param, value], ...rest] = params as [[string, unknown], ...[string, unknown][]];
    if (rest.length > 0) c.notes.push({ path: `${who.path}.auth_query_params`, message: `only the first query parameter ("${param}") is carried, as ContextForge's import does; ${rest.map(([k]) => `"${k}"`).join(', ')} dropped` });
    if (typeof value !== 'string' || value === '') return reenter(`auth_query_params.${param} is empty`);
    if (value === CONTEXTFORGE_MASK) return reenter(`auth_query_params.${param} is masked ("${CONTEXTFORGE_MASK}")`);
    // Each parameter's value is encrypted on its own, as {param: value}: the same payload shape as ours.
    return { auth_type: 'query_param', auth_value: value };
  }
  const value = e.auth_value;
  if (value === CONTEXTFORGE_MASK) return reenter(`its auth_value is masked ("${CONTEXTFORGE_MASK}")`);
  if (typeof value !== 'string' || value === '') return reenter('the file holds no auth_value (ContextForge exports tools\' credentials as null)');
  return { auth_type: type, auth_value: value };
}

/** Tags are strings, or `{id, label}` objects in newer ContextForge files. */
function tagText(tag: unknown): unknown {
  if (isObject(tag)) return tag.label ?? tag.id;
  return tag;
}

/** Older prompts list `arguments: [{name, description, required}]` instead of a schema. */
function argumentsSchema(args: unknown): Entity | undefined {
  if (!Array.isArray(args)) return undefined;
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const arg of args) {
    if (!isObject(arg) || typeof arg.name !== 'string') continue;
    properties[arg.name] = { type: 'string', ...(typeof arg.description === 'string' && arg.description ? { description: arg.description } : {}) };
    if (arg.required === true) required.push(arg.name);
  }
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
}

/** Keys in snake_case: ContextForge writes either. */
function snake(entity: unknown): Entity {
  if (!isObject(entity)) return {};
  const out: Entity = {};
  for (const [key, value] of Object.entries(entity)) out[key.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`)] = value;
  return out;
}

function names(...values: unknown[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}

function defined(entity: Entity): Entity {
  const out: Entity = {};
  for (const [key, value] of Object.entries(entity)) if (value !== undefined && value !== null) out[key] = value;
  return out;
}

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (isObject(value)) return Object.keys(value).length === 0;
  return value === '';
}
