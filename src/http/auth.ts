import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { GatewayError } from '../errors.js';
import type { AuditLog } from '../services/audit.js';
import { TOKEN_PREFIX, type TokenService } from '../services/tokens.js';
import { allows, ROLES, ruleFor, type Permission, type Principal, type Role, type RouteRule } from './permissions.js';
import { FailureThrottle } from './throttle.js';

export type { Principal } from './permissions.js';

/** An OAuth 2.1 resource server (src/http/oauth.ts), when OAUTH_ISSUER is set. */
export interface OAuthResource {
  /** Verify an access token: the principal and its scopes, or a throw (any reason: 401). */
  verify(token: string): Promise<{ principal: Principal; scopes: string[]; until: number }>;
  /** The Bearer challenge for a path (resource_metadata, the scope the permission needs, and an error when given). */
  challenge(path: string, base: string, permission: Permission, error?: 'invalid_token' | 'insufficient_scope'): string;
  /** The scope a permission needs of an OAuth token (the least role's). */
  scopeFor(permission: Permission): string;
  /** Whether scopes grant a role the permission allows. */
  permits(scopes: string[], permission: Permission): boolean;
}

export interface AuthSettings {
  enforced: boolean;
  basicUser: string | undefined;
  basicPassword: string | undefined;
  jwtSecret: string | undefined;
  tokens?: TokenService;
  audit?: AuditLog;
  oauth?: OAuthResource;
  /** Failed sign-ins per source address and per user name before 429 (AUTH_FAILURE_LIMIT). */
  failureLimit?: number;
  /** The window of that count in ms (AUTH_FAILURE_WINDOW_SECONDS). */
  failureWindowMs?: number;
  /**
   * Another way in, tried before the Authorization header (e.g. the admin UI's session cookie,
   * method 'session'): a principal, an error to answer with (an expired session, a write without
   * its CSRF token), or undefined to go on. Its principal is authorized like any other.
   */
  session?: (request: FastifyRequest) => Principal | GatewayError | undefined;
  /** The name of the virtual server an id or name stands for (a client's servers are names). */
  serverName?: (idOrName: string) => Promise<string | undefined>;
}

export const CHALLENGE = ['Basic realm="mcpgateway", charset="UTF-8"', 'Bearer realm="mcpgateway"'];

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Most distinct Authorization values whose verdict is remembered. */
const MAX_CACHED_CREDENTIALS = 10_000;

type Done = (error?: Error) => void;

/**
 * Build the onRequest hook that admits a request, or answers 401 (who are you?), 403 (not
 * allowed) or 429 (too many failed attempts). The permission a route needs comes from
 * permissions.ts (one table); this is the one place it is enforced. Accepted credentials are
 * remembered by their exact header value: Basic until the process ends (the password is fixed
 * at start), JWTs until their `exp`; stored tokens are not (their service caches the verdict by
 * hash and hears revocations), so nothing is verified twice on the hot path. The hook is
 * callback-style, so an admitted request costs no promise.
 */
