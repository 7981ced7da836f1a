import type { AuthCipher } from '../crypto/auth-value.js';
import type { FieldError } from '../errors.js';
import { contextForgeSlug, GENERATOR } from './contextforge.js';
import type { Kind } from './entities.js';
import { ENCRYPTION_METHOD, EXPORT_VERSION, keyOf, type ExportDocument } from './export-document.js';

/**
 * Our export document written in ContextForge's layout (`entities` / `metadata`) with its field
 * names, as its import reads them (mcpgateway/services/import_service.py `_convert_to_*`).
 * What ContextForge cannot carry is listed in the report, never dropped silently. The contract
 * is `schemas/contextforge-import.schema.json`.
 */

type Obj = Record<string, unknown>;

export interface ContextForgeExport {
  document: Obj;
  /** What ContextForge cannot carry, each at the path of the object in our document terms (`gateways "x"`). */
  report: FieldError[];
}

// ContextForge's tag rule (mcpgateway/validation/tags.py): lower-cased, 2-100 of a-z 0-9 - : .
const CF_TAG = /^[a-z0-9]([a-z0-9\-:.]*[a-z0-9])?$/;
// settings.validation_name_pattern: gateway, server, prompt and resource names.
const CF_NAME = /^[a-zA-Z0-9_.\- ]+$/;
const CF_AUTH: Record<string, string> = { basic: 'basic', bearer: 'bearer', headers: 'authheaders' };

