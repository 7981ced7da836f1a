import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { CapabilityCatalog } from './capabilities/catalog.js';
import { TaskRelay } from './mcp/tasks.js';
import { authEnforced, checkSecurity, isLoopback, type Config } from './config.js';
import { AuthCipher } from './crypto/auth-value.js';
import { buildApp } from './http/app.js';
import { OAuthResourceServer } from './http/oauth.js';
import { createLogger } from './logging.js';
import { Catalog, rateLimitsOf, type Snapshot } from './mcp/catalog.js';
import { ClientSessions, DEFAULT_CLIENT_SESSIONS } from './mcp/client-sessions.js';
import { Dispatcher, type CallObserver } from './mcp/dispatcher.js';
import { PromptRenderer } from './mcp/prompt-renderer.js';
import { Metrics } from './observability/metrics.js';
import { AuditLog } from './services/audit.js';
import { CapabilityAuditMirror } from './services/capability-audit-mirror.js';
import { LocalLimiter, RedisLimiter, type Limiter } from './services/rate-limit.js';
import { TokenService } from './services/tokens.js';
import { LocalEvents, RedisEvents, type BusEvent, type ClusterEvents } from './services/events.js';
import { RedisSessionDirectory } from './services/session-directory.js';
import { Federation } from './services/federation/index.js';
import { Registry, type ChangeEvent } from './services/registry.js';
import { RestExecutor } from './upstream/rest-executor.js';
import { Store } from './store/store.js';
import { OutboundPolicy } from './upstream/outbound-policy.js';

/** A running gateway: its parts, and how to stop it. */
export interface Gateway {
  app: FastifyInstance;
  store: Store;
  registry: Registry;
  /** Tools from the capability files of CAPABILITY_DIRS. */
  capabilities: CapabilityCatalog;
  federation: Federation;
  catalog: Catalog;
  dispatcher: Dispatcher;
  /** Cross-instance change events: over Redis when REDIS_URL is set, else local only. */
  events: ClusterEvents;
  logger: Logger;
  config: Config;
  /** Stored API tokens and the audit trail (issue 11). */
  tokens: TokenService;
  audit: AuditLog;
  /** The address it listens on, once started. */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where log lines go (tests capture them); stdout otherwise. */
  logStream?: DestinationStream;
  /** Build without listening (for in-process callers). */
  listen?: boolean;
}

const GENERATED_SECRET_KEY = 'generated_auth_encryption_secret';

