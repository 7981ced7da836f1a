import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import { GatewayError } from '../errors.js';

export interface AuthSettings {
  enforced: boolean;
  basicUser: string | undefined;
  basicPassword: string | undefined;
  jwtSecret: string | undefined;
}

/** Paths anyone may call: liveness and readiness probes. */
const PUBLIC_PATHS = new Set(['/health', '/ready']);

export const CHALLENGE = ['Basic realm="mcpgateway", charset="UTF-8"', 'Bearer realm="mcpgateway"'];

/** The caller an accepted request authenticated as. */
export interface Principal {
  subject: string;
  method: 'basic' | 'bearer' | 'none';
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Most distinct Authorization values whose verdict is remembered. */
const MAX_CACHED_CREDENTIALS = 10_000;

/**
 * Build the onRequest hook that admits a request or answers 401. Accepted credentials are
 * remembered by their exact header value: Basic until the process ends (the password is fixed
 * at start), bearer tokens until their `exp`, so a JWT is verified once, not on every call. The
 * hook is callback-style, so an admitted request costs no promise.
 */
export function authHook(settings: AuthSettings) {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const userDigest = settings.basicUser !== undefined ? digest(settings.basicUser) : undefined;
  const passwordDigest = settings.basicPassword !== undefined ? digest(settings.basicPassword) : undefined;
  const jwtKey = settings.jwtSecret !== undefined ? new TextEncoder().encode(settings.jwtSecret) : undefined;
  const anonymous: Principal = { subject: 'anonymous', method: 'none' };
  /** header value → principal and when it stops being valid (ms; Infinity for Basic). */
  const accepted = new Map<string, { principal: Principal; until: number }>();
  const remember = (header: string, principal: Principal, until: number) => {
    if (accepted.size >= MAX_CACHED_CREDENTIALS) accepted.delete(accepted.keys().next().value!);
    accepted.set(header, { principal, until });
  };
  const refuse = (reply: FastifyReply, done: (error?: Error) => void, error: GatewayError) => {
    reply.header('WWW-Authenticate', CHALLENGE);
    done(error);
  };

  return function authenticate(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
    if (!settings.enforced) {
      request.principal = anonymous;
      return done();
    }
    const url = request.url;
    const query = url.indexOf('?');
    if (PUBLIC_PATHS.has(query < 0 ? url : url.slice(0, query))) return done();
    const header = request.headers.authorization;
    if (!header) return refuse(reply, done, new GatewayError('AUTH_REQUIRED', 'send credentials: Authorization: Basic … or Authorization: Bearer <token>'));
    const known = accepted.get(header);
    if (known) {
      if (known.until > Date.now()) {
        request.principal = known.principal;
        return done();
      }
      accepted.delete(header);
    }
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const credentials = space < 0 ? '' : header.slice(space + 1).trim();
    const invalid = () => refuse(reply, done, new GatewayError('AUTH_INVALID', 'the credentials were not accepted'));
    if (scheme === 'basic' && userDigest && passwordDigest) {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), userDigest);
        const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), passwordDigest);
        if (userOk && passwordOk) {
          request.principal = { subject: decoded.slice(0, colon), method: 'basic' };
          remember(header, request.principal, Infinity);
          return done();
        }
      }
      return invalid();
    }
    if (scheme === 'bearer' && jwtKey && credentials) {
      jwtVerify(credentials, jwtKey, { algorithms: ['HS256'], requiredClaims: ['exp'] }).then(
        ({ payload }) => {
          request.principal = { subject: typeof payload.sub === 'string' ? payload.sub : 'token', method: 'bearer' };
          remember(header, request.principal, (payload.exp as number) * 1000);
          done();
        },
        // The refusal says nothing about why.
        () => invalid(),
      );
      return;
    }
    invalid();
  };
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
