import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Catalog } from '../mcp/catalog.js';
import type { Dispatcher } from '../mcp/dispatcher.js';
import { errorResponse, INVALID_REQUEST, notification, PARSE_ERROR } from '../mcp/jsonrpc.js';

/**
 * MCP over HTTP: Streamable HTTP (`POST/GET/DELETE /mcp`) in stateless mode, and the legacy
 * HTTP+SSE transport (`GET /sse` + `POST /message`), each also under `/servers/{id-or-name}`.
 */

export interface McpRouteDeps {
  dispatcher: Dispatcher;
  catalog: Catalog;
  bodyLimitBytes: number;
}

type ServerParams = { server?: string };

const LIST_CHANGED: Record<string, string> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
};
const HEARTBEAT_MS = 25_000;

/** Open SSE streams: GET /mcp notification streams and legacy SSE sessions. */
class Streams {
  readonly open = new Set<ServerResponse>();
  readonly sessions = new Map<string, LegacySession>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(catalog: Catalog) {
    catalog.onChange((kinds) => {
      for (const kind of kinds) {
        const method = LIST_CHANGED[kind];
        if (!method) continue;
        const frame = sseFrame(notification(method));
        for (const res of this.open) res.write(frame);
      }
    });
    this.heartbeat = setInterval(() => {
      for (const res of this.open) res.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  add(res: ServerResponse): void {
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.open) res.end();
    this.open.clear();
    this.sessions.clear();
  }
}

interface LegacySession {
  res: ServerResponse;
  server: string | undefined;
  inflight: Map<string | number, AbortController>;
}

/** Register the MCP endpoints in their own scope: they read raw JSON-RPC, not problem+json. */
export async function registerMcpRoutes(app: FastifyInstance, deps: McpRouteDeps): Promise<void> {
  const streams = new Streams(deps.catalog);
  app.addHook('preClose', async () => streams.close());

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: deps.bodyLimitBytes }, (_req, body, done) => done(null, body));

    const quiet = { logLevel: 'warn' as const };
    for (const prefix of ['', '/servers/:server']) {
      scope.post(`${prefix}/mcp`, quiet, (request, reply) => post(deps, request, reply));
      scope.get(`${prefix}/mcp`, quiet, (request, reply) => openNotificationStream(deps, streams, request, reply));
      scope.delete(`${prefix}/mcp`, quiet, (_request, reply) => {
        reply.code(405).header('allow', 'GET, POST').type('application/json');
        return reply.send(errorResponse(null, INVALID_REQUEST, 'this endpoint is stateless: there is no session to end'));
      });
      scope.get(`${prefix}/sse`, quiet, (request, reply) => openLegacySession(deps, streams, request, reply, prefix));
      scope.post(`${prefix}/message`, quiet, (request, reply) => legacyMessage(deps, streams, request, reply));
    }
  });
}

/** Check a virtual server exists before serving it: unknown servers get 404. */
async function serverKnown(deps: McpRouteDeps, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const server = (request.params as ServerParams).server;
  if (server === undefined) return true;
  const snapshot = await deps.catalog.current();
  if (snapshot.servers.has(server)) return true;
  reply.code(404).type('application/json').send(errorResponse(null, INVALID_REQUEST, `no active virtual server "${server.slice(0, 128)}"`));
  return false;
}

