import type { Store, StoredObject } from '../store/store.js';
import { servedTools, type ArgumentRules } from './curation.js';
import { RawResult } from '../protocol/jsonrpc.js';
import { listedTools, type MetaTool } from './tool-search.js';
import { isTaskOnly } from './tasks.js';

/**
 * The in-memory index the MCP endpoints serve from: every active tool, prompt, resource and
 * resource template, globally (`/mcp`) and per virtual server. Rebuilt from the store when the
 * registry or federation reports a change, so no request reads the database.
 */

export type Fields = Record<string, unknown>;

export interface ToolEntry {
  name: string;
  fields: Fields;
  /** The MCP `Tool` object, built once. */
  descriptor: Record<string, unknown>;
  /** The gateway an MCP tool comes from. */
  gateway: string | null;
  originalName: string;
  /** Arguments a virtual server fixes or defaults (curation.ts). */
  arguments?: ArgumentRules;
  /** A search-mode meta-tool (tool-search.ts), answered by the gateway itself. */
  meta?: MetaTool;
}

export interface PromptEntry {
  name: string;
  descriptor: Record<string, unknown>;
  /** A stored prompt (template) or a federated one. */
  local?: { key: string; template: string; input_schema: Record<string, unknown> };
  gateway?: string;
  originalName: string;
}

export interface ResourceEntry {
  uri: string;
  descriptor: Record<string, unknown>;
  local?: { text: string | null; blob: string | null; mime_type: string | null };
  gateway?: string;
}

export interface TemplateEntry {
  uriTemplate: string;
  descriptor: Record<string, unknown>;
  gateway: string;
}

/** What federation contributes besides stored tools: prompts, resources and templates per gateway. */
export interface FederatedItems {
  gateway: string;
  prompts: { name: string; originalName: string; descriptor: Record<string, unknown> }[];
  resources: Record<string, unknown>[];
  templates: Record<string, unknown>[];
  /** Fields of upstream tools the gateway does not manage (execution, icons, _meta…), by original name, verbatim. */
  toolExtras?: Map<string, Record<string, unknown>>;
  /** The upstream's own instructions. */
  instructions?: string;
}

export interface FederationSource {
  federatedItems(): FederatedItems[];
}

/** Tools that are not stored: capability files (only enabled ones are served). */
export interface FileToolSource {
  enabled(): Record<string, unknown>[];
}

/** 2026-07-28 results of cacheable verbs carry a cache hint; the gateway's lists change at any time. */
export const MODERN_CACHEABLE = { resultType: 'complete', ttlMs: 0, cacheScope: 'private' } as const;

/** One MCP endpoint's content. */
export class View {
  readonly toolsByName = new Map<string, ToolEntry>();
  readonly promptsByName = new Map<string, PromptEntry>();
  readonly resourcesByUri = new Map<string, ResourceEntry>();
  private readonly pages = new Map<string, RawResult>();
  private withoutTaskOnly: ToolEntry[] | undefined;
  /** `instructions` for initialize: the gateway's line, then each upstream's own under its name. */
  readonly instructions: string;

  constructor(
    readonly name: string,
    readonly server: Fields | undefined,
    readonly tools: ToolEntry[],
    readonly prompts: PromptEntry[],
    readonly resources: ResourceEntry[],
    readonly templates: TemplateEntry[],
    private readonly pageSize: number,
    /** What tools/list shows when it differs from the callable tools (search mode). */
    readonly listed: ToolEntry[] = tools,
    upstreamInstructions: Map<string, string> = new Map(),
  ) {
    this.instructions = viewInstructions(this, upstreamInstructions);
    for (const tool of tools) this.toolsByName.set(tool.name, tool);
    for (const tool of listed) if (tool.meta) this.toolsByName.set(tool.name, tool);
    for (const prompt of prompts) this.promptsByName.set(prompt.name, prompt);
    for (const resource of resources) this.resourcesByUri.set(resource.uri, resource);
  }

