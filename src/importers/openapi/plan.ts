import type { Capability } from '../../capabilities/schema.js';
import { broadScope, destructiveReason, hostOf } from '../common.js';
import type { Effect, JsonObject, Operation, SourceInfo, ImporterResult } from '../planner/types.js';
import { convertOpenApi, type GeneratedCapability } from './convert.js';

const PAGINATION = /^(page|per_?page|page_?size|limit|offset|cursor|after|before|first|last|top|skip|max_?results|next_?token)$/i;

/**
 * OpenAPI for the planner: the `cap import` converter makes the capabilities; this reads the facts
 * risk detection needs (method, declared security, list results, hosts) off the same document.
 */
export function planOpenApi(doc: unknown, options: { sourceName: string; uri?: string | null }): ImporterResult {
  const { capabilities, report } = convertOpenApi(doc);
  const root = (doc ?? {}) as JsonObject;
  const info = (root.info ?? {}) as JsonObject;
  const license = info.license && typeof info.license === 'object' ? ((info.license as JsonObject).identifier ?? (info.license as JsonObject).name) : undefined;
  const provenance = root['x-provenance'] ?? (info['x-provenance'] as unknown);
  const source: SourceInfo = {
    name: options.sourceName,
    kind: 'openapi',
    uri: options.uri ?? null,
    license: typeof license === 'string' && license ? license : null,
    provenance: typeof provenance === 'string' && provenance ? provenance : null,
  };
  const schemes = ((root.components as JsonObject | undefined)?.securitySchemes ?? root.securityDefinitions ?? {}) as JsonObject;
  const operations = capabilities.map((generated) => operationOf(generated, root, schemes));
  const warnings = [
    ...report.warnings,
    ...report.skipped.filter((s) => s.kind !== 'filtered').map((s) => `${s.operation} not imported: ${s.reason}`),
  ];
  return { source, document: doc, operations, warnings };
}

function operationOf(generated: GeneratedCapability, root: JsonObject, schemes: JsonObject): Operation {
  const cap: Capability = generated.capability;
  const config = cap.providers.primary.config;
  const method = generated.method;
  const raw = rawOperation(root, generated.path, method);
  const requirements = raw && 'security' in raw ? raw.security : root.security;
  const declared = requirements !== undefined;
  const schemeTypes = declared ? securityTypes(requirements, schemes) : [];
  const safe = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
  // What it does: DELETE, or a delete/remove verb in its operationId or last path segment, or its description.
  const lastSegment = generated.path.split('/').filter((p) => p && !p.startsWith('{')).at(-1) ?? '';
  const destructive = safe
    ? null
    : destructiveReason({ method, name: generated.operationId ?? '', names: [lastSegment], description: `${String(raw?.summary ?? '')}\n${String(raw?.description ?? '')}`.trim() });
  const effect: Effect = safe ? 'read' : destructive ? 'delete' : 'write';
  const input = cap.schema.input as JsonObject;
  const output = (cap.schema.output as JsonObject | undefined) ?? null;
  const params = Object.keys((input.properties as JsonObject | undefined) ?? {});
  const returnsList = output?.type === 'array';
  const endpoint = `${config.base_url ?? ''}${config.path}`;
  const host = config.base_url ? hostOf(config.base_url) : null;
  return {
    name: cap.name,
    title: cap.title ?? `${method} ${generated.path}`,
    description: cap.description,
    route: { protocol: 'http', method, endpoint, operation: generated.operationId ?? `${method} ${generated.path}` },
    input_schema: input,
    output_schema: output,
    tags: [...((cap.metadata?.tags as string[] | undefined) ?? [])],
    facts: {
      effect,
      destructive: effect === 'delete' || (cap.annotations as JsonObject | undefined)?.destructiveHint === true,
      ...(destructive ? { destructive_reason: destructive } : {}),
      auth_schemes: schemeTypes,
      auth_declared: declared,
      broad_scope: broadScope(generated.operationId ?? '', generated.path),
      unbounded_list: effect === 'read' && returnsList && !params.some((p) => PAGINATION.test(p)),
      selection_depth: null,
      egress_hosts: host ? [host] : [],
      plaintext_http: (config.base_url ?? '').startsWith('http:'),
    },
    target: { type: 'capability', capability: { ...cap, enabled: false } as unknown as JsonObject },
  };
}

function rawOperation(root: JsonObject, path: string, method: string): JsonObject | undefined {
  const item = (root.paths as JsonObject | undefined)?.[path];
  if (!item || typeof item !== 'object') return undefined;
  const op = (item as JsonObject)[method.toLowerCase()];
  return op && typeof op === 'object' ? (op as JsonObject) : undefined;
}

/** The scheme types an operation's requirements name: bearer, basic, apiKey:header, oauth2… */
function securityTypes(requirements: unknown, schemes: JsonObject): string[] {
  if (!Array.isArray(requirements)) return [];
  // `{}` among the alternatives means anonymous access is allowed: no auth is required.
  if (requirements.some((r) => r && typeof r === 'object' && Object.keys(r).length === 0)) return [];
  const types = new Set<string>();
  for (const requirement of requirements) {
    if (!requirement || typeof requirement !== 'object') continue;
    for (const name of Object.keys(requirement)) {
      const scheme = schemes[name] as JsonObject | undefined;
      const type = String(scheme?.type ?? 'unknown');
      if (type === 'http') types.add(String(scheme?.scheme ?? 'http').toLowerCase());
      else if (type === 'apiKey') types.add(`apiKey:${String(scheme?.in ?? 'header')}`);
      else types.add(type);
    }
  }
  return [...types].sort();
}
