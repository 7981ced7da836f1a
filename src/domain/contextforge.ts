import type { Kind } from './entities.js';
import { EXPORT_VERSION } from './export-document.js';
import { isObject } from './merge-patch.js';
import { NAME_PATTERN } from './text.js';

/**
 * IBM ContextForge export files (`entities: {tools, gateways, servers, prompts, resources,
 * roots}`) mapped onto this gateway's kinds. Their `auth_value` uses the same encryption
 * (SPEC §6), so it is carried unchanged. What has no counterpart here is reported, not guessed.
 */

/** A ContextForge file turned into the shape of an export document (not yet validated). */
export interface Conversion {
  document: Record<string, unknown>;
  /** For each kind, the JSON path in the original file of each converted object. */
  origins: Record<Kind, string[]>;
  /** What could not be carried over, one line each. */
  notes: string[];
}

/** True for a document in ContextForge's layout. */
export function isContextForge(value: unknown): value is Record<string, unknown> & { entities: Record<string, unknown> } {
  return isObject(value) && isObject(value.entities);
}

// Fields ContextForge derives or measures; nothing to carry, nothing to report.
const DERIVED = new Set([
  'id', 'created_at', 'updated_at', 'last_modified', 'capabilities', 'metrics', 'health_check', 'federation_enabled',
  'sse_endpoint', 'websocket_endpoint', 'jsonrpc_endpoint', 'size', 'slug', 'gateway_id', 'gateway_slug', 'custom_name',
  'custom_name_slug', 'original_name', 'display_name', 'enabled', 'reachable', 'last_seen', 'team_id', 'owner_email',
  'visibility', 'created_by', 'modified_by', 'version',
]);

const AUTH_TYPES: Record<string, string> = {
  none: 'none', '': 'none', basic: 'basic', bearer: 'bearer', authheaders: 'headers', headers: 'headers', oauth: 'oauth2', oauth2: 'oauth2',
};

type Entity = Record<string, unknown>;

class Converter {
  readonly notes: string[] = [];
  readonly renamed = new Map<string, string>();
  private readonly unknownFields = new Map<string, Set<string>>();

  /** A ContextForge name as a valid name here; reports a change. */
  name(kind: string, value: unknown): unknown {
    if (typeof value !== 'string' || NAME_PATTERN.test(value)) return value;
    const fixed = value.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
    if (fixed === '') return value;
    this.renamed.set(value, fixed);
    this.notes.push(`${kind} "${value}" is named "${fixed}" here (names are A-Z, a-z, 0-9, "_" and "-")`);
    return fixed;
  }

  /** Report fields this kind has no place for (once per field name). */
  leftOver(kind: string, entity: Entity, used: string[]): void {
    const seen = this.unknownFields.get(kind) ?? new Set<string>();
    for (const [key, value] of Object.entries(entity)) {
      if (used.includes(key) || DERIVED.has(key) || value === null || isEmpty(value)) continue;
      seen.add(key);
    }
    this.unknownFields.set(kind, seen);
  }

  finish(): void {
    for (const [kind, fields] of this.unknownFields) {
      if (fields.size > 0) this.notes.push(`${kind}: fields not carried (no counterpart here): ${[...fields].sort().join(', ')}`);
    }
  }
}