export function authHook(settings: AuthSettings) {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const userDigest = settings.basicUser !== undefined ? digest(settings.basicUser) : undefined;
  const passwordDigest = settings.basicPassword !== undefined ? digest(settings.basicPassword) : undefined;
  const jwtKey = settings.jwtSecret !== undefined ? new TextEncoder().encode(settings.jwtSecret) : undefined;
  const anonymous: Principal = { subject: 'anonymous', method: 'none', role: 'admin' };
  const throttle = new FailureThrottle(settings.failureLimit ?? 20, settings.failureWindowMs ?? 60_000);
  /** header value → principal, its OAuth scopes, and when it stops being valid (ms; Infinity for Basic). */
  const accepted = new Map<string, { principal: Principal; until: number; scopes?: string[] }>();
  const remember = (header: string, principal: Principal, until: number, scopes?: string[]) => {
    if (accepted.size >= MAX_CACHED_CREDENTIALS) accepted.delete(accepted.keys().next().value!);
    accepted.set(header, scopes ? { principal, until, scopes } : { principal, until });
  };
  const pathOf = (request: FastifyRequest) => request.url.split('?', 1)[0]!;
  const oauthChallenge = (request: FastifyRequest, permission: Permission, error?: 'invalid_token' | 'insufficient_scope') =>
    settings.oauth!.challenge(pathOf(request), `${request.protocol}://${request.host}`, permission, error);
  const refuse = (request: FastifyRequest, reply: FastifyReply, done: Done, error: GatewayError, permission: Permission) => {
    const oauthError = error.code === 'AUTH_INVALID' ? 'invalid_token' : undefined;
    reply.header('WWW-Authenticate', settings.oauth ? [CHALLENGE[0]!, oauthChallenge(request, permission, oauthError)] : CHALLENGE);
    done(error);
  };

  /** The principal may call the route (role, servers, OAuth scope)? */
  const authorize = (request: FastifyRequest, reply: FastifyReply, done: Done, principal: Principal, rule: RouteRule, scopes?: string[]): void => {
    request.principal = principal;
    if (scopes && settings.oauth) {
      // An OAuth token's scopes say what it may do: short of them, 403 insufficient_scope (step-up).
      if (!settings.oauth.permits(scopes, rule.permission)) {
        reply.header('WWW-Authenticate', oauthChallenge(request, rule.permission, 'insufficient_scope'));
        return done(new GatewayError('INSUFFICIENT_SCOPE', `this endpoint needs the scope "${settings.oauth.scopeFor(rule.permission)}"`));
      }
    } else if (!allows(principal.role, rule.permission)) {
      return done(new GatewayError('FORBIDDEN', `the ${principal.role} role may not call ${request.method} ${routeLabel(request)}${principal.role === 'client' ? ' (a client token reaches MCP endpoints only)' : ''}`));
    }
    if (rule.permission === 'mcp' && principal.servers !== undefined && principal.role === 'client') {
      const server = (request.params as { server?: string } | undefined)?.server;
      const outside = () =>
        done(new GatewayError('FORBIDDEN', server === undefined ? 'this token is limited to virtual servers: use /servers/{name}/mcp' : 'this token does not reach that virtual server'));
      if (server === undefined) return outside();
      if (principal.servers.includes(server)) return done();
      if (!settings.serverName) return outside();
      settings.serverName(server).then((name) => (name !== undefined && principal.servers!.includes(name) ? done() : outside()), done);
      return;
    }
    done();
  };

  const failed = (request: FastifyRequest, reply: FastifyReply, done: Done, user: string | undefined, permission: Permission) => {
    throttle.fail(`ip ${request.ip}`);
    if (user !== undefined) throttle.fail(`user ${user}`);
    settings.audit?.refused(request.ip, user);
    refuse(request, reply, done, new GatewayError('AUTH_INVALID', 'the credentials were not accepted'), permission);
  };

  return function authenticate(request: FastifyRequest, reply: FastifyReply, done: Done): void {
    const rule = ruleFor(request.method, request.routeOptions.url, request.routeOptions.config as { permission?: Permission });
    if (rule.permission === 'public') return done();
    const header = request.headers.authorization;
    const session = settings.session?.(request);
    if (session instanceof GatewayError) return refuse(request, reply, done, session, rule.permission);
    if (session) return authorize(request, reply, done, session, rule);
    if (!settings.enforced) {
      // Trial mode (no credentials configured): everyone is admin, unless a stored token says less.
      const bearer = header?.startsWith('Bearer mcpgw_') && settings.tokens ? header.slice(7).trim() : undefined;
      if (!bearer) return authorize(request, reply, done, anonymous, rule);
      settings.tokens!.verify(bearer).then((p) => authorize(request, reply, done, p ?? anonymous, rule), done);
      return;
    }
    if (!header) return refuse(request, reply, done, new GatewayError('AUTH_REQUIRED', 'send credentials: Authorization: Basic … or Authorization: Bearer <token>'), rule.permission);
    const known = accepted.get(header);
    if (known) {
      if (known.until > Date.now()) return authorize(request, reply, done, known.principal, rule, known.scopes);
      accepted.delete(header);
    }
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const credentials = space < 0 ? '' : header.slice(space + 1).trim();
    let user: string | undefined;
    let decoded = '';
    if (scheme === 'basic') {
      decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) user = decoded.slice(0, colon);
    }
    // Throttled: refuse without looking at the credentials (ones already accepted passed above).
    const wait = Math.max(throttle.retryAfter(`ip ${request.ip}`), user !== undefined ? throttle.retryAfter(`user ${user}`) : 0);
    if (wait > 0) {
      reply.header('Retry-After', String(wait));
      return done(new GatewayError('AUTH_THROTTLED', `too many failed sign-ins; try again in ${wait} s`));
    }
    if (scheme === 'basic' && userDigest && passwordDigest) {
      if (user !== undefined) {
        const userOk = timingSafeEqual(digest(user), userDigest);
        const passwordOk = timingSafeEqual(digest(decoded.slice(user.length + 1)), passwordDigest);
        if (userOk && passwordOk) {
          const principal: Principal = { subject: user, method: 'basic', role: 'admin' };
          remember(header, principal, Infinity);
          return authorize(request, reply, done, principal, rule);
        }
      }
      return failed(request, reply, done, user, rule.permission);
    }
    if (scheme === 'bearer' && credentials) {
      if (credentials.startsWith(TOKEN_PREFIX) && settings.tokens) {
        const cached = settings.tokens.cached(credentials);
        if (cached) return authorize(request, reply, done, cached, rule);
        if (cached === null) return failed(request, reply, done, undefined, rule.permission);
        settings.tokens.verify(credentials).then((principal) => {
          if (!principal) return failed(request, reply, done, undefined, rule.permission);
          authorize(request, reply, done, principal, rule);
        }, done);
        return;
      }
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(credentials).alg;
      } catch {
        return failed(request, reply, done, undefined, rule.permission);
      }
      // HS256 is ours (JWT_SECRET_KEY); anything else can only be the OAuth issuer's (no HS/RS confusion).
      if (alg === 'HS256' && jwtKey) {
        jwtVerify(credentials, jwtKey, { algorithms: ['HS256'], requiredClaims: ['exp'] }).then(
          ({ payload }) => {
            const principal = jwtPrincipal(payload);
            if (!principal) return failed(request, reply, done, undefined, rule.permission);
            remember(header, principal, (payload.exp as number) * 1000);
            authorize(request, reply, done, principal, rule);
          },
          // The refusal says nothing about why.
          () => failed(request, reply, done, undefined, rule.permission),
        );
        return;
      }
      if (settings.oauth && alg !== 'HS256') {
        settings.oauth.verify(credentials).then(
          ({ principal, scopes, until }) => {
            remember(header, principal, until, scopes);
            authorize(request, reply, done, principal, rule, scopes);
          },
          () => failed(request, reply, done, undefined, rule.permission),
        );
        return;
      }
    }
    failed(request, reply, done, undefined, rule.permission);
  };
}

