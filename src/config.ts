import { isIP } from 'node:net';
import { GatewayError } from './errors.js';
import { parsePolicyList } from './upstream/outbound-policy.js';
import { validSeparator } from './domain/names.js';

/** Everything `serve` needs, read from the environment and flags (SPEC §2). */
export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  /** Redis for cross-instance change events (REDIS_URL); unset: changes stay in this process. */
  redisUrl: string | undefined;
  /** Prefix of the Redis channel, `<prefix>:events` (REDIS_CHANNEL_PREFIX, default mcpgateway). */
  redisChannelPrefix: string;
  encryptionSecret: string | undefined;
  basicUser: string | undefined;
  basicPassword: string | undefined;
  jwtSecret: string | undefined;
  authRequired: boolean;
  capabilityDirs: string[];
  /** Where the admin page writes import-planner drafts before activation (IMPORT_DRAFTS_DIR, default capability-drafts). */
  importDraftsDir: string;
  /** Variables tools stored through the Admin API may reference as env:VAR: names, or prefixes ending in *. */
  envRefAllowlist: string[];
  bodyLimitBytes: number;
  /** Largest POST /import body (IMPORT_BODY_LIMIT_BYTES, default 256 MiB). */
  importBodyLimitBytes: number;
  logLevel: string;
  /**
   * Extra host names accepted in `Host`/`Origin` when bound to loopback (ALLOWED_HOSTS, comma
   * separated); localhost, 127.0.0.1 and [::1] always are. `*` turns the check off.
   */
  allowedHosts: string[];
  /**
   * Which peers are trusted to say the client's address in X-Forwarded-For (and the scheme and
   * host in X-Forwarded-Proto / -Host), TRUST_PROXY: false (default), a hop count, or addresses,
   * CIDRs and the names loopback, linklocal, uniquelocal. Read by the sign-in throttle, audit and logs.
   */
  trustProxy: false | number | string[];
  mcp: McpSettings;
  /** Roles, tokens, audit, OAuth and rate limits (issue 11). */
  access: AccessSettings;
  /** Hardening limits and policies (issue 10). */
  hardening: HardeningSettings;
}

/** Access control settings (docs/access.md). */
export interface AccessSettings {
  /** Days audit events are kept (AUDIT_RETENTION_DAYS, default 90). */
  auditRetentionDays: number;
  /** Record every tools/call (actor, tool, outcome, duration; never arguments). */
  auditToolCalls: boolean;
  /** Failed sign-ins per address or user per window before 429 (AUTH_FAILURE_LIMIT, default 20). */
  authFailureLimit: number;
  /** That window in seconds (AUTH_FAILURE_WINDOW_SECONDS, default 60). */
  authFailureWindowSeconds: number;
  /** The OAuth 2.1 authorization server whose access tokens MCP clients bring (OAUTH_ISSUER). */
  oauthIssuer: string | undefined;
  /** The audience those tokens must name (OAUTH_AUDIENCE; default the gateway's URL). */
  oauthAudience: string | undefined;
  /** role → the scope that grants it (OAUTH_ROLE_SCOPES, `role=scope,…`). */
  oauthRoleScopes: Record<'admin' | 'editor' | 'viewer' | 'client', string>;
  /** The claim listing the virtual servers a client token may reach (OAUTH_SERVERS_CLAIM, default mcp_servers). */
  oauthServersClaim: string;
  /** Requests per minute per principal (RATE_LIMIT_PER_PRINCIPAL; 0: off). */
  ratePerPrincipal: number;
  /** tools/call per minute per principal and tool (RATE_LIMIT_PER_TOOL; 0: off). */
  ratePerTool: number;
  /** MCP requests per minute per principal and virtual server (RATE_LIMIT_PER_SERVER; 0: off). */
  ratePerServer: number;
}

