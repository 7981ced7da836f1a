import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isKind } from '../domain/entities.js';
import { GatewayError } from '../errors.js';
import { parseAuditQuery, type AuditLog } from '../services/audit.js';
import { parseTokenInput, type TokenService } from '../services/tokens.js';
import { ruleFor, type Permission } from './permissions.js';

/** What the protected-resource metadata routes serve once OAUTH_ISSUER is set. */
export interface ProtectedResourceMetadata {
  /** The RFC 9728 document for a path ('' for the gateway as a whole, '/mcp', '/servers/x/mcp'). */
  metadata(path: string, base: string): Record<string, unknown> | undefined;
}

export interface AccessRouteDeps {
  tokens: TokenService;
  audit: AuditLog;
  oauth?: ProtectedResourceMetadata | undefined;
}

type Query = Record<string, string | string[] | undefined>;

/** `/tokens`, `/audit`, `/.well-known/oauth-*`, and the audit hook over every audited route. */
export function registerAccessRoutes(app: FastifyInstance, deps: AccessRouteDeps): void {
  const { tokens, audit } = deps;

  app.post('/tokens', async (request, reply) => {
    const input = parseTokenInput(request.body);
    const { token, secret } = await tokens.create(input, request.principal?.subject ?? 'anonymous');
    reply.code(201).header('Location', `/tokens/${token.id}`).header('Cache-Control', 'no-store');
    // The secret is shown here once; only its hash is kept.
    return { ...token, token: secret };
  });
  app.get('/tokens', async () => tokens.list());
  app.get('/tokens/:id', async (request) => tokens.get((request.params as { id: string }).id));
  app.delete('/tokens/:id', async (request) => tokens.revoke((request.params as { id: string }).id));

  app.get('/audit', async (request, reply) => {
    const page = await audit.list(parseAuditQuery(request.query as Query));
    if (page.nextCursor) reply.header('X-Next-Cursor', page.nextCursor);
    return page.items;
  });

  // RFC 9728 metadata: 404 (not 401) until OAuth is configured. The gateway is no authorization
  // server: clients find the issuer in `authorization_servers`.
  const notFound = (request: FastifyRequest) => new GatewayError('ROUTE_NOT_FOUND', `no endpoint ${request.method} ${request.url.split('?', 1)[0]}`);
  const resource = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = (request.params as { '*'?: string })['*'];
    const doc = deps.oauth?.metadata(path ? `/${path}` : '', `${request.protocol}://${request.host}`);
    if (!doc) throw notFound(request);
    return reply.header('Cache-Control', 'public, max-age=300').send(doc);
  };
  app.get('/.well-known/oauth-protected-resource', resource);
  app.get('/.well-known/oauth-protected-resource/*', resource);
  app.get('/.well-known/oauth-authorization-server', async (request) => {
    throw notFound(request);
  });
  app.get('/.well-known/oauth-authorization-server/*', async (request) => {
    throw notFound(request);
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    try {
      auditRequest(audit, request, reply, payload);
    } catch (error) {
      request.log.warn({ err: (error as Error).message }, 'audit: cannot describe the request');
    }
    done(null, payload);
  });
}

/** One event per audited request (writes, export, import, tokens); import adds one per object. */
function auditRequest(audit: AuditLog, request: FastifyRequest, reply: FastifyReply, payload: unknown): void {
  const rule = ruleFor(request.method, request.routeOptions.url, request.routeOptions.config as { permission?: Permission });
  if (!rule.audit) return;
  const status = reply.statusCode;
  // Unauthenticated and throttled attempts are counted by the refusal aggregate instead.
  if (status === 401 || (status === 429 && !request.principal)) return;
  const { action, kind } = rule.audit;
  const body = typeof payload === 'string' && (isKind(kind) || kind === 'tokens' || kind === 'import') ? safeParse(payload) : undefined;
  const ok = status < 400;
  const outcome = ok ? 'ok' : `failed:${typeof body?.code === 'string' ? body.code : status}`;
  const base = { actor: request.principal, source: request.ip, requestId: request.id };
  const params = request.params as { id?: string } | undefined;
  if (kind === 'import') {
    const report = ok ? (body as { dry_run?: boolean; items?: { kind: string; key: string; outcome: string; new_key?: string }[] } | undefined) : undefined;
    const dryRun = report?.dry_run === true;
    audit.record({ ...base, action: dryRun ? 'import_dry_run' : 'import', kind: 'import', outcome, ...(report?.items ? { objectName: `${report.items.length} objects` } : {}) });
    if (report && !dryRun) {
      for (const item of report.items ?? []) audit.record({ ...base, action: 'import', kind: item.kind, objectName: item.new_key ?? item.key, outcome: item.outcome });
    }
    return;
  }
  if (kind === 'export') {
    const counts = reply.getHeader('x-export-counts');
    audit.record({ ...base, action, kind, outcome, ...(typeof counts === 'string' ? { objectName: counts } : {}) });
    return;
  }
  const sent = request.body;
  const fields = ['POST', 'PUT', 'PATCH'].includes(request.method) && sent && typeof sent === 'object' && !Array.isArray(sent) ? Object.keys(sent) : undefined;
  const objectId = ok && typeof body?.id === 'string' ? body.id : params?.id;
  const name = ok && typeof body?.name === 'string' ? body.name : undefined;
  audit.record({ ...base, action, kind, outcome, objectId, objectName: name, fields });
}

function safeParse(text: string): Record<string, unknown> | undefined {
  if (text.length > 5_000_000) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