function routeLabel(request: FastifyRequest): string {
  return (request.routeOptions.url ?? request.url.split('?', 1)[0]!).slice(0, 200);
}

/**
 * The principal of a JWT signed with JWT_SECRET_KEY. `role` and `servers` claims narrow it; a
 * token without them is `admin` (what every such token was before roles existed), one with
 * `servers` but no `role` is a `client`. An unknown role or malformed servers: refused.
 */
export function jwtPrincipal(payload: Record<string, unknown>): Principal | undefined {
  const subject = typeof payload.sub === 'string' ? payload.sub : 'token';
  const servers = payload.servers;
  if (servers !== undefined && (!Array.isArray(servers) || servers.length === 0 || !servers.every((s) => typeof s === 'string' && s.length > 0))) return undefined;
  let role: Role;
  if (payload.role === undefined) role = servers !== undefined ? 'client' : 'admin';
  else if (typeof payload.role === 'string' && (ROLES as readonly string[]).includes(payload.role)) role = payload.role as Role;
  else return undefined;
  if (servers !== undefined && role !== 'client') return undefined;
  return { subject, method: 'bearer', role, ...(servers !== undefined ? { servers: servers as string[] } : {}) };
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** The host name of a Host header or an Origin URL, lower case, without port; undefined if unreadable. */
function hostName(value: string, isOrigin: boolean): string | undefined {
  let authority = value.trim().toLowerCase();
  if (isOrigin) {
    const scheme = authority.indexOf('://');
    if (scheme < 0) return authority === 'null' ? 'null' : undefined;
    authority = authority.slice(scheme + 3).split('/', 1)[0]!;
  }
  // Exact: a name or bracketed IPv6 and an optional port, nothing else (`localhost:80@evil.example` is no host; issue 10).
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?$/.test(authority)) return undefined;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? undefined : authority.slice(0, end + 1);
  }
  const colon = authority.indexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

/**
 * DNS-rebinding protection for a gateway bound to loopback: a page on another site that makes
 * its name resolve to 127.0.0.1 still sends that name in Host and Origin, so anything but a
 * loopback name (or one listed in ALLOWED_HOSTS) is refused with 403. Verdicts are cached per
 * header value (bounded).
 */
export function hostHook(extra: string[]) {
  const allowed = new Set([...LOOPBACK_NAMES, ...extra]);
  const verdicts = new Map<string, boolean>();
  const ok = (value: string | undefined, isOrigin: boolean): boolean => {
    if (value === undefined) return true;
    const key = isOrigin ? `o ${value}` : value;
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      const name = hostName(value, isOrigin);
      verdict = name !== undefined && allowed.has(name);
      if (verdicts.size < 1000) verdicts.set(key, verdict);
    }
    return verdict;
  };
  return function checkHost(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
    const origin = request.headers.origin;
    if (ok(request.headers.host, false) && ok(typeof origin === 'string' ? origin : undefined, true)) return done();
    done(new GatewayError('HOST_NOT_ALLOWED', 'this gateway listens on loopback and does not answer requests addressed to another host (set ALLOWED_HOSTS to allow one)'));
  };
}