/** Hardening (issue 10): store fault handling, limits, outbound policy, browser rules. */
export interface HardeningSettings {
  /** How long a SQLite write waits for another connection's lock before 503 (SQLITE_BUSY_TIMEOUT_MS, default 5000). */
  sqliteBusyTimeoutMs: number;
  /** Deepest nesting accepted in a JSON body (MAX_JSON_DEPTH, default 128). */
  maxJsonDepth: number;
  /** Most messages in one JSON-RPC batch (MCP_MAX_BATCH, default 100). */
  maxBatch: number;
  /** Largest rendered prompt (PROMPT_MAX_RENDER_BYTES, default 1 MiB). */
  promptMaxRenderBytes: number;
  /** Origins browsers may call the MCP endpoints from besides the gateway's own (MCP_ALLOWED_ORIGINS; `*`: any). */
  allowedOrigins: string[];
  /** Longest wait for a request's headers and body (REQUEST_TIMEOUT_MS, default 30000); then 408. */
  requestTimeoutMs: number;
  /** Outbound policy: only these CIDRs / host patterns (UPSTREAM_ALLOW; empty: any not denied). */
  upstreamAllow: string[];
  /** Outbound policy: never these (UPSTREAM_DENY), besides link-local and cloud metadata. */
  upstreamDeny: string[];
}

/** Tunables of MCP serving and federation (all optional variables). */
export interface McpSettings {
  /** Items per page of tools/list, prompts/list, resources/list (MCP_PAGE_SIZE). */
  pageSize: number;
  /** Default per-call timeout for tools (TOOL_TIMEOUT_MS); a tool's timeout_ms overrides it. */
  toolTimeoutMs: number;
  /** Largest REST tool response accepted (MAX_RESPONSE_BYTES). */
  maxResponseBytes: number;
  /** Milliseconds between upstream health checks (HEALTH_CHECK_INTERVAL_MS). */
  healthIntervalMs: number;
  /** Separator between a gateway prefix and a tool name (FEDERATION_NAME_SEPARATOR, default "__"). */
  nameSeparator: string;
  /** Past this many tools, /mcp lists the search meta-tools instead of every tool (TOOL_SEARCH_THRESHOLD; 0, the default: never). */
  toolSearchThreshold: number;
  // issue 9 (relay isolation): upstream sessions per client session
  /** stdio upstreams: one process for every client ("shared") or one per client session (STDIO_UPSTREAM_SESSIONS). */
  stdioSessions: 'shared' | 'per-client';
  /** Most upstream sessions open per gateway (UPSTREAM_SESSION_MAX). */
  upstreamSessionMax: number;
  /** An upstream session idle this long is closed (UPSTREAM_SESSION_IDLE_MS). */
  upstreamSessionIdleMs: number;
}

/** Flags of `mcpgateway serve`; each overrides its variable. */
export interface ConfigFlags {
  host?: string;
  port?: string;
  databaseUrl?: string;
  authRequired?: string;
  logLevel?: string;
  bodyLimit?: string;
}

const MIN_SECRET_BYTES = 32;