  /** A list page, serialized once per (method, cursor, era) and then served from memory. */
  page(method: 'tools' | 'prompts' | 'resources' | 'resourceTemplates', cursor: string | undefined, modern: boolean, taskOnly = true): RawResult | undefined {
    const key = `${method}|${cursor ?? ''}|${modern ? 1 : 0}|${taskOnly ? 1 : 0}`;
    const cached = this.pages.get(key);
    if (cached) return cached;
    // Task-only tools (execution.taskSupport "required") are left out for clients that did not declare tasks.
    const tools = taskOnly ? this.listed : (this.withoutTaskOnly ??= this.listed.filter((t) => !isTaskOnly(t.descriptor)));
    const all = method === 'tools' ? tools : method === 'prompts' ? this.prompts : method === 'resources' ? this.resources : this.templates;
    let start = 0;
    if (cursor !== undefined) {
      const offset = decodeCursor(cursor);
      if (offset === undefined || offset > all.length) return undefined;
      start = offset;
    }
    // A page ends at MCP_PAGE_SIZE items or before MAX_PAGE_BYTES of JSON, whichever comes first (issue 15).
    const slice: unknown[] = [];
    let bytes = 0;
    for (let i = start; i < all.length && slice.length < this.pageSize; i++) {
      const descriptor = all[i]!.descriptor;
      const size = Buffer.byteLength(JSON.stringify(descriptor)) + 1;
      if (slice.length > 0 && bytes + size > MAX_PAGE_BYTES) break;
      bytes += size;
      slice.push(descriptor);
    }
    const result: Record<string, unknown> = { [method]: slice };
    if (start + slice.length < all.length) result.nextCursor = encodeCursor(start + slice.length);
    if (modern) Object.assign(result, MODERN_CACHEABLE);
    const raw = new RawResult(JSON.stringify(result));
    if (this.pages.size < 10_000) this.pages.set(key, raw);
    return raw;
  }
}

/** The snapshot every request reads: the global view and one view per active virtual server. */
/** A list page stays below what standard clients accept in one message (10 MiB), with room for the envelope. */
export const MAX_PAGE_BYTES = 8 * 1024 * 1024;

export class Snapshot {
  constructor(
    readonly all: View,
    /** Views by server id and by server name. */
    readonly servers: Map<string, View>,
    /** For each REST tool, the first server (by name) that lists it: its base URL and credentials. */
    readonly toolServer: Map<string, Fields>,
  ) {}
}