export function toContextForge(doc: Partial<ExportDocument>, cipher: AuthCipher, exportedBy = 'mcpgateway'): ContextForgeExport {
  const report: FieldError[] = [];
  const at = (kind: Kind, object: Obj, field?: string) => `$.${kind}[${JSON.stringify(keyOf(kind, object))}]${field ? `.${field}` : ''}`;
  const lost = (kind: Kind, object: Obj, field: string, why: string) => report.push({ path: at(kind, object, field), message: `not carried: ${why}` });
  const tags = (kind: Kind, object: Obj): string[] => {
    const kept: string[] = [];
    for (const tag of (object.tags as string[] | undefined) ?? []) {
      const normalized = tag.trim().toLowerCase();
      if (normalized.length >= 2 && normalized.length <= 100 && !tag.includes(' ') && CF_TAG.test(normalized)) kept.push(tag);
      else lost(kind, object, 'tags', `tag "${tag}" breaks ContextForge's tag rule (2-100 of a-z, 0-9, "-", ":", "."), which its import drops`);
    }
    return kept;
  };
  const unusedFields = (kind: Kind, object: Obj, fields: Record<string, string>) => {
    for (const [field, why] of Object.entries(fields)) {
      const value = object[field];
      if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0) || (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)) continue;
      lost(kind, object, field, why);
    }
  };
  const credentials = (kind: Kind, object: Obj): Obj => {
    const type = String(object.auth_type ?? 'none');
    if (type === 'none' || typeof object.auth_value !== 'string') return {};
    const cfType = CF_AUTH[type];
    if (cfType) return { auth_type: cfType, auth_value: object.auth_value };
    if (type === 'query_param' && kind === 'gateways') {
      // ContextForge keeps each parameter encrypted on its own, as {name: value}, and reads only the first.
      const params = Object.entries(cipher.decrypt(object.auth_value));
      if (params.length > 1) lost(kind, object, 'auth_value', `${params.length - 1} query parameter(s) after "${params[0]![0]}": ContextForge's import reads only the first`);
      const [name, value] = params[0]!;
      return { auth_type: 'query_param', auth_query_params: { [name]: cipher.encrypt({ [name]: value }) } };
    }
    lost(kind, object, 'auth_type', `${type} credentials: ContextForge's import has no ${type} for ${kind}`);
    return {};
  };

  const gateways: Obj[] = [];
  for (const g of doc.gateways ?? []) {
    if (g.transport === 'stdio') {
      lost('gateways', g, 'transport', 'stdio gateways: ContextForge registers only SSE and streamable HTTP gateways (run the command behind its translate bridge)');
      continue;
    }
    unusedFields('gateways', g, { name_prefix: 'ContextForge prefixes tools with the gateway slug, not a name_prefix', timeout_ms: 'no per-gateway timeout in ContextForge\'s import' });
    gateways.push({
      name: g.name,
      url: g.url,
      description: g.description || null,
      transport: String(g.transport).toUpperCase(),
      is_active: g.is_active,
      tags: tags('gateways', g),
      passthrough_headers: [],
      ...credentials('gateways', g),
    });
  }

  const tools: Obj[] = [];
  for (const t of doc.tools ?? []) {
    const url = String(t.url ?? '');
    if (!/^https?:\/\//i.test(url)) {
      lost('tools', t, 'url', 'a URL relative to its server: ContextForge needs an absolute tool URL, so the tool is left out');
      continue;
    }
    unusedFields('tools', t, {
      query: 'ContextForge REST tools have no fixed query parameters',
      cookies: 'ContextForge REST tools have no cookies',
      body: 'ContextForge REST tools send their arguments as the body; no body template',
      body_content_type: 'ContextForge sends JSON bodies only',
      timeout_ms: 'ContextForge\'s import does not read a tool timeout',
      cache: 'no response cache in ContextForge',
      auth_ref: 'environment-referenced credentials (env:VAR) do not exist in ContextForge',
      metadata: 'ContextForge tools have no free-form metadata',
    });
    if (typeof t.rate_limit === 'number') {
      report.push({ path: at('tools', t, 'rate_limit'), message: 'written as its rate_limit (calls per minute), the field of its export; its import (mcp-context-forge main) does not apply it, so set it again there' });
    }
    if (contextForgeSlug(String(t.name)) !== t.name) {
      report.push({ path: at('tools', t, 'name'), message: `ContextForge serves this tool as "${contextForgeSlug(String(t.name))}" (its slug of the name); its clients must call it by that name` });
    }
    tools.push({
      name: t.name,
      displayName: t.title ?? t.name,
      url,
      integration_type: 'REST',
      request_type: t.request_type,
      description: t.description || null,
      headers: t.headers ?? {},
      input_schema: t.input_schema,
      output_schema: t.output_schema ?? null,
      annotations: t.annotations ?? {},
      jsonpath_filter: t.response_path ?? '',
      tags: tags('tools', t),
      is_active: t.is_active,
      ...credentials('tools', t),
      rate_limit: t.rate_limit ?? null,
    });
  }

  const servers: Obj[] = [];
  for (const s of doc.servers ?? []) {
    unusedFields('servers', s, {
      url: 'REST-proxy servers (url, headers, health_url, credentials) do not exist in ContextForge',
      headers: 'REST-proxy servers do not exist in ContextForge',
      health_url: 'REST-proxy servers do not exist in ContextForge',
      rate_limit: 'ContextForge servers have no rate limit',
      prompts: 'ContextForge\'s import links servers to tools only (associated_prompts is written but not read)',
      resources: 'ContextForge\'s import links servers to tools only (associated_resources is written but not read)',
    });
    if (s.auth_type !== 'none' && s.auth_value) lost('servers', s, 'auth_type', 'credentials of REST-proxy servers');
    const mcpTools = ((s.tools as string[] | undefined) ?? []).filter((name) => name.includes('__'));
    if (mcpTools.length > 0) lost('servers', s, 'tools', `MCP tool names ${mcpTools.map((n) => `"${n}"`).join(', ')}: ContextForge names a gateway's tools "<gateway-slug>-<tool>", so its import will not resolve them`);
    servers.push({
      name: s.name,
      description: s.description || null,
      tool_ids: s.tools ?? [],
      associated_prompts: s.prompts ?? [],
      associated_resources: s.resources ?? [],
      is_active: s.is_active,
      tags: tags('servers', s),
    });
  }

  const prompts: Obj[] = [];
  for (const p of doc.prompts ?? []) {
    if (p.auth_type !== 'none' && p.auth_value) lost('prompts', p, 'auth_type', 'ContextForge prompts have no credentials');
    if (contextForgeSlug(String(p.name)) !== p.name) {
      report.push({ path: at('prompts', p, 'name'), message: `ContextForge serves this prompt as "${contextForgeSlug(String(p.name))}" (its slug of the name); its clients must call it by that name` });
    }
    prompts.push({
      name: p.name,
      original_name: p.name,
      custom_name: p.name,
      display_name: p.title ?? p.name,
      template: p.template,
      description: p.description || null,
      input_schema: p.input_schema,
      tags: tags('prompts', p),
      is_active: p.is_active,
    });
  }

  const resources: Obj[] = [];
  for (const r of doc.resources ?? []) {
    unusedFields('resources', r, { blob: 'binary content: ContextForge\'s import reads text content only', title: 'ContextForge\'s import does not read a resource title' });
    let name = String(r.name ?? r.uri);
    if (!CF_NAME.test(name)) {
      const fixed = name.replace(/[^a-zA-Z0-9_.\- ]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 255) || 'resource';
      report.push({ path: at('resources', r, 'name'), message: `written as "${fixed}": ContextForge names are letters, digits, "_", ".", "-" and spaces` });
      name = fixed;
    }
    resources.push({
      name,
      uri: r.uri,
      description: r.description || null,
      mime_type: r.mime_type ?? null,
      content: r.text ?? '',
      tags: tags('resources', r),
      is_active: r.is_active,
    });
  }

  const entities = { tools, gateways, servers, prompts, resources, roots: [] };
  const document: Obj = {
    version: EXPORT_VERSION,
    exported_at: doc.exported_at,
    exported_by: exportedBy,
    source_gateway: doc.source_gateway,
    encryption_method: ENCRYPTION_METHOD,
    entities,
    metadata: {
      generator: GENERATOR,
      entity_counts: Object.fromEntries(Object.entries(entities).map(([k, v]) => [k, v.length])),
      dependencies: {
        servers_to_tools: Object.fromEntries(servers.filter((s) => (s.tool_ids as string[]).length > 0).map((s) => [s.name, s.tool_ids])),
        servers_to_resources: Object.fromEntries(servers.filter((s) => (s.associated_resources as string[]).length > 0).map((s) => [s.name, s.associated_resources])),
        servers_to_prompts: Object.fromEntries(servers.filter((s) => (s.associated_prompts as string[]).length > 0).map((s) => [s.name, s.associated_prompts])),
      },
      not_carried: report,
    },
  };
  return { document, report };
}