/** Read the configuration; throws CONFIG_INVALID naming the variable that is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: ConfigFlags = {}): Config {
  const value = (flag: string | undefined, name: string): string | undefined => {
    const raw = flag ?? env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const port = parseInteger(value(flags.port, 'PORT') ?? '4444', 'PORT', 0, 65_535);
  const bodyLimitBytes = parseInteger(value(flags.bodyLimit, 'BODY_LIMIT_BYTES') ?? '1048576', 'BODY_LIMIT_BYTES', 1024, 1024 ** 3);
  const importBodyLimitBytes = parseInteger(value(undefined, 'IMPORT_BODY_LIMIT_BYTES') ?? String(256 * 1024 ** 2), 'IMPORT_BODY_LIMIT_BYTES', 1024, 1024 ** 3);
  const logLevel = value(flags.logLevel, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new GatewayError('CONFIG_INVALID', `LOG_LEVEL "${logLevel}" is not one of fatal, error, warn, info, debug, trace, silent`);
  }
  const basicUser = value(undefined, 'BASIC_AUTH_USER');
  const basicPassword = value(undefined, 'BASIC_AUTH_PASSWORD');
  if ((basicUser === undefined) !== (basicPassword === undefined)) {
    throw new GatewayError('CONFIG_INVALID', 'BASIC_AUTH_USER and BASIC_AUTH_PASSWORD must be set together');
  }
  for (const entry of (env.ENV_REF_ALLOWLIST ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    if (!/^([A-Za-z_][A-Za-z0-9_]*\*?|\*)$/.test(entry)) {
      throw new GatewayError('CONFIG_INVALID', `ENV_REF_ALLOWLIST entry "${entry}" must be a variable name, a prefix ending in *, or * alone`);
    }
  }
  const redisUrl = value(undefined, 'REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
    // The URL may carry a password: never echo it.
    throw new GatewayError('CONFIG_INVALID', 'REDIS_URL must be a redis:// or rediss:// URL');
  }
  const redisChannelPrefix = value(undefined, 'REDIS_CHANNEL_PREFIX') ?? 'mcpgateway';
  if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(redisChannelPrefix)) {
    throw new GatewayError('CONFIG_INVALID', 'REDIS_CHANNEL_PREFIX must be 1 to 100 letters, digits, _ . : or -');
  }
  const access = accessSettings(value);
  if (basicUser?.includes(':')) throw new GatewayError('CONFIG_INVALID', 'BASIC_AUTH_USER must not contain ":"');
  return {
    host: value(flags.host, 'HOST') ?? '127.0.0.1',
    port,
    databaseUrl: value(flags.databaseUrl, 'DATABASE_URL') ?? 'sqlite:./mcpgateway.db',
    redisUrl,
    redisChannelPrefix,
    encryptionSecret: value(undefined, 'AUTH_ENCRYPTION_SECRET'),
    basicUser,
    basicPassword,
    jwtSecret: value(undefined, 'JWT_SECRET_KEY'),
    authRequired: parseBoolean(value(flags.authRequired, 'AUTH_REQUIRED') ?? 'true', 'AUTH_REQUIRED'),
    envRefAllowlist: (value(undefined, 'ENV_REF_ALLOWLIST') ?? '')
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean),
    capabilityDirs: (value(undefined, 'CAPABILITY_DIRS') ?? 'capabilities')
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean),
    importDraftsDir: value(undefined, 'IMPORT_DRAFTS_DIR')?.trim() || 'capability-drafts',
    bodyLimitBytes,
    importBodyLimitBytes,
    logLevel,
    allowedHosts: (value(undefined, 'ALLOWED_HOSTS') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    trustProxy: trustProxy(value(undefined, 'TRUST_PROXY')),
    hardening: {
      sqliteBusyTimeoutMs: parseInteger(value(undefined, 'SQLITE_BUSY_TIMEOUT_MS') ?? '5000', 'SQLITE_BUSY_TIMEOUT_MS', 0, 600_000),
      upstreamAllow: policyList(value(undefined, 'UPSTREAM_ALLOW'), 'UPSTREAM_ALLOW'),
      upstreamDeny: policyList(value(undefined, 'UPSTREAM_DENY'), 'UPSTREAM_DENY'),
      requestTimeoutMs: parseInteger(value(undefined, 'REQUEST_TIMEOUT_MS') ?? '30000', 'REQUEST_TIMEOUT_MS', 100, 3_600_000),
      maxJsonDepth: parseInteger(value(undefined, 'MAX_JSON_DEPTH') ?? '128', 'MAX_JSON_DEPTH', 8, 1000),
      maxBatch: parseInteger(value(undefined, 'MCP_MAX_BATCH') ?? '100', 'MCP_MAX_BATCH', 1, 100_000),
      promptMaxRenderBytes: parseInteger(value(undefined, 'PROMPT_MAX_RENDER_BYTES') ?? String(1024 * 1024), 'PROMPT_MAX_RENDER_BYTES', 1024, 1024 ** 3),
      allowedOrigins: (value(undefined, 'MCP_ALLOWED_ORIGINS') ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    },
    mcp: {
      pageSize: parseInteger(value(undefined, 'MCP_PAGE_SIZE') ?? '1000', 'MCP_PAGE_SIZE', 1, 100_000),
      toolTimeoutMs: parseInteger(value(undefined, 'TOOL_TIMEOUT_MS') ?? '60000', 'TOOL_TIMEOUT_MS', 1, 3_600_000),
      maxResponseBytes: parseInteger(value(undefined, 'MAX_RESPONSE_BYTES') ?? String(10 * 1024 * 1024), 'MAX_RESPONSE_BYTES', 1, 1024 ** 3),
      healthIntervalMs: parseInteger(value(undefined, 'HEALTH_CHECK_INTERVAL_MS') ?? '30000', 'HEALTH_CHECK_INTERVAL_MS', 50, 86_400_000),
      nameSeparator: separator(value(undefined, 'FEDERATION_NAME_SEPARATOR') ?? '__'),
      toolSearchThreshold: parseInteger(value(undefined, 'TOOL_SEARCH_THRESHOLD') ?? '0', 'TOOL_SEARCH_THRESHOLD', 0, 10_000_000),
      stdioSessions: stdioSessions(value(undefined, 'STDIO_UPSTREAM_SESSIONS') ?? 'shared'),
      upstreamSessionMax: parseInteger(value(undefined, 'UPSTREAM_SESSION_MAX') ?? '100', 'UPSTREAM_SESSION_MAX', 1, 100_000),
      upstreamSessionIdleMs: parseInteger(value(undefined, 'UPSTREAM_SESSION_IDLE_MS') ?? '300000', 'UPSTREAM_SESSION_IDLE_MS', 1_000, 86_400_000),
    },
    access,
  };
}

const DEFAULT_ROLE_SCOPES = { admin: 'mcpgateway:admin', editor: 'mcpgateway:editor', viewer: 'mcpgateway:viewer', client: 'mcp' };

function accessSettings(value: (flag: string | undefined, name: string) => string | undefined): AccessSettings {
  const issuer = value(undefined, 'OAUTH_ISSUER');
  if (issuer !== undefined && !/^https?:\/\/[^\s]+$/.test(issuer)) throw new GatewayError('CONFIG_INVALID', 'OAUTH_ISSUER must be an http(s):// URL');
  const audience = value(undefined, 'OAUTH_AUDIENCE');
  const roleScopes = { ...DEFAULT_ROLE_SCOPES };
  for (const entry of (value(undefined, 'OAUTH_ROLE_SCOPES') ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^(admin|editor|viewer|client)=([\x21\x23-\x5b\x5d-\x7e]+)$/.exec(entry);
    if (!match) throw new GatewayError('CONFIG_INVALID', `OAUTH_ROLE_SCOPES entry "${entry}" must look like role=scope (roles: admin, editor, viewer, client)`);
    roleScopes[match[1] as keyof typeof roleScopes] = match[2]!;
  }
  const serversClaim = value(undefined, 'OAUTH_SERVERS_CLAIM') ?? 'mcp_servers';
  if (!/^[\w.:-]{1,100}$/.test(serversClaim)) throw new GatewayError('CONFIG_INVALID', 'OAUTH_SERVERS_CLAIM must be a claim name');
  return {
    auditRetentionDays: parseInteger(value(undefined, 'AUDIT_RETENTION_DAYS') ?? '90', 'AUDIT_RETENTION_DAYS', 1, 36_500),
    auditToolCalls: parseBoolean(value(undefined, 'AUDIT_TOOL_CALLS') ?? 'false', 'AUDIT_TOOL_CALLS'),
    authFailureLimit: parseInteger(value(undefined, 'AUTH_FAILURE_LIMIT') ?? '20', 'AUTH_FAILURE_LIMIT', 1, 1_000_000),
    authFailureWindowSeconds: parseInteger(value(undefined, 'AUTH_FAILURE_WINDOW_SECONDS') ?? '60', 'AUTH_FAILURE_WINDOW_SECONDS', 1, 86_400),
    oauthIssuer: issuer,
    oauthAudience: audience,
    oauthRoleScopes: roleScopes,
    oauthServersClaim: serversClaim,
    ratePerPrincipal: parseInteger(value(undefined, 'RATE_LIMIT_PER_PRINCIPAL') ?? '0', 'RATE_LIMIT_PER_PRINCIPAL', 0, 10_000_000),
    ratePerTool: parseInteger(value(undefined, 'RATE_LIMIT_PER_TOOL') ?? '0', 'RATE_LIMIT_PER_TOOL', 0, 10_000_000),
    ratePerServer: parseInteger(value(undefined, 'RATE_LIMIT_PER_SERVER') ?? '0', 'RATE_LIMIT_PER_SERVER', 0, 10_000_000),
  };
}

function stdioSessions(raw: string): 'shared' | 'per-client' {
  if (raw !== 'shared' && raw !== 'per-client') throw new GatewayError('CONFIG_INVALID', `STDIO_UPSTREAM_SESSIONS must be "shared" or "per-client", not "${raw.slice(0, 50)}"`);
  return raw;
}

function separator(raw: string): string {
  if (!validSeparator(raw)) {
    throw new GatewayError('CONFIG_INVALID', `FEDERATION_NAME_SEPARATOR must be 1-4 characters of A-Z, a-z, 0-9, "_" or "-", not "${raw}"`);
  }
  return raw;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare.startsWith('::ffff:127.');
  return false;
}

/**
 * The security posture check: weak or missing secrets and disabled auth are allowed only on a
 * loopback bind (returned as warnings, each said once); anywhere else they stop the start.
 */
