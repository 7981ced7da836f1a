import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Principal } from './auth.js';

/** The admin page's session cookie. */
export const SESSION_COOKIE = 'mcpgw_session';
/** The header every cookie-authenticated write must carry (the session's CSRF token). */
export const CSRF_HEADER = 'x-csrf-token';
/** The admin page marks its requests so a 401 carries no Basic challenge (no browser dialog). */
export const UI_MARKER_HEADER = 'x-requested-with';
/** A session ends after this long without a request... */
export const SESSION_IDLE_MS = 30 * 60_000;
/** ...and after this long in any case. */
export const SESSION_MAX_MS = 8 * 60 * 60_000;
const MAX_SESSIONS = 10_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Session {
  principal: Principal;
  csrf: string;
  idleUntil: number;
  until: number;
}

/** A new session as the sign-in route hands it out. */
export interface IssuedSession {
  id: string;
  csrf: string;
  maxAgeSeconds: number;
}

/**
 * Cookie sessions for the admin page, in this process's memory. Sessions are keyed by the
 * SHA-256 of the cookie value, so a heap dump does not hand out live cookies. A session keeps
 * the principal that signed in (method becomes 'session', role and scope are kept).
 */
export class UiSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Start a session for a principal that just proved its credentials. */
  create(principal: Principal): IssuedSession {
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const now = this.now();
    this.sessions.set(key(id), { principal: { ...principal, method: 'session' }, csrf, idleUntil: now + SESSION_IDLE_MS, until: now + SESSION_MAX_MS });
    return { id, csrf, maxAgeSeconds: Math.floor(SESSION_MAX_MS / 1000) };
  }

  /** The live session for a cookie value (its idle timer restarts), or undefined. */
  lookup(id: string): { principal: Principal; csrf: string } | undefined {
    const k = key(id);
    const session = this.sessions.get(k);
    if (!session) return undefined;
    const now = this.now();
    if (now >= session.idleUntil || now >= session.until) {
      this.sessions.delete(k);
      return undefined;
    }
    session.idleUntil = Math.min(now + SESSION_IDLE_MS, session.until);
    return session;
  }

  /** Sign out: the cookie stops working at once. */
  revoke(id: string): void {
    this.sessions.delete(key(id));
  }

  /**
   * Authenticate a request by its session cookie: undefined when it carries none, the
   * principal when the session is live (and, for a write, the CSRF header matches), else the
   * error to answer with.
   */
  authenticate(request: FastifyRequest): Principal | GatewayError | undefined {
    const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = this.lookup(id);
    if (!session) return new GatewayError('SESSION_EXPIRED', 'the admin session has expired or was signed out; sign in again');
    if (!SAFE_METHODS.has(request.method)) {
      const given = request.headers[CSRF_HEADER];
      if (typeof given !== 'string' || !sameText(given, session.csrf)) {
        return new GatewayError('CSRF_INVALID', `a write made with the session cookie must carry the session's ${CSRF_HEADER} header`);
      }
    }
    return session.principal;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, s] of this.sessions) if (now >= s.idleUntil || now >= s.until) this.sessions.delete(k);
  }
}

function key(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** One cookie's value from a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value for a session (or, with maxAge 0, one that clears it). */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}
