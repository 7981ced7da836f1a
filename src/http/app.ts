import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { Registry } from '../services/registry.js';
import type { Store } from '../store/store.js';
import { VERSION } from '../version.js';
import type { Catalog } from '../mcp/catalog.js';
import type { Dispatcher } from '../mcp/dispatcher.js';
import type { Metrics } from '../observability/metrics.js';
import type { Federation } from '../services/federation/index.js';
import { registerAccessRoutes, type AccessRouteDeps } from './access-routes.js';
import { registerAdminRoutes } from './admin-routes.js';
import { authHook, hostHook, type AuthSettings } from './auth.js';
import { rateLimitHook, type RateLimits } from './rate-limit-hook.js';
import type { Limiter } from '../services/rate-limit.js';
import { registerExportImportRoutes } from './export-import-routes.js';
import { registerFederationRoutes } from './federation-routes.js';
import { registerMcpRoutes } from './mcp-routes.js';
import type { ClientSessions } from '../mcp/client-sessions.js';
import { buildOpenApi } from './openapi.js';
import { sendProblem, toGatewayError } from './problem.js';
import { registerUiPlanRoutes, type PlannerDirs } from './ui-plan-routes.js';
import { registerUiRoutes } from './ui-routes.js';
import { UiSessions } from './ui-session.js';
import type { McpGuardSettings } from './mcp-guard.js';
import { bodyTimeoutHook, clientErrorHandler, frameworkErrors, nulPathHook } from './fastify-errors.js';
import { jsonTooDeep } from '../upstream/limits.js';

export interface AppDeps {
  store: Store;
  registry: Registry;
  logger: Logger;
  auth: AuthSettings;
  bodyLimitBytes: number;
  /** Largest POST /import body (IMPORT_BODY_LIMIT_BYTES). */
  importBodyLimitBytes?: number;
  /**
   * DNS-rebinding protection: when the gateway listens on loopback, only loopback names (and
   * `allowed`) may appear in Host and Origin.
   */
  hostCheck?: { loopback: boolean; allowed: string[] };
  /** MCP serving and federation; absent in callers that only need the Admin API. */
  mcp?: { dispatcher: Dispatcher; catalog: Catalog; federation: Federation; metrics: Metrics; sessions?: ClientSessions };
  /** Stored tokens, the audit trail and OAuth metadata (issue 11); absent in bare callers. */
  access?: AccessRouteDeps;
  /** Where the admin page's import review writes drafts and activates them (issue 13); absent: activation refused. */
  planner?: PlannerDirs;
  /** Rate limits (issue 11); absent when none is set. */
  rateLimit?: { limits: RateLimits; limiter: Limiter };
  /** How changes reach other instances, for /ready: redis, redis-disconnected or local. Never fails readiness. */
  events?: () => string;
  /** How far the first load of the capability files is (GET /ready answers 503 while `loading`). */
  capabilities?: () => { state: 'loading' | 'loaded'; loaded: number; total: number };
  /** Hardening (issue 10): JSON depth for every body, browser rules and batch size on MCP endpoints. */
  limits?: McpGuardSettings & { requestTimeoutMs?: number };
  /** Peers trusted for X-Forwarded-For / -Proto / -Host (TRUST_PROXY); off by default. */
  trustProxy?: false | number | string[];
}

/** A hop count as the trust function proxy-addr takes: the nearest `hops` proxies are trusted. */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

