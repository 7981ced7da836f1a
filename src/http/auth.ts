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

/** Build the onRequest hook that admits a request or answers 401. */
export function authHook(settings: AuthSettings) {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const userDigest = settings.basicUser !== undefined ? digest(settings.basicUser) : undefined;
  const passwordDigest = settings.basicPassword !== undefined ? digest(settings.basicPassword) : undefined;
  const jwtKey = settings.jwtSecret !== undefined ? new TextEncoder().encode(settings.jwtSecret) : undefined;

  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const path = request.url.split('?', 1)[0]!;
    if (PUBLIC_PATHS.has(path)) return;
    if (!settings.enforced) {
      request.principal = { subject: 'anonymous', method: 'none' };
      return;
    }
    const header = request.headers.authorization;
    if (!header) {
      reply.header('WWW-Authenticate', CHALLENGE);
      throw new GatewayError('AUTH_REQUIRED', 'send credentials: Authorization: Basic … or Authorization: Bearer <token>');
    }
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const credentials = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'basic' && userDigest && passwordDigest) {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), userDigest);
        const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), passwordDigest);
        if (userOk && passwordOk) {
          request.principal = { subject: decoded.slice(0, colon), method: 'basic' };
          return;
        }
      }
    } else if (scheme === 'bearer' && jwtKey && credentials) {
      try {
        const { payload } = await jwtVerify(credentials, jwtKey, { algorithms: ['HS256'], requiredClaims: ['exp'] });
        request.principal = { subject: typeof payload.sub === 'string' ? payload.sub : 'token', method: 'bearer' };
        return;
      } catch {
        // fall through to the refusal, which says nothing about why
      }
    }
    reply.header('WWW-Authenticate', CHALLENGE);
    throw new GatewayError('AUTH_INVALID', 'the credentials were not accepted');
  };
}