export function checkSecurity(config: Config): string[] {
  const problems: string[] = [];
  const secret = (name: string, v: string | undefined) => {
    if (v === undefined) problems.push(`${name} is not set`);
    else if (Buffer.byteLength(v, 'utf8') < MIN_SECRET_BYTES) problems.push(`${name} is shorter than ${MIN_SECRET_BYTES} bytes`);
  };
  secret('AUTH_ENCRYPTION_SECRET', config.encryptionSecret);
  const credentialsConfigured = config.basicUser !== undefined || config.jwtSecret !== undefined || config.access.oauthIssuer !== undefined;
  if (config.jwtSecret !== undefined) secret('JWT_SECRET_KEY', config.jwtSecret);
  if (config.basicPassword !== undefined && Buffer.byteLength(config.basicPassword) < 12) {
    problems.push('BASIC_AUTH_PASSWORD is shorter than 12 characters');
  }
  if (!config.authRequired) problems.push('AUTH_REQUIRED=false: the Admin API and MCP endpoints accept anyone');
  else if (!credentialsConfigured) {
    problems.push('no credentials are configured (BASIC_AUTH_USER/BASIC_AUTH_PASSWORD or JWT_SECRET_KEY): serving without authentication');
  }
  if (problems.length > 0 && !isLoopback(config.host)) {
    throw new GatewayError(
      'CONFIG_INVALID',
      `refusing to listen on ${config.host}, which is not a loopback address: ${problems.join('; ')}. ` +
        'Set strong secrets (at least 32 bytes) and credentials, or bind HOST to 127.0.0.1.',
    );
  }
  return problems.map((p) => `${p} (accepted only because the gateway is bound to loopback ${config.host})`);
}

