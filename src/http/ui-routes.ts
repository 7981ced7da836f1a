import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Principal } from './auth.js';
import { cookieValue, SESSION_COOKIE, sessionCookie, UI_MARKER_HEADER, type UiSessions } from './ui-session.js';

/** Where `npm run build` puts the page (dist/ui), the same from src/http and dist/http. */
const UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));
const ASSET_NAME = /^[a-z][\w-]*\.(js|css)$/;
const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

export interface UiRouteOptions {
  sessions: UiSessions;
  /** Auth is not enforced (loopback trial mode): the page opens without sign-in and says so. */
  trial: boolean;
}

/** What the page learns about who is signed in. */
function describe(principal: Principal, trial: boolean, csrf?: string) {
  const role = principal.role;
  return { signed_in: true, trial, subject: principal.subject, method: principal.method, role, ...(csrf ? { csrf_token: csrf } : {}) };
}

/**
 * `GET /admin` (the page), `GET /admin/assets/{file}` (its scripts and styles, from dist/ui) and
 * the page's session: `POST /admin/session` exchanges the Authorization header the auth hook has
 * already checked for an HttpOnly cookie, `GET` says who is signed in, `DELETE` signs out.
 */
export function registerUiRoutes(app: FastifyInstance, options: UiRouteOptions): void {
  const { sessions, trial } = options;
  // The files never change while the gateway runs: read each once.
  const cache = new Map<string, Buffer>();
  const asset = async (name: string): Promise<Buffer> => {
    const known = cache.get(name);
    if (known) return known;
    try {
      const body = await readFile(UI_DIR + name);
      cache.set(name, body);
      return body;
    } catch {
      throw new GatewayError('ROUTE_NOT_FOUND', `no admin page asset "${name}" (was the page built? run npm run build)`);
    }
  };

  // A 401 to the page carries no Basic challenge, so the browser shows the page's sign-in, not its own dialog.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode === 401 && request.headers[UI_MARKER_HEADER] === 'mcpgateway-admin') reply.removeHeader('WWW-Authenticate');
    done(null, payload);
  });

  app.get('/admin', async (_request, reply) => reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(await asset('index.html')));
  app.get('/admin/assets/:file', async (request, reply) => {
    const file = (request.params as { file: string }).file;
    const match = ASSET_NAME.exec(file);
    if (!match) throw new GatewayError('ROUTE_NOT_FOUND', `no admin page asset "${file}"`);
    return reply.headers(SECURITY_HEADERS).type(TYPES[match[1]!]!).send(await asset(file));
  });

  app.get('/admin/session', async (request) => {
    if (trial) return describe(request.principal ?? { subject: 'anonymous', method: 'none', role: 'admin' }, true);
    const found = cookieSession(request, sessions);
    if (!found) return { signed_in: false, trial: false };
    return describe(found.principal, false, found.csrf);
  });
  app.post('/admin/session', async (request, reply) => {
    const principal = request.principal ?? { subject: 'anonymous', method: 'none', role: 'admin' };
    if (trial || principal.method === 'none') return describe(principal, true);
    if (principal.method === 'session') throw new GatewayError('BAD_REQUEST', 'already signed in: sign in with Basic credentials or a bearer token');
    const issued = sessions.create(principal);
    reply.header('Set-Cookie', sessionCookie(issued.id, issued.maxAgeSeconds, overTls(request)));
    return describe({ ...principal, method: 'session' }, false, issued.csrf);
  });
  app.delete('/admin/session', async (request, reply) => {
    const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (id !== undefined) sessions.revoke(id);
    return reply.header('Set-Cookie', sessionCookie('', 0, overTls(request))).code(204).send();
  });
}

/**
 * Whether the page was reached over TLS: the gateway's own HTTPS, or a TLS-terminating proxy that
 * says so. Trusting the header here can only make the cookie stricter (Secure), never weaker.
 */
function overTls(request: FastifyRequest): boolean {
  const forwarded = request.headers['x-forwarded-proto'];
  return request.protocol === 'https' || (typeof forwarded === 'string' && forwarded.split(',')[0]!.trim().toLowerCase() === 'https');
}

function cookieSession(request: FastifyRequest, sessions: UiSessions) {
  const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
  return id === undefined ? undefined : sessions.lookup(id);
}