/** The composition root: config → logger, store, registry, HTTP app → listening server. */
export async function startGateway(config: Config, options: StartOptions = {}): Promise<Gateway> {
  const warnings = checkSecurity(config);
  const logger = createLogger(config.logLevel, options.logStream);
  for (const warning of warnings) logger.warn(warning);

  const store = await Store.open(config.databaseUrl, { sqliteBusyTimeoutMs: config.hardening.sqliteBusyTimeoutMs });
  const capabilities = new CapabilityCatalog(config.capabilityDirs, logger);
  let events: ClusterEvents = new LocalEvents();
  let limiter: Limiter | undefined;
  let directory: RedisSessionDirectory | undefined;
  try {
    const secret = config.encryptionSecret ?? (await generatedSecret(store, logger));
    const cipher = new AuthCipher(secret);
    const policy = new OutboundPolicy(config.hardening.upstreamAllow, config.hardening.upstreamDeny);
    const registry = new Registry(store, cipher, config.envRefAllowlist);
    const mcp = config.mcp;
    const metrics = new Metrics();
    const federation = new Federation(store, cipher, logger, {
      policy,
      secret,
      maxResponseBytes: mcp.maxResponseBytes,
      nameSeparator: mcp.nameSeparator,
      healthIntervalMs: mcp.healthIntervalMs,
      connectTimeoutMs: Math.min(mcp.toolTimeoutMs, 30_000),
      maxBackoffMs: 5 * 60_000,
      sessions: { stdio: mcp.stdioSessions, max: mcp.upstreamSessionMax, idleMs: mcp.upstreamSessionIdleMs },
      observer: metrics,
    });
    const catalog = new Catalog(store, federation, mcp.pageSize, capabilities, mcp.toolSearchThreshold);
    registry.attachFederatedRefs(federation);
    federation.onChange((kind) => {
      catalog.invalidate(kind);
      // Discovery wrote tools to the shared database and changed what this instance serves.
      events.publish({ source: 'federation', kind });
    });
    const tokens = new TokenService(store, (id) => events.publish({ source: 'tokens', op: 'revoke', id }));
    const audit = new AuditLog(store, logger, config.access.auditRetentionDays);
    // The planner's capability-audit.jsonl (drafts activation and rollback) joins audit_events.
    const capabilityAudit = new CapabilityAuditMirror(config.capabilityDirs, store, logger, config.access.auditRetentionDays);
    await capabilityAudit.start();
    const { ratePerPrincipal, ratePerServer, ratePerTool } = config.access;
    // Always: besides the variables' limits, any tool's or server's own `rate_limit` may need it (and with
    // REDIS_URL its connection must be ready before the first limited call, for the buckets to be shared).
    // The redis client (some 20 MB resident) is loaded only for a gateway that uses Redis.
    const connectRedis = config.redisUrl !== undefined ? (await import('redis')).createClient : undefined;
    limiter = config.redisUrl !== undefined && connectRedis ? new RedisLimiter(config.redisUrl, `${config.redisChannelPrefix}:ratelimit`, logger, connectRedis) : new LocalLimiter();
    const { oauthIssuer } = config.access;
    const oauth =
      oauthIssuer !== undefined
        ? new OAuthResourceServer(
            { issuer: oauthIssuer, audience: config.access.oauthAudience, roleScopes: config.access.oauthRoleScopes, serversClaim: config.access.oauthServersClaim },
            logger,
          )
        : undefined;
    const rest = new RestExecutor(cipher, { defaultTimeoutMs: mcp.toolTimeoutMs, maxResponseBytes: mcp.maxResponseBytes, policy });
    const prompts = new PromptRenderer({ maxRenderBytes: config.hardening.promptMaxRenderBytes });
    const tasks = new TaskRelay(federation);
    federation.attachTasks(tasks);
    const dispatcher = new Dispatcher({ catalog, rest, prompts, upstreams: federation, tasks, toolTimeoutMs: mcp.toolTimeoutMs, observer: toolCallObserver(metrics, config.access.auditToolCalls ? audit : undefined) });
    // A change, made here or (over REDIS_URL) by another instance sharing the database.
    const applyChange = (event: ChangeEvent | Extract<BusEvent, { source: 'registry' }>): void => {
      catalog.invalidate(event.kind);
      if (event.kind === 'prompts') prompts.reset();
      if (event.kind === 'gateways') {
        void federation.gatewayChanged(event.op, event.id).catch((error: unknown) => logger.warn({ gateway: event.name, err: (error as Error).message }, 'gateway update failed'));
      }
    };
    registry.onChange((event) => {
      applyChange(event);
      events.publish({ source: 'registry', kind: event.kind, op: event.op, id: event.id, name: event.name });
    });
    // 2025 client sessions: with REDIS_URL recorded in Redis, so any instance serves a session another opened.
    directory = config.redisUrl !== undefined && connectRedis ? new RedisSessionDirectory(config.redisUrl, config.redisChannelPrefix, logger, connectRedis) : undefined;
    const sessions = new ClientSessions(DEFAULT_CLIENT_SESSIONS, directory);
    sessions.onTerminate = (id) => events.publish({ source: 'sessions', op: 'end', id });
    if (config.redisUrl !== undefined && connectRedis) {
      const redis = new RedisEvents(config.redisUrl, `${config.redisChannelPrefix}:events`, logger, {
        remote(event) {
          if (event.source === 'registry') applyChange(event);
          else if (event.source === 'federation') catalog.invalidate(event.kind);
          else if (event.source === 'tokens') tokens.forget(event.id);
          else if (event.source === 'sessions') sessions.endedElsewhere(event.id);
          else this.resync();
        },
        resync() {
          for (const kind of ['tools', 'prompts', 'resources', 'servers', 'gateways']) catalog.invalidate(kind);
          prompts.reset();
          tokens.forgetAll();
          void federation.resync().catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'gateway resync failed'));
        },
      }, connectRedis);
      events = redis;
      redis.start();
    }
    // Capability files load while the gateway listens (GET /ready answers 503 with the progress
    // until they are in); their tools appear together when loading is done.
    capabilities.onLoaded(() => catalog.invalidate('tools'));
    const capabilitiesLoaded = capabilities.start().catch((error: unknown) => logger.error({ err: (error as Error).message }, 'capability files could not be loaded'));
    registry.attachReadOnlyTools(capabilities);
    const app = buildApp({
      store,
      registry,
      logger,
      auth: {
        enforced: authEnforced(config),
        basicUser: config.basicUser,
        basicPassword: config.basicPassword,
        jwtSecret: config.jwtSecret,
        tokens,
        audit,
        failureLimit: config.access.authFailureLimit,
        failureWindowMs: config.access.authFailureWindowSeconds * 1000,
        serverName: async (idOrName) => (await catalog.current()).servers.get(idOrName)?.name,
        ...(oauth ? { oauth } : {}),
      },
      access: { tokens, audit, oauth },
      rateLimit: {
        limits: { perPrincipal: ratePerPrincipal, perServer: ratePerServer, perTool: ratePerTool, objects: (server) => withSnapshot(catalog.current(), (snapshot) => rateLimitsOf(snapshot, server)) },
        limiter,
      },
      bodyLimitBytes: config.bodyLimitBytes,
      importBodyLimitBytes: config.importBodyLimitBytes,
      hostCheck: { loopback: isLoopback(config.host), allowed: config.allowedHosts },
      trustProxy: config.trustProxy,
      mcp: { dispatcher, catalog, federation, metrics, sessions },
      planner: { capabilityDirs: config.capabilityDirs, draftsDir: config.importDraftsDir },
      events: () => events.state(),
      capabilities: () => capabilities.progress(),
      limits: { requestTimeoutMs: config.hardening.requestTimeoutMs, maxJsonDepth: config.hardening.maxJsonDepth, maxBatch: config.hardening.maxBatch, allowedOrigins: config.hardening.allowedOrigins },
    });
    oauth?.start();
    await federation.start();
    let url = '';
    if (options.listen !== false) {
      url = await app.listen({ host: config.host, port: config.port });
      oauth?.listening(url);
      logger.info({ url, database: store.description }, 'mcpgateway listening');
    } else {
      await app.ready();
      // In-process callers get a gateway with its capability files in.
      await capabilitiesLoaded;
    }
    return {
      app,
      store,
      registry,
      capabilities,
      federation,
      catalog,
      dispatcher,
      events,
      tokens,
      audit,
      logger,
      config,
      url,
      async close() {
        await events.close();
        await app.close();
        await tokens.close();
        await audit.close();
        await capabilityAudit.close();
        await limiter?.close();
        await directory?.close();
        await federation.close();
        await rest.close();
        await capabilities.close();
        await store.close();
      },
    };
  } catch (error) {
    await events.close().catch(() => undefined);
    await limiter?.close().catch(() => undefined);
    await directory?.close().catch(() => undefined);
    await capabilities.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Loopback trial runs without AUTH_ENCRYPTION_SECRET get a random secret kept in the database,
 * so credentials survive restarts; checkSecurity has already refused this off loopback.
 */
async function generatedSecret(store: Store, logger: Logger): Promise<string> {
  const secret = await store.initSetting(GENERATED_SECRET_KEY, randomBytes(32).toString('base64url'));
  logger.warn('using a generated encryption secret stored in the database; exports from here import only where the same secret is set');
  return secret;
}

/**
 * The dispatcher's observer: the metrics, plus the audit trail when AUDIT_TOOL_CALLS is on. Off,
 * it is the metrics object itself, so a call costs nothing more than before.
 */
function toolCallObserver(metrics: Metrics, audit: AuditLog | undefined): CallObserver {
  if (!audit) return metrics;
  return {
    toolCall(tool, gateway, outcome, seconds, context) {
      metrics.toolCall(tool, gateway, outcome, seconds);
      audit.toolCall({ actor: context?.principal, source: context?.source, requestId: context?.requestId, tool, server: context?.server, outcome, seconds });
    },
  };
}

/** Apply `use` to the catalog's snapshot without a tick when it is current. */
function withSnapshot<T>(snapshot: Snapshot | Promise<Snapshot>, use: (snapshot: Snapshot) => T): T | Promise<T> {
  return snapshot instanceof Promise ? snapshot.then(use) : use(snapshot);
}