/** The Fastify application: routes, auth, problem+json errors. Does not listen. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    // Behind a load balancer, request.ip is the client's address only for the peers named here.
    trustProxy: typeof deps.trustProxy === 'number' ? trustHops(deps.trustProxy) : (deps.trustProxy ?? false),
    // Fastify's and Node's own client errors answer in problem+json too (issue 10).
    frameworkErrors,
    clientErrorHandler,
    // A body shorter than its Content-Length is answered 408 instead of waiting for ever.
    requestTimeout: deps.limits?.requestTimeoutMs ?? 30_000,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
  });

  // JSON only: merge-patch and other +json types parse as JSON; text/plain is not accepted.
  app.removeContentTypeParser('text/plain');
  // Nesting is measured before parsing: validators and merge patches recurse (issue 10).
  const maxDepth = deps.limits?.maxJsonDepth ?? 128;
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  const guardedJson = (request: FastifyRequest, raw: string | Buffer, done: (error: Error | null, body?: unknown) => void): void => {
    // Invalid UTF-8 is refused, not stored as U+FFFD.
    if (Buffer.isBuffer(raw) && !isUtf8(raw)) {
      done(new GatewayError('BODY_NOT_UTF8', 'the body is not valid UTF-8'));
      return;
    }
    const body = typeof raw === 'string' ? raw : raw.toString('utf8');
    if (jsonTooDeep(body, maxDepth)) {
      done(new GatewayError('BODY_TOO_DEEP', `the body nests deeper than ${maxDepth} levels (MAX_JSON_DEPTH)`));
      return;
    }
    jsonParser(request, body, done);
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, guardedJson);
  app.addContentTypeParser(/^application\/[\w.+-]+\+json$/, { parseAs: 'buffer' }, guardedJson);

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    done();
  });
  app.addHook('onRequest', nulPathHook);
  app.addHook('onRequest', bodyTimeoutHook(deps.limits?.requestTimeoutMs ?? 30_000));
  if (deps.hostCheck?.loopback && !deps.hostCheck.allowed.includes('*')) app.addHook('onRequest', hostHook(deps.hostCheck.allowed));
  const uiSessions = new UiSessions();
  // The admin page's session cookie (src/http/ui-session.ts) counts only when no Authorization header is sent.
  const auth: AuthSettings = { ...deps.auth, session: (request) => (request.headers.authorization ? undefined : uiSessions.authenticate(request)) };
  app.addHook('onRequest', authHook(auth));
  if (deps.rateLimit) app.addHook('preHandler', rateLimitHook(deps.rateLimit.limits, deps.rateLimit.limiter, deps.mcp?.metrics.registry));

  app.setErrorHandler((error, request, reply) => sendProblem(reply, toGatewayError(error, request), request.url.split('?', 1)[0]));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new GatewayError('ROUTE_NOT_FOUND', `no endpoint ${request.method} ${request.url.split('?', 1)[0]}`)),
  );

  app.get('/health', async () => ({ status: 'ok', version: VERSION }));
  app.get('/ready', async (_request, reply) => {
    const store = await deps.store.state();
    if (store.state !== 'up') return sendProblem(reply, new GatewayError('NOT_READY', `the database does not answer: ${store.reason ?? 'unknown'}`));
    const capabilities = deps.capabilities?.() ?? { state: 'loaded', loaded: 0, total: 0 };
    if (capabilities.state === 'loading') {
      // 503 until every capability file is in: a load balancer sends no traffic to a gateway that would list only some of its tools.
      const error = new GatewayError('NOT_READY', `capability files are loading: ${capabilities.loaded} of ${capabilities.total}`);
      return reply.code(503).type('application/problem+json').send({ type: `urn:mcpgateway:error:${error.code}`, title: error.title, status: 503, detail: error.message, code: error.code, capabilities });
    }
    return { status: 'ready', database: deps.store.dialect, store: 'up', events: deps.events?.() ?? 'local', capabilities };
  });
  const openapi = buildOpenApi(VERSION);
  app.get('/openapi.json', async () => openapi);
  if (deps.access) registerAccessRoutes(app, deps.access);
  registerAdminRoutes(app, deps.registry);
  registerExportImportRoutes(app, deps.registry, { importBodyLimit: deps.importBodyLimitBytes });
  registerUiRoutes(app, { sessions: uiSessions, trial: !deps.auth.enforced });
  void app.register(registerUiPlanRoutes, deps.planner ?? { capabilityDirs: [], draftsDir: undefined });
  if (deps.mcp) {
    registerFederationRoutes(app, deps.mcp.federation, deps.mcp.metrics);
    void app.register(registerMcpRoutes, {
      dispatcher: deps.mcp.dispatcher,
      catalog: deps.mcp.catalog,
      bodyLimitBytes: deps.bodyLimitBytes,
      ...(deps.limits ? { guard: deps.limits } : {}),
      ...(deps.mcp.sessions ? { sessions: deps.mcp.sessions } : {}),
    });
  }
  return app;
}
