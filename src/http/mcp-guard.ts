import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorResponse, INVALID_REQUEST } from '../protocol/jsonrpc.js';
import { jsonTooDeep } from '../upstream/limits.js';

/**
 * Checks every POST to an MCP endpoint (`/mcp`, `/message`) passes before it is dispatched
 * (issue 10): browser-safe (an `application/json` body only, so a foreign page cannot send a
 * "simple" text/plain or form request; an `Origin`, when present, must be this gateway's own or
 * listed in MCP_ALLOWED_ORIGINS, on every bind address), and bounded (nesting depth, batch size).
 * Refusals are JSON-RPC errors whose `data.code` is the catalogue code.
 */
export interface McpGuardSettings {
  /** Origins (scheme://host[:port]) browsers may call from besides the gateway's own; `*`: any. */
  allowedOrigins: string[];
  /** Deepest nesting of a JSON body (MAX_JSON_DEPTH). */
  maxJsonDepth: number;
  /** Most messages in one JSON-RPC batch (MCP_MAX_BATCH). */
  maxBatch: number;
}

export function mcpGuard(settings: McpGuardSettings) {
  const anyOrigin = settings.allowedOrigins.includes('*');
  const allowed = new Set(settings.allowedOrigins.map(normalOrigin).filter((o): o is string => o !== undefined));
  const refuse = (reply: FastifyReply, status: number, code: string, message: string) =>
    reply.code(status).type('application/json').send(errorResponse(null, INVALID_REQUEST, message, { code }));

  return async function guardMcp(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.method !== 'POST') return;
    const origin = request.headers.origin;
    if (typeof origin === 'string' && !anyOrigin && !sameOrigin(origin, request) && !allowed.has(normalOrigin(origin) ?? '\0')) {
      await refuse(reply, 403, 'HOST_NOT_ALLOWED', `requests from the origin ${origin.slice(0, 200)} are not allowed (list it in MCP_ALLOWED_ORIGINS)`);
      return reply;
    }
    const type = (request.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      await refuse(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', `MCP messages are sent as application/json, not ${type === '' ? 'a body without Content-Type' : type.slice(0, 100)}`);
      return reply;
    }
    const body = typeof request.body === 'string' ? request.body : '';
    if (jsonTooDeep(body, settings.maxJsonDepth)) {
      await refuse(reply, 400, 'BODY_TOO_DEEP', `the body nests deeper than ${settings.maxJsonDepth} levels (MAX_JSON_DEPTH)`);
      return reply;
    }
    if (/^\s*\[/.test(body)) {
      let count = 0;
      try {
        const parsed = JSON.parse(body) as unknown;
        count = Array.isArray(parsed) ? parsed.length : 0;
      } catch {
        return; // the route answers the parse error
      }
      if (count > settings.maxBatch) {
        await refuse(reply, 400, 'BATCH_TOO_LARGE', `the batch holds ${count} messages; at most ${settings.maxBatch} are accepted (MCP_MAX_BATCH)`);
        return reply;
      }
    }
  };
}

/** `scheme://host:port` of an Origin, lower case, default ports dropped; undefined if it is not one. */
function normalOrigin(value: string): string | undefined {
  if (value === 'null') return undefined;
  try {
    const url = new URL(value);
    if (url.username || url.password || (url.protocol !== 'http:' && url.protocol !== 'https:')) return undefined;
    return url.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The Origin names the host the request was sent to (a page of the gateway itself, e.g. the admin UI). */
function sameOrigin(origin: string, request: FastifyRequest): boolean {
  const normal = normalOrigin(origin);
  const host = request.headers.host;
  if (normal === undefined || typeof host !== 'string') return false;
  const url = new URL(normal);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const exact = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(host);
  if (!exact) return false;
  const hostPort = exact[2] ?? (url.protocol === 'https:' ? '443' : '80');
  return exact[1]!.toLowerCase() === url.hostname.toLowerCase() && hostPort === port;
}