export class Catalog {
  private snapshot: Snapshot | undefined;
  private building: Promise<Snapshot> | undefined;
  private dirty = true;
  private version = 0;
  private readonly listeners = new Set<(kinds: Set<string>) => void>();
  private pendingKinds = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly federation: FederationSource,
    private readonly pageSize: number,
    private readonly fileTools?: FileToolSource,
    /** Past this many tools, /mcp lists the search meta-tools instead (TOOL_SEARCH_THRESHOLD; 0: never). */
    private readonly searchThreshold = 0,
  ) {}

  /** Mark the index stale; the next request rebuilds it. Listeners hear which kinds changed. */
  invalidate(kind: string): void {
    this.dirty = true;
    this.version++;
    this.pendingKinds.add(kind);
    if (this.pendingKinds.size === 1) {
      setImmediate(() => {
        const kinds = this.pendingKinds;
        this.pendingKinds = new Set();
        for (const listener of this.listeners) listener(kinds);
      });
    }
  }

  /** Hear about changes (to send list_changed notifications). */
  onChange(listener: (kinds: Set<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current snapshot; rebuilt once after a change, shared by concurrent callers. */
  current(): Snapshot | Promise<Snapshot> {
    if (!this.dirty && this.snapshot) return this.snapshot;
    return this.rebuild();
  }

  private rebuild(): Promise<Snapshot> {
    if (this.building) return this.building;
    const version = this.version;
    this.building = this.build()
      .then((snapshot) => {
        this.snapshot = snapshot;
        if (this.version === version) this.dirty = false;
        return snapshot;
      })
      .finally(() => {
        this.building = undefined;
      });
    return this.building;
  }

  private async build(): Promise<Snapshot> {
    const [tools, prompts, resources, servers, gateways] = await Promise.all([
      this.store.list('tools'),
      this.store.list('prompts'),
      this.store.list('resources'),
      this.store.list('servers'),
      this.store.list('gateways'),
    ]);
    const activeGateways = new Set(gateways.map((g) => String(g.fields.name)));
    const federated = this.federation.federatedItems().filter((items) => activeGateways.has(items.gateway));
    const extras = new Map(federated.map((items) => [items.gateway, items.toolExtras]));
    const toolEntries = tools
      .filter((t) => t.fields.integration_type !== 'MCP' || activeGateways.has(String(t.fields.gateway)))
      .map((row) => toolEntry(row, extras.get(String(row.fields.gateway))?.get(String(row.fields.original_name))));
    // Enabled capability files, unless a stored tool has the same name.
    const storedNames = new Set(tools.map((t) => String(t.fields.name)));
    for (const fields of this.fileTools?.enabled() ?? []) {
      if (storedNames.has(String(fields.name))) continue;
      toolEntries.push(toolEntry({ id: String(fields.id), created_at: String(fields.created_at), updated_at: String(fields.updated_at), fields }));
    }
    toolEntries.sort(byKey((t) => t.name));
    const promptEntries: PromptEntry[] = prompts.map(promptEntry);
    const resourceEntries: ResourceEntry[] = resources.map(resourceEntry);
    const templateEntries: TemplateEntry[] = [];
    const storedUris = new Set(resourceEntries.map((r) => r.uri));
    const promptNames = new Set(promptEntries.map((p) => p.name));
    const templateUris = new Set<string>();
    const instructions = new Map<string, string>();
    for (const items of federated) {
      if (items.instructions) instructions.set(items.gateway, items.instructions);
      for (const p of items.prompts) {
        if (promptNames.has(p.name)) continue;
        promptNames.add(p.name);
        promptEntries.push({ name: p.name, descriptor: p.descriptor, gateway: items.gateway, originalName: p.originalName });
      }
      for (const r of items.resources) {
        const uri = String(r.uri);
        if (storedUris.has(uri)) continue;
        storedUris.add(uri);
        resourceEntries.push({ uri, descriptor: r, gateway: items.gateway });
      }
      // One entry per URI template: the first gateway (by name order of discovery) keeps it.
      for (const t of items.templates) {
        const uriTemplate = String(t.uriTemplate);
        if (templateUris.has(uriTemplate)) continue;
        templateUris.add(uriTemplate);
        templateEntries.push({ uriTemplate, descriptor: t, gateway: items.gateway });
      }
    }
    promptEntries.sort(byKey((p) => p.name));
    resourceEntries.sort(byKey((r) => r.uri));
    templateEntries.sort(byKey((t) => t.uriTemplate));

    const globalExposure = this.searchThreshold > 0 && toolEntries.length > this.searchThreshold ? { tool_exposure: 'search' } : {};
    const all = new View('all', undefined, toolEntries, promptEntries, resourceEntries, templateEntries, this.pageSize, listedTools(globalExposure, toolEntries), instructions);
    const views = new Map<string, View>();
    const toolServer = new Map<string, Fields>();
    for (const server of servers) {
      const f = server.fields;
      const pick = <T>(names: unknown, index: Map<string, T>) =>
        ((names as string[] | undefined) ?? []).flatMap((n) => (index.has(n) ? [index.get(n)!] : []));
      const serverTools = servedTools(f, toolEntries);
      const serverPrompts = pick(f.prompts, all.promptsByName).sort(byKey((p) => p.name));
      const serverResources = pick(f.resources, all.resourcesByUri).sort(byKey((r) => r.uri));
      // A server serves the URI templates it names in `resources`, and no others.
      const named = new Set((f.resources as string[] | undefined) ?? []);
      const serverTemplates = templateEntries.filter((t) => named.has(t.uriTemplate));
      const view = new View(String(f.name), f, serverTools, serverPrompts, serverResources, serverTemplates, this.pageSize, listedTools(f, serverTools), instructions);
      views.set(server.id, view);
      views.set(String(f.name), view);
      for (const tool of serverTools) if (!toolServer.has(String(tool.fields.name))) toolServer.set(String(tool.fields.name), f);
    }
    return new Snapshot(all, views, toolServer);
  }
}

function toolEntry(row: StoredObject, extras?: Record<string, unknown>): ToolEntry {
  const f = row.fields;
  // An upstream tool's other fields (execution, icons, _meta…) first, verbatim; the managed ones win.
  const descriptor: Record<string, unknown> = {
    ...extras,
    name: f.name,
    description: f.description ?? '',
    inputSchema: withObjectType(f.input_schema),
  };
  if (f.title) descriptor.title = f.title;
  if (f.output_schema) descriptor.outputSchema = withObjectType(f.output_schema);
  if (f.annotations && Object.keys(f.annotations as object).length > 0) descriptor.annotations = f.annotations;
  return {
    name: String(f.name),
    fields: f,
    descriptor,
    gateway: f.integration_type === 'MCP' ? String(f.gateway) : null,
    originalName: String(f.original_name ?? f.name),
  };
}

function promptEntry(row: StoredObject): PromptEntry {
  const f = row.fields;
  const schema = (f.input_schema ?? {}) as { properties?: Record<string, { description?: string }>; required?: string[] };
  const required = new Set(schema.required ?? []);
  const args = Object.entries(schema.properties ?? {}).map(([name, prop]) => {
    const arg: Record<string, unknown> = { name, required: required.has(name) };
    if (prop && typeof prop.description === 'string') arg.description = prop.description;
    return arg;
  });
  const descriptor: Record<string, unknown> = { name: f.name, description: f.description ?? '', arguments: args };
  if (f.title) descriptor.title = f.title;
  return {
    name: String(f.name),
    descriptor,
    local: { key: `${row.id}@${row.updated_at}`, template: String(f.template), input_schema: (f.input_schema ?? {}) as Record<string, unknown> },
    originalName: String(f.name),
  };
}

function resourceEntry(row: StoredObject): ResourceEntry {
  const f = row.fields;
  const descriptor: Record<string, unknown> = { uri: f.uri, name: f.name ?? f.uri };
  if (f.title) descriptor.title = f.title;
  if (f.description) descriptor.description = f.description;
  if (f.mime_type) descriptor.mimeType = f.mime_type;
  return {
    uri: String(f.uri),
    descriptor,
    local: { text: (f.text as string | null) ?? null, blob: (f.blob as string | null) ?? null, mime_type: (f.mime_type as string | null) ?? null },
  };
}

const GATEWAY_INSTRUCTIONS = 'MCP Gateway: every tool, prompt and resource behind this endpoint.';

/** The gateway's line, then the instructions of each upstream this view serves something of, under its name. */
function viewInstructions(view: View, upstream: Map<string, string>): string {
  if (upstream.size === 0) return GATEWAY_INSTRUCTIONS;
  const used = new Set<string>();
  for (const t of view.tools) if (t.gateway) used.add(t.gateway);
  for (const p of view.prompts) if (p.gateway) used.add(p.gateway);
  for (const r of view.resources) if (r.gateway) used.add(r.gateway);
  for (const t of view.templates) used.add(t.gateway);
  const parts = [...used].sort().flatMap((gateway) => (upstream.has(gateway) ? [`## ${gateway}\n\n${upstream.get(gateway)!}`] : []));
  return parts.length === 0 ? GATEWAY_INSTRUCTIONS : `${GATEWAY_INSTRUCTIONS}\n\n${parts.join('\n\n')}`;
}

function withObjectType(schema: unknown): Record<string, unknown> {
  const s = (schema && typeof schema === 'object' ? schema : {}) as Record<string, unknown>;
  return s.type === 'object' ? s : { ...s, type: 'object' };
}

function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number | undefined {
  if (typeof cursor !== 'string' || cursor.length > 64) return undefined;
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : undefined;
}

/** A stored object's own rate limit: its bucket key (the stored name) and calls per minute. */
export interface OwnRateLimit {
  key: string;
  limit: number;
}

interface ViewLimits {
  server: OwnRateLimit | undefined;
  hasToolLimits: boolean;
  tool(servedName: string, args: unknown): OwnRateLimit | undefined;
}

/** Per view, built once: a request reads it without allocating. */
const ownLimits = new WeakMap<View, ViewLimits>();

const limitOf = (fields: Fields | undefined): OwnRateLimit | undefined =>
  fields && typeof fields.rate_limit === 'number' && fields.rate_limit >= 1 ? { key: String(fields.name), limit: fields.rate_limit } : undefined;

/**
 * The `rate_limit` fields a request to an endpoint spends (src/http/rate-limit-hook.ts): its
 * virtual server's, and the tool a tools/call names, found the way the dispatcher finds it (by
 * served name in that endpoint's view) and keyed on the stored tool. Undefined: no such server.
 */
export function rateLimitsOf(snapshot: Snapshot, server: string | undefined): ViewLimits | undefined {
  const view = server === undefined ? snapshot.all : snapshot.servers.get(server);
  if (!view) return undefined;
  let own = ownLimits.get(view);
  if (!own) {
    own = {
      server: limitOf(view.server),
      hasToolLimits: view.tools.some((t) => limitOf(t.fields) !== undefined),
      tool(servedName: string, args: unknown): OwnRateLimit | undefined {
        let tool = view.toolsByName.get(servedName);
        if (tool?.meta === 'call') {
          const target = (args as { name?: unknown } | null | undefined)?.name;
          tool = typeof target === 'string' ? view.toolsByName.get(target) : undefined;
        }
        return tool && !tool.meta ? limitOf(tool.fields) : undefined;
      },
    };
    ownLimits.set(view, own);
  }
  return own;
}