/** Map a ContextForge export onto an export document, reporting what does not carry. */
export function fromContextForge(file: Record<string, unknown> & { entities: Record<string, unknown> }): Conversion {
  const c = new Converter();
  const origins: Record<Kind, string[]> = { gateways: [], servers: [], tools: [], prompts: [], resources: [] };
  const out: Record<Kind, Entity[]> = { gateways: [], servers: [], tools: [], prompts: [], resources: [] };
  const entities = file.entities;
  const list = (kind: string): Entity[] => {
    const value = entities[kind];
    return Array.isArray(value) ? (value as Entity[]) : [];
  };

  list('tools').forEach((raw, i) => {
    const t = snake(raw);
    if (String(t.integration_type ?? 'REST').toUpperCase() === 'MCP') {
      c.notes.push(`tool "${String(t.original_name ?? t.name)}" is an MCP tool: it comes back when its gateway is registered, so it is not imported`);
      return;
    }
    const tool: Entity = {
      ...common(c, 'tool', t, t.original_name ?? t.name),
      integration_type: 'REST',
      url: t.url,
      request_type: typeof t.request_type === 'string' ? t.request_type.toUpperCase() : t.request_type,
      headers: t.headers ?? undefined,
      input_schema: t.input_schema ?? undefined,
      output_schema: t.output_schema ?? undefined,
      annotations: t.annotations ?? undefined,
      response_path: t.jsonpath_filter ? t.jsonpath_filter : undefined,
      ...auth(t),
    };
    if (typeof t.display_name === 'string' && t.display_name !== '') tool.title = t.display_name;
    c.leftOver('tools', t, [...COMMON, ...AUTH, 'url', 'integration_type', 'request_type', 'headers', 'input_schema', 'output_schema', 'annotations', 'jsonpath_filter']);
    out.tools.push(defined(tool));
    origins.tools.push(`$.entities.tools[${i}]`);
  });

  list('gateways').forEach((raw, i) => {
    const g = snake(raw);
    const transport = typeof g.transport === 'string' ? g.transport.toLowerCase().replace(/[^a-z]/g, '') : undefined;
    out.gateways.push(defined({ ...common(c, 'gateway', g, g.name), url: g.url, transport, ...auth(g) }));
    c.leftOver('gateways', g, [...COMMON, ...AUTH, 'url', 'transport']);
    origins.gateways.push(`$.entities.gateways[${i}]`);
  });

  list('prompts').forEach((raw, i) => {
    const p = snake(raw);
    out.prompts.push(defined({ ...common(c, 'prompt', p, p.name), template: p.template, input_schema: p.input_schema ?? argumentsSchema(p.arguments), ...auth(p) }));
    c.leftOver('prompts', p, [...COMMON, ...AUTH, 'template', 'input_schema', 'arguments']);
    origins.prompts.push(`$.entities.prompts[${i}]`);
  });

  list('resources').forEach((raw, i) => {
    const r = snake(raw);
    const base = common(c, 'resource', r, undefined);
    out.resources.push(
      defined({
        ...base,
        name: typeof r.name === 'string' && r.name !== '' ? r.name : undefined,
        uri: r.uri,
        mime_type: r.mime_type ?? undefined,
        text: typeof r.content === 'string' ? r.content : typeof r.text === 'string' ? r.text : undefined,
      }),
    );
    c.leftOver('resources', r, [...COMMON, 'uri', 'mime_type', 'content', 'text']);
    origins.resources.push(`$.entities.resources[${i}]`);
  });

  list('servers').forEach((raw, i) => {
    const s = snake(raw);
    const refs = (...fields: string[]) => {
      for (const field of fields) if (Array.isArray(s[field])) return (s[field] as unknown[]).map((n) => (typeof n === 'string' ? (c.renamed.get(n) ?? n) : n));
      return undefined;
    };
    out.servers.push(
      defined({
        ...common(c, 'server', s, s.name),
        tools: refs('tool_ids', 'associated_tools', 'tools'),
        prompts: refs('prompt_ids', 'associated_prompts', 'prompts'),
        resources: refs('resource_ids', 'associated_resources', 'resources'),
      }),
    );
    c.leftOver('servers', s, [...COMMON, 'tool_ids', 'associated_tools', 'tools', 'prompt_ids', 'associated_prompts', 'prompts', 'resource_ids', 'associated_resources', 'resources']);
    origins.servers.push(`$.entities.servers[${i}]`);
  });

  const roots = list('roots');
  if (roots.length > 0) c.notes.push(`${roots.length} root${roots.length > 1 ? 's' : ''} not carried: this gateway has no roots`);
  for (const key of Object.keys(entities)) {
    if (!['tools', 'gateways', 'servers', 'prompts', 'resources', 'roots'].includes(key)) c.notes.push(`entities.${key} not carried: no counterpart here`);
  }
  c.finish();
  return { document: { version: EXPORT_VERSION, ...out }, origins, notes: c.notes };
}

const COMMON = ['name', 'description', 'tags', 'is_active', 'enabled'];
const AUTH = ['auth_type', 'auth_value'];

function common(c: Converter, kind: string, e: Entity, name: unknown): Entity {
  const active = e.is_active ?? e.enabled;
  return {
    name: name === undefined ? undefined : c.name(kind, name),
    description: e.description ?? undefined,
    tags: Array.isArray(e.tags) ? e.tags.map(tagText) : undefined,
    is_active: typeof active === 'boolean' ? active : undefined,
  };
}

function auth(e: Entity): Entity {
  const type = typeof e.auth_type === 'string' ? (AUTH_TYPES[e.auth_type.toLowerCase()] ?? e.auth_type) : undefined;
  const value = typeof e.auth_value === 'string' && e.auth_value !== '' ? e.auth_value : undefined;
  if (!value) return type === undefined || type === 'none' ? {} : { auth_type: type };
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
