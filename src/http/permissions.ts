import { KINDS } from '../domain/entities.js';

/**
 * Who may call what (SPEC §3a): the one table of route → required permission. A route may also
 * declare its own with `config: { permission }` in its options (new routes of other features);
 * a route found in neither place needs `admin` (closed by default).
 */

export const ROLES = ['admin', 'editor', 'viewer', 'client'] as const;
export type Role = (typeof ROLES)[number];

/** The caller an accepted request authenticated as (the contract other features read). */
export interface Principal {
  subject: string;
  method: 'basic' | 'bearer' | 'none' | 'token' | 'oauth' | 'session';
  role: Role;
  /** A client limited to these virtual servers (names); absent: not limited. */
  servers?: string[];
  /** The stored token (or OAuth token's jti) the request used. */
  tokenId?: string;
}

/**
 * - `public`: no credentials (probes, discovery metadata)
 * - `any`: any authenticated principal (unknown paths answer 404 to everyone signed in)
 * - `viewer`: read configuration (viewer, editor, admin)
 * - `editor`: change configuration, export, import (editor, admin)
 * - `admin`: tokens and the audit trail (admin)
 * - `mcp`: MCP endpoints (client, editor, admin); a client limited to servers reaches only theirs
 */
export type Permission = 'public' | 'any' | 'viewer' | 'editor' | 'admin' | 'mcp';

export const PERMISSION_ROLES: Record<Exclude<Permission, 'public'>, readonly Role[]> = {
  any: ROLES,
  viewer: ['admin', 'editor', 'viewer'],
  editor: ['admin', 'editor'],
  admin: ['admin'],
  mcp: ['admin', 'editor', 'client'],
};

/** What the audit trail records for a route: its action and the kind of object it acts on. */
export interface AuditSpec {
  action: string;
  kind: string;
}

export interface RouteRule {
  permission: Permission;
  audit?: AuditSpec;
}

/** `METHOD /fastify/route/:pattern` → rule. HEAD follows GET. */
export const ROUTE_RULES: Record<string, RouteRule> = {
  'GET /health': { permission: 'public' },
  'GET /ready': { permission: 'public' },
  'GET /.well-known/oauth-protected-resource': { permission: 'public' },
  'GET /.well-known/oauth-protected-resource/*': { permission: 'public' },
  'GET /.well-known/oauth-authorization-server': { permission: 'public' },
  'GET /.well-known/oauth-authorization-server/*': { permission: 'public' },
  'GET /openapi.json': { permission: 'viewer' },
  'GET /metrics': { permission: 'viewer' },
  'GET /export': { permission: 'editor', audit: { action: 'export', kind: 'export' } },
  'POST /import': { permission: 'editor', audit: { action: 'import', kind: 'import' } },
  'POST /gateways/:id/refresh': { permission: 'editor', audit: { action: 'refresh', kind: 'gateways' } },
  'GET /tokens': { permission: 'admin' },
  'POST /tokens': { permission: 'admin', audit: { action: 'create', kind: 'tokens' } },
  'GET /tokens/:id': { permission: 'admin' },
  'DELETE /tokens/:id': { permission: 'admin', audit: { action: 'revoke', kind: 'tokens' } },
  'GET /audit': { permission: 'admin' },
  // The admin page (src/http/ui-routes.ts): the page and its assets load without credentials;
  // signing in needs them; signing out works even with an expired session.
  'GET /admin': { permission: 'public' },
  'GET /admin/assets/:file': { permission: 'public' },
  'GET /admin/session': { permission: 'public' },
  'POST /admin/session': { permission: 'any' },
  'DELETE /admin/session': { permission: 'public' },
  'POST /admin/api/import-plan': { permission: 'editor' },
  // The page's import review (src/http/ui-plan-routes.ts): drafts as `import apply` writes them;
  // approval through `import activate`, whose own record (capability-audit.jsonl) is mirrored into the trail.
  'POST /admin/api/import-drafts': { permission: 'editor', audit: { action: 'apply', kind: 'import_drafts' } },
  'GET /admin/api/import-drafts': { permission: 'viewer' },
  'POST /admin/api/import-drafts/:id/activate': { permission: 'editor' },
  ...Object.fromEntries(
    KINDS.flatMap((kind) => [
      [`GET /${kind}`, { permission: 'viewer' }],
      [`GET /${kind}/:id`, { permission: 'viewer' }],
      [`POST /${kind}`, { permission: 'editor', audit: { action: 'create', kind } }],
      [`PUT /${kind}/:id`, { permission: 'editor', audit: { action: 'replace', kind } }],
      [`PATCH /${kind}/:id`, { permission: 'editor', audit: { action: 'update', kind } }],
      [`DELETE /${kind}/:id`, { permission: 'editor', audit: { action: 'delete', kind } }],
    ]),
  ),
  ...Object.fromEntries(
    ['', '/servers/:server'].flatMap((prefix) => [
      [`POST ${prefix}/mcp`, { permission: 'mcp' }],
      [`GET ${prefix}/mcp`, { permission: 'mcp' }],
      [`DELETE ${prefix}/mcp`, { permission: 'mcp' }],
      [`GET ${prefix}/sse`, { permission: 'mcp' }],
      [`POST ${prefix}/message`, { permission: 'mcp' }],
    ]),
  ),
};

const CLOSED: RouteRule = { permission: 'admin' };
const NOT_FOUND: RouteRule = { permission: 'any' };

/**
 * The rule for a matched route: the route's own `config.permission`, else the table, else admin.
 * `url` is undefined when no route matched (a 404 for anyone signed in).
 */
export function ruleFor(method: string, url: string | undefined, config?: { permission?: Permission; audit?: AuditSpec }): RouteRule {
  if (url === undefined) return NOT_FOUND;
  if (config?.permission) return { permission: config.permission, ...(config.audit ? { audit: config.audit } : {}) };
  return ROUTE_RULES[`${method === 'HEAD' ? 'GET' : method} ${url}`] ?? CLOSED;
}

/** Whether a role satisfies a permission (scoping to servers is checked separately). */
export function allows(role: Role, permission: Permission): boolean {
  return permission === 'public' || PERMISSION_ROLES[permission].includes(role);
}