async function post(deps: McpRouteDeps, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const server = (request.params as ServerParams).server;
  if (!(await serverKnown(deps, request, reply))) return reply;
  let message: unknown;
  try {
    message = JSON.parse(typeof request.body === 'string' ? request.body : '');
  } catch {
    return reply.code(400).type('application/json').send(errorResponse(null, PARSE_ERROR, 'the body is not valid JSON'));
  }
  const abort = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  const wantsStream = String(request.headers.accept ?? '').includes('text/event-stream');
  let streaming = false;
  const notify = wantsStream
    ? (method: string, params: unknown) => {
        if (!streaming) {
          streaming = true;
          reply.hijack();
          reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        }
        reply.raw.write(sseFrame(notification(method, params)));
      }
    : undefined;
  const context = { server, signal: abort.signal, notify };

  let body: string | undefined;
  if (Array.isArray(message)) {
    if (message.length === 0) body = errorResponse(null, INVALID_REQUEST, 'an empty batch is not a request');
    else {
      const answers = (await Promise.all(message.map((m) => deps.dispatcher.handle(m, context)))).filter((a) => a !== undefined);
      body = answers.length > 0 ? `[${answers.join(',')}]` : undefined;
    }
  } else {
    body = await deps.dispatcher.handle(message, context);
  }
  if (streaming) {
    if (body !== undefined) reply.raw.write(sseFrame(body));
    reply.raw.end();
    return reply;
  }
  if (body === undefined) return reply.code(202).send();
  return reply.code(200).type('application/json').send(body);
}

/** GET /mcp: a server-to-client stream carrying list_changed notifications. */
async function openNotificationStream(deps: McpRouteDeps, streams: Streams, request: FastifyRequest, reply: FastifyReply) {
  if (!(await serverKnown(deps, request, reply))) return reply;
  if (!String(request.headers.accept ?? '').includes('text/event-stream')) {
    return reply.code(406).type('application/json').send(errorResponse(null, INVALID_REQUEST, 'GET opens an event stream: send Accept: text/event-stream'));
  }
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  reply.raw.write(': stream open\n\n');
  streams.add(reply.raw);
  return reply;
}

/** GET /sse: a legacy (2024-11-05) session; replies to POST /message arrive on this stream. */
async function openLegacySession(deps: McpRouteDeps, streams: Streams, request: FastifyRequest, reply: FastifyReply, prefix: string) {
  if (!(await serverKnown(deps, request, reply))) return reply;
  const server = (request.params as ServerParams).server;
  const id = randomUUID();
  const base = prefix ? `/servers/${encodeURIComponent(server!)}` : '';
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(`event: endpoint\ndata: ${base}/message?sessionId=${id}\n\n`);
  const session: LegacySession = { res, server, inflight: new Map() };
  streams.sessions.set(id, session);
  streams.add(res);
  res.on('close', () => {
    streams.sessions.delete(id);
    for (const controller of session.inflight.values()) controller.abort();
  });
  return reply;
}

/** POST /message?sessionId=…: accept at once, answer on the session's stream. */
async function legacyMessage(deps: McpRouteDeps, streams: Streams, request: FastifyRequest, reply: FastifyReply) {
  const query = request.query as Record<string, string | undefined>;
  const session = streams.sessions.get(query.sessionId ?? query.session_id ?? '');
  if (!session) return reply.code(404).type('application/json').send(errorResponse(null, INVALID_REQUEST, 'no such session: open GET /sse first'));
  let message: unknown;
  try {
    message = JSON.parse(typeof request.body === 'string' ? request.body : '');
  } catch {
    return reply.code(400).type('application/json').send(errorResponse(null, PARSE_ERROR, 'the body is not valid JSON'));
  }
  reply.code(202).send('Accepted');
  const m = message as { id?: string | number; method?: unknown; params?: { requestId?: string | number } } | null;
  if (m && m.method === 'notifications/cancelled' && m.params?.requestId !== undefined) {
    session.inflight.get(m.params.requestId)?.abort();
    return reply;
  }
  const controller = new AbortController();
  const id = m && (typeof m.id === 'string' || typeof m.id === 'number') ? m.id : undefined;
  if (id !== undefined) session.inflight.set(id, controller);
  const context = {
    server: session.server,
    signal: controller.signal,
    notify: (method: string, params: unknown) => session.res.write(sseFrame(notification(method, params), 'message')),
  };
  try {
    const answer = await deps.dispatcher.handle(message, context);
    if (answer !== undefined && !session.res.writableEnded) session.res.write(sseFrame(answer, 'message'));
  } finally {
    if (id !== undefined) session.inflight.delete(id);
  }
  return reply;
}

function sseFrame(data: string, event = 'message'): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