/** Whether requests must authenticate: with no credentials configured there is nothing to check. */
export function authEnforced(config: Config): boolean {
  return config.authRequired && (config.basicUser !== undefined || config.jwtSecret !== undefined || config.access?.oauthIssuer !== undefined);
}

function parseInteger(raw: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new GatewayError('CONFIG_INVALID', `${name} must be a whole number, not "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new GatewayError('CONFIG_INVALID', `${name} must be between ${min} and ${max}, not ${n}`);
  return n;
}

function parseBoolean(raw: string, name: string): boolean {
  const v = raw.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new GatewayError('CONFIG_INVALID', `${name} must be true or false, not "${raw}"`);
}

/** TRUST_PROXY: off, a hop count, or the proxies' addresses; never "everyone", which would let any client choose its address. */
function trustProxy(raw: string | undefined): false | number | string[] {
  const text = raw?.trim() ?? '';
  if (text === '' || text.toLowerCase() === 'false') return false;
  if (/^\d+$/.test(text)) return parseInteger(text, 'TRUST_PROXY', 1, 32);
  if (text.toLowerCase() === 'true' || text === '*') {
    throw new GatewayError('CONFIG_INVALID', 'TRUST_PROXY must name the proxies (addresses, CIDRs, loopback) or a hop count: trusting every peer lets any client choose the address the sign-in throttle and the audit trail see');
  }
  const entries = text.split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const bits = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= bits))) {
      throw new GatewayError('CONFIG_INVALID', `TRUST_PROXY: ${JSON.stringify(entry)} is not an address, a CIDR or one of loopback, linklocal, uniquelocal`);
    }
  }
  return entries;
}

function policyList(raw: string | undefined, name: string): string[] {
  try {
    return parsePolicyList(raw, name);
  } catch (error) {
    throw new GatewayError('CONFIG_INVALID', (error as Error).message);
  }
}
