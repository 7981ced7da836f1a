import { isIP } from 'node:net';
import { GatewayError } from './errors.js';

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
  mcp: McpSettings;
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
    bodyLimitBytes,
    importBodyLimitBytes,
    logLevel,
    allowedHosts: (value(undefined, 'ALLOWED_HOSTS') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    mcp: {
      pageSize: parseInteger(value(undefined, 'MCP_PAGE_SIZE') ?? '1000', 'MCP_PAGE_SIZE', 1, 100_000),
      toolTimeoutMs: parseInteger(value(undefined, 'TOOL_TIMEOUT_MS') ?? '60000', 'TOOL_TIMEOUT_MS', 1, 3_600_000),
      maxResponseBytes: parseInteger(value(undefined, 'MAX_RESPONSE_BYTES') ?? String(10 * 1024 * 1024), 'MAX_RESPONSE_BYTES', 1, 1024 ** 3),
      healthIntervalMs: parseInteger(value(undefined, 'HEALTH_CHECK_INTERVAL_MS') ?? '30000', 'HEALTH_CHECK_INTERVAL_MS', 50, 86_400_000),
      nameSeparator: separator(value(undefined, 'FEDERATION_NAME_SEPARATOR') ?? '__'),
      stdioSessions: stdioSessions(value(undefined, 'STDIO_UPSTREAM_SESSIONS') ?? 'shared'),
      upstreamSessionMax: parseInteger(value(undefined, 'UPSTREAM_SESSION_MAX') ?? '100', 'UPSTREAM_SESSION_MAX', 1, 100_000),
      upstreamSessionIdleMs: parseInteger(value(undefined, 'UPSTREAM_SESSION_IDLE_MS') ?? '300000', 'UPSTREAM_SESSION_IDLE_MS', 1_000, 86_400_000),
    },
  };
}

function stdioSessions(raw: string): 'shared' | 'per-client' {
  if (raw !== 'shared' && raw !== 'per-client') throw new GatewayError('CONFIG_INVALID', `STDIO_UPSTREAM_SESSIONS must be "shared" or "per-client", not "${raw.slice(0, 50)}"`);
  return raw;
}

function separator(raw: string): string {
  if (!/^[a-zA-Z0-9_-]{1,4}$/.test(raw)) {
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
  const credentialsConfigured = config.basicUser !== undefined || config.jwtSecret !== undefined;
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
  return config.authRequired && (config.basicUser !== undefined || config.jwtSecret !== undefined);
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
