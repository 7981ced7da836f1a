import { randomUUID } from 'node:crypto';
import { UriTemplate } from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import { canonicalJson } from '../../domain/merge-patch.js';
import { disambiguated, federatedName, gatewayPrefix } from '../../domain/names.js';
import type { FederatedItems } from '../../mcp/catalog.js';
import { RpcError, UPSTREAM_FAILURE } from '../../protocol/jsonrpc.js';
import type { Repository, Store, StoredObject } from '../../store/store.js';
import type { UpstreamLists } from '../../upstream/mcp-connection.js';
import { sessionExpired, type Link, type Links } from './links.js';
import type { FederationOptions } from './options.js';

/** What a discovery changed: the kinds of object the catalog must read again. */
export type FederatedKind = 'tools' | 'prompts' | 'resources';

/** What a discovery found and how names were assigned. */
export interface DiscoveryReport {
  gateway: string;
  tools: number;
  prompts: number;
  resources: number;
  resource_templates: number;
  /** Upstream names whose natural gateway name was taken, and the name they got instead. */
  collisions: { original_name: string; wanted: string; name: string }[];
  /** Upstream tools not served to every client, and why (a task-only tool: only to clients that declare tasks). */
  hidden: { original_name: string; reason: string }[];
}

/** Tool fields the gateway stores and serves itself; every other field of an upstream tool is passed on verbatim. */
const MANAGED_TOOL_FIELDS = new Set(['name', 'description', 'title', 'inputSchema', 'outputSchema', 'annotations']);
const TASK_ONLY_REASON = 'execution.taskSupport is "required": listed only to clients that declare the tasks capability (2025-11-25) or the io.modelcontextprotocol/tasks extension (2026-07-28); every call without a task would fail';

/**
 * Discovery: an upstream's tools, prompts, resources and templates listed; the tools written to
 * the store as MCP tools (names assigned, collisions disambiguated), the rest kept on the link.
 */
export class Discovery {
  constructor(
    private readonly store: Store,
    private readonly links: Links,
    private readonly logger: Logger,
    private readonly options: FederationOptions,
    /** Told after each discovery, for every kind it may have changed. */
    private readonly changed: (kind: FederatedKind) => void,
  ) {}

  /** Discover a gateway after any discovery of it under way (one at a time per gateway). */
  discover(link: Link): Promise<DiscoveryReport> {
    const run = link.discovering.then(() => this.discoverNow(link));
    link.discovering = run.catch(() => undefined);
    return run;
  }

  /** Delete a gateway's discovered tools (it was removed or renamed). */
  async removeTools(gateway: string): Promise<void> {
    await this.store.transaction(async (repo) => {
      for (const tool of await toolsOf(repo, gateway)) await repo.delete('tools', tool.id);
    });
  }

  private async discoverNow(link: Link): Promise<DiscoveryReport> {
    const listed = await this.listsOf(link);
    if (link.closed) throw new RpcError(UPSTREAM_FAILURE, `gateway "${link.name}" was removed`);
    const { hidden, toolExtras } = scanTools(listed.tools);
    const collisions = await this.storeTools(link, listed);
    link.items = this.itemsOf(link, listed, toolExtras);
    link.templates = link.items.templates.flatMap((t) => {
      try {
        return [{ template: new UriTemplate(String(t.uriTemplate)), raw: String(t.uriTemplate) }];
      } catch {
        return [];
      }
    });
    for (const c of collisions) this.logger.warn({ gateway: link.name, ...c }, 'federated tool name collision: the tool got a disambiguated name');
    for (const h of hidden) this.logger.warn({ gateway: link.name, ...h }, 'upstream tool not served');
    this.changed('tools');
    this.changed('prompts');
    this.changed('resources');
    return {
      gateway: link.name,
      tools: listed.tools.length,
      prompts: link.items.prompts.length,
      resources: link.items.resources.length,
      resource_templates: link.items.templates.length,
      collisions,
      hidden,
    };
  }

  /** The upstream's lists, over a fresh connection once if the upstream forgot the session. */
  private async listsOf(link: Link): Promise<UpstreamLists> {
    try {
      return await (await this.links.ensureConnected(link)).discover(this.options.connectTimeoutMs);
    } catch (error) {
      if (!sessionExpired(error)) throw error;
      // The upstream restarted and forgot the session: connect afresh and try once more.
      const stale = link.connection;
      link.connection = undefined;
      await stale?.close();
      return (await this.links.ensureConnected(link)).discover(this.options.connectTimeoutMs);
    }
  }

  /** What the link serves from memory: prompts under federated names, resources and templates as listed, tools' unmanaged fields. */
  private itemsOf(link: Link, lists: UpstreamLists, toolExtras: Map<string, Record<string, unknown>>): FederatedItems {
    const prefix = gatewayPrefix({ name: link.name, name_prefix: (link.fields.name_prefix as string | null) ?? null });
    return {
      gateway: link.name,
      prompts: lists.prompts
        .filter((p) => typeof p.name === 'string')
        .map((p) => {
          const name = federatedName(prefix, this.options.nameSeparator, String(p.name));
          return { name, originalName: String(p.name), descriptor: { ...p, name } };
        }),
      resources: lists.resources.filter((r) => typeof r.uri === 'string'),
      templates: lists.templates.filter((t) => typeof t.uriTemplate === 'string'),
      toolExtras,
      ...(lists.instructions ? { instructions: lists.instructions } : {}),
    };
  }

  /** Write the upstream's tools as MCP tools in one transaction; returns the name collisions. */
  private async storeTools(link: Link, lists: UpstreamLists): Promise<DiscoveryReport['collisions']> {
    const prefix = gatewayPrefix({ name: link.name, name_prefix: (link.fields.name_prefix as string | null) ?? null });
    const separator = this.options.nameSeparator;
    return this.store.transaction(async (repo) => {
      // Only this gateway's tools are read whole (the indexed column); the others' names are enough.
      const mine = await toolsOf(repo, link.name);
      const byOriginal = new Map(mine.map((t) => [String(t.fields.original_name), t]));
      const own = new Set(mine.map((t) => String(t.fields.name)));
      const taken = new Set((await repo.keys('tools')).filter((name) => !own.has(name)));
      const collisions: DiscoveryReport['collisions'] = [];
      const seen = new Set<string>();
      const upstream = lists.tools
        .filter((t) => typeof t.name === 'string' && t.name !== '')
        .sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1));
      const now = new Date().toISOString();
      for (const tool of upstream) {
        const original = String(tool.name);
        if (seen.has(original)) continue;
        seen.add(original);
        const wanted = federatedName(prefix, separator, original);
        let name = wanted;
        if (taken.has(name)) {
          name = disambiguated(wanted, `${link.name}/${original}`);
          collisions.push({ original_name: original, wanted, name });
        }
        taken.add(name);
        const existing = byOriginal.get(original);
        const fields = toolFields(tool, name, original, link.name, existing?.fields);
        if (!existing) {
          await repo.insert('tools', { id: randomUUID().replaceAll('-', ''), created_at: now, updated_at: now, fields });
        } else if (canonicalJson(fields) !== canonicalJson(existing.fields)) {
          await repo.update('tools', { ...existing, fields, updated_at: now > existing.updated_at ? now : existing.updated_at }, existing);
        }
      }
      for (const tool of mine) if (!seen.has(String(tool.fields.original_name))) await repo.delete('tools', tool.id);
      await recordCapabilities(repo, link.id, lists.capabilities, collisions);
      return collisions;
    });
  }
}

/**
 * Task-only tools are listed only to clients that declare tasks (mcp/tasks.ts): reported, and kept.
 * Fields of a tool the gateway does not manage are kept to be served verbatim.
 */
function scanTools(tools: Record<string, unknown>[]): { hidden: DiscoveryReport['hidden']; toolExtras: Map<string, Record<string, unknown>> } {
  const hidden: DiscoveryReport['hidden'] = [];
  const toolExtras = new Map<string, Record<string, unknown>>();
  for (const tool of tools) {
    const execution = tool.execution as { taskSupport?: unknown } | undefined;
    if (execution && typeof execution === 'object' && execution.taskSupport === 'required') {
      hidden.push({ original_name: String(tool.name), reason: TASK_ONLY_REASON });
    }
    const extra = Object.fromEntries(Object.entries(tool).filter(([key]) => !MANAGED_TOOL_FIELDS.has(key)));
    if (Object.keys(extra).length > 0) toolExtras.set(String(tool.name), extra);
  }
  return { hidden, toolExtras };
}

/** Keep the upstream's capabilities and the name collisions on the gateway (written only when they changed). */
async function recordCapabilities(repo: Repository, gatewayId: string, capabilities: unknown, collisions: DiscoveryReport['collisions']): Promise<void> {
  const current = await repo.get('gateways', gatewayId, { lock: true });
  if (!current) return;
  const fields = { ...current.fields, capabilities, collisions };
  if (canonicalJson(fields) !== canonicalJson(current.fields)) await repo.update('gateways', { ...current, fields }, current);
}

/** A discovered tool as stored: the tool kind's fields, with what the user may edit kept. */
function toolFields(
  tool: Record<string, unknown>,
  name: string,
  original: string,
  gateway: string,
  existing: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const object = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
  const annotations = object(tool.annotations) ?? {};
  return {
    name,
    description: typeof tool.description === 'string' ? tool.description : '',
    tags: (existing?.tags as string[] | undefined) ?? [],
    is_active: existing?.is_active ?? true,
    title: typeof tool.title === 'string' ? tool.title : typeof annotations.title === 'string' ? annotations.title : null,
    integration_type: 'MCP',
    input_schema: object(tool.inputSchema) ?? { type: 'object', properties: {} },
    output_schema: object(tool.outputSchema),
    annotations,
    url: null,
    request_type: 'POST',
    headers: {},
    query: {},
    body: null,
    response_path: null,
    timeout_ms: null,
    auth_type: 'none',
    auth_value: null,
    gateway,
    original_name: original,
  };
}

/** A gateway's federated tools, by the indexed `gateway` column. */
async function toolsOf(repo: Repository, gateway: string): Promise<StoredObject[]> {
  const tools = await repo.list('tools', { includeInactive: true, gateway });
  return tools.filter((t) => t.fields.integration_type === 'MCP');
}
