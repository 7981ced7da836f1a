import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Catalog } from '../mcp/catalog.js';
import { ClientSessions, gated, runEnding } from '../mcp/client-sessions.js';
import type { Dispatcher } from '../mcp/dispatcher.js';
import { errorResponse, idKey, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, isValidId, notification, PARSE_ERROR, parseMessage, REQUEST_TIMEOUT } from '../protocol/jsonrpc.js';
import { lazyChildLoggerFactory } from '../logging.js';
import { classify, SUBSCRIPTION_ID_META, type ModernHeaders } from '../protocol/revision-2026.js';
import { sseComment, sseEvent } from '../protocol/sse.js';
import { mcpGuard, type McpGuardSettings } from './mcp-guard.js';
import type { ClientRequest, ClientSession, DispatchContext, RelayAnswer } from '../protocol/call.js';

/**
 * MCP over HTTP: Streamable HTTP (`POST/GET/DELETE /mcp`) in stateless mode, and the legacy
 * HTTP+SSE transport (`GET /sse` + `POST /message`), each also under `/servers/{id-or-name}`.
 */

export interface McpRouteDeps {
  dispatcher: Dispatcher;
  catalog: Catalog;
  bodyLimitBytes: number;
  /** Browser rules and bounds checked before dispatch (issue 10). */
  guard?: McpGuardSettings;
  /** 2025 client sessions (Mcp-Session-Id, legacy SSE); made here when not given. */
  sessions?: ClientSessions;
}

type ServerParams = { server?: string };

const LIST_CHANGED: Record<string, string> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
};
const HEARTBEAT_MS = 25_000;
const KEEP_ALIVE = sseComment('keep-alive');

/** A 2026-07-28 `subscriptions/listen` stream: the notification kinds it asked for, its id. */
interface Listener {
  kinds: Set<string>;
  id: string | number;
}

/** Open SSE streams: GET /mcp notification streams, legacy SSE sessions, subscriptions/listen streams. */
class Streams {
  readonly open = new Set<ServerResponse>();
  readonly sessions = new Map<string, LegacySession>();
  readonly listeners = new Map<ServerResponse, Listener>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(catalog: Catalog) {
    catalog.onChange((kinds) => {
      for (const kind of kinds) {
        const method = LIST_CHANGED[kind];
        if (!method) continue;
        const frame = sseFrame(notification(method));
        for (const res of this.open) {
          const listener = this.listeners.get(res);
          if (!listener) res.write(frame);
          else if (listener.kinds.has(kind)) res.write(sseFrame(notification(method, { _meta: { [SUBSCRIPTION_ID_META]: listener.id } })));
        }
      }
    });
    this.heartbeat = setInterval(() => {
      for (const res of this.open) res.write(KEEP_ALIVE);
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  add(res: ServerResponse, listener?: Listener): void {
    this.open.add(res);
    if (listener) this.listeners.set(res, listener);
    res.on('close', () => {
      this.open.delete(res);
      this.listeners.delete(res);
    });
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.open) res.end();
    this.open.clear();
    this.sessions.clear();
  }
}

/**
 * Requests the gateway makes of its clients on behalf of an upstream (sampling, elicitation)
 * while a call runs, and the calls in flight that `notifications/cancelled` may end. Both are in
 * this process: the client's answer or cancellation must reach the instance that holds the call
 * (sticky routing when several instances serve one endpoint).
 */
class ClientTraffic {
  private readonly pending = new Map<string, { subject: string; settle: (answer: RelayAnswer) => void }>();
  private readonly inflight = new Map<string, AbortController>();

  /** Send `method` to the client through `write` and wait for its answer (or for `signal`). */
  request(subject: string, write: (frame: string) => void, method: string, params: unknown, signal: AbortSignal): Promise<RelayAnswer> {
    const id = `gw-${randomUUID()}`;
    return new Promise<RelayAnswer>((resolve) => {
      const onAbort = () => settle({ error: { code: REQUEST_TIMEOUT, message: 'the call ended before the client answered' } });
      const settle = (answer: RelayAnswer) => {
        if (!this.pending.delete(id)) return;
        signal.removeEventListener('abort', onAbort);
        resolve(answer);
      };
      this.pending.set(id, { subject, settle });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      write(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** A JSON-RPC response from a client: settle the request it answers. True when it was ours. */
  answer(subject: string, message: unknown): boolean {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return false;
    const m = message as { id?: unknown; method?: unknown; result?: unknown; error?: unknown };
    if (m.method !== undefined || typeof m.id !== 'string') return false;
    const entry = this.pending.get(m.id);
    if (!entry || entry.subject !== subject) return false;
    if ('error' in m) {
      const e = (m.error ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
      entry.settle({ error: { code: typeof e.code === 'number' ? e.code : INTERNAL_ERROR, message: String(e.message ?? 'error').slice(0, 1000), data: e.data } });
    } else entry.settle({ result: m.result ?? {} });
    return true;
  }

  /** Register a call in flight under the caller and its request id; returns the key to release. */
  track(subject: string, id: unknown, controller: AbortController): string | undefined {
    const value = idKey(id);
    if (value === undefined) return undefined;
    const key = `${subject}\u0000${typeof value}\u0000${value}`;
    this.inflight.set(key, controller);
    return key;
  }

  release(key: string, controller: AbortController): void {
    if (this.inflight.get(key) === controller) this.inflight.delete(key);
  }

  /** notifications/cancelled from a client: abort its call with that request id. */
  cancel(subject: string, message: unknown): boolean {
    const m = message as { method?: unknown; params?: { requestId?: unknown } } | null;
    if (!m || typeof m !== 'object' || m.method !== 'notifications/cancelled') return false;
    const id = m.params?.requestId;
    if (typeof id === 'string' || typeof id === 'number') this.inflight.get(`${subject}\u0000${typeof id}\u0000${id}`)?.abort();
    return true;
  }
}

interface LegacySession {
  res: ServerResponse;
  server: string | undefined;
  inflight: Map<string | number, AbortController>;
  client: ClientSession;
}

/** Register the MCP endpoints in their own scope: they read raw JSON-RPC, not problem+json. */
export async function registerMcpRoutes(app: FastifyInstance, deps: McpRouteDeps): Promise<void> {
  const streams = new Streams(deps.catalog);
  const traffic = new ClientTraffic();
  const sessions = deps.sessions ?? new ClientSessions();
  app.addHook('preClose', async () => {
    streams.close();
    sessions.close();
  });

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: deps.bodyLimitBytes }, (_req, body, done) => done(null, body));
    if (deps.guard) scope.addHook('preHandler', mcpGuard(deps.guard));

    // MCP traffic logs failures only (warn and above), through a child logger made on demand.
    const quiet = { logLevel: 'warn' as const, childLoggerFactory: lazyChildLoggerFactory as never };
    for (const prefix of ['', '/servers/:server']) {
      scope.post(`${prefix}/mcp`, quiet, (request, reply) => post(deps, streams, traffic, sessions, request, reply));
      scope.get(`${prefix}/mcp`, quiet, (request, reply) => openNotificationStream(deps, streams, sessions, traffic, request, reply));
      scope.delete(`${prefix}/mcp`, quiet, async (request, reply) => {
        const id = request.headers['mcp-session-id'];
        const found = typeof id === 'string' ? await owned(sessions, id, request) : undefined;
        if (found === 'ended') return terminatedSession(reply);
        if (found && sessions.terminate(found.id)) return reply.code(204).send();
        reply.code(405).header('allow', 'GET, POST').type('application/json');
        return reply.send(errorResponse(null, INVALID_REQUEST, 'this endpoint is stateless: there is no session to end'));
      });
      scope.get(`${prefix}/sse`, quiet, (request, reply) => openLegacySession(deps, streams, sessions, traffic, request, reply, prefix));
      scope.post(`${prefix}/message`, quiet, (request, reply) => legacyMessage(deps, streams, traffic, request, reply));
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

async function post(deps: McpRouteDeps, streams: Streams, traffic: ClientTraffic, sessions: ClientSessions, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const server = (request.params as ServerParams).server;
  if (server !== undefined && !(await serverKnown(deps, request, reply))) return reply;
  let message: unknown;
  try {
    message = parseMessage(typeof request.body === 'string' ? request.body : '');
  } catch {
    return reply.code(400).type('application/json').send(errorResponse(null, PARSE_ERROR, 'the body is not valid JSON'));
  }
  const subject = request.principal?.subject ?? 'anonymous';
  // Answers to requests the gateway relayed, and cancellations: nothing to dispatch.
  if (!Array.isArray(message) && (traffic.answer(subject, message) || traffic.cancel(subject, message))) return reply.code(202).send();
  // 2026-07-28: a request that claims it passes the revision's ladder first (one lookup for 2025 traffic).
  let meta: Record<string, unknown> | undefined;
  const single = !Array.isArray(message) && message !== null && typeof message === 'object' ? (message as { id?: unknown; method?: unknown; params?: unknown }) : undefined;
  if (single && typeof single.method === 'string') {
    const classified = classify(single.method, single.params, request.headers as ModernHeaders);
    if (classified.era === 'reject') {
      if (single.id === undefined) return reply.code(202).send();
      const { status, code, message: text, data } = classified.rejection;
      const id = isValidId(single.id) ? single.id : null;
      return reply.code(status).type('application/json').send(errorResponse(id, code, text, data));
    }
    if (classified.era === 'modern') {
      if (single.id === undefined) return reply.code(202).send();
      meta = classified.meta;
      if (single.method === 'subscriptions/listen') return listen(deps, streams, single.id, single.params as Record<string, unknown>, request, reply);
    }
  }

  const abort = new AbortController();
  const raw = reply.raw;
  raw.on('close', () => {
    if (!raw.writableFinished) abort.abort();
  });
  let streaming = false;
  const write = (frame: string) => {
    if (!streaming) {
      streaming = true;
      reply.hijack();
      raw.writeHead(200, SSE_HEADERS);
    }
    raw.write(sseFrame(frame));
  };
  const accept = request.headers.accept;
  // A 2026-07-28 request stands alone: no 2025 session, no server-to-client requests.
  const sessionHeader = typeof request.headers['mcp-session-id'] === 'string' ? request.headers['mcp-session-id'] : undefined;
  // A session the client ended itself is gone: 404, so the client starts a new one.
  let found = meta ? undefined : owned(sessions, sessionHeader, request);
  if (found instanceof Promise) found = await found;
  if (found === 'ended') return terminatedSession(reply);
  const client = found;
  const context: DispatchContext = { server, signal: abort.signal, meta, client, principal: request.principal, requestId: request.id, source: request.ip };
  if (meta) context.paramHeaders = paramHeaders(request.headers);
  if (accept !== undefined && accept.includes('text/event-stream')) {
    context.notify = (method, params) => write(notification(method, params));
    // 2026-07-28 has no server-to-client requests: an upstream's needs come back as input_required.
    // A 2025 client is asked only for what it declared (its session's capabilities).
    if (!meta) context.request = gated(client?.capabilities ?? requestCapabilities(message), (method, params, signal) => traffic.request(subject, write, method, params, signal));
  }

  let body: string | undefined;
  if (Array.isArray(message)) {
    if (message.length === 0) body = errorResponse(null, INVALID_REQUEST, 'an empty batch is not a request');
    else {
      const answers = (
        await Promise.all(message.map((m) => (traffic.answer(subject, m) || traffic.cancel(subject, m) ? undefined : deps.dispatcher.handle(m, context))))
      ).filter((a) => a !== undefined);
      body = answers.length > 0 ? `[${answers.join(',')}]` : undefined;
    }
  } else {
    context.abort = () => abort.abort();
    const key = traffic.track(subject, (message as { id?: unknown } | null)?.id, abort);
    try {
      body = await deps.dispatcher.handle(message, context);
    } finally {
      if (key !== undefined) traffic.release(key, abort);
    }
  }
  if (streaming) {
    if (body !== undefined) raw.write(sseFrame(body));
    raw.end();
    return reply;
  }
  if (body === undefined) return reply.code(202).send();
  const opened = meta ? undefined : await openedSession(sessions, message, body, ownerOf(request));
  if (opened) reply.header('mcp-session-id', opened);
  return reply.code(context.status ?? 200).type('application/json').send(body);
}

/** The Mcp-Param-* headers of a request (2026-07-28 tools mirror arguments into them). */
function paramHeaders(headers: FastifyRequest['headers']): Record<string, string> | undefined {
  let found: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('mcp-param-') && typeof value === 'string') (found ??= {})[name] = value;
  }
  return found;
}

const LISTEN_KINDS: Record<string, string> = { toolsListChanged: 'tools', promptsListChanged: 'prompts', resourcesListChanged: 'resources' };
/** Resource URIs one subscriptions/listen may name. */
const MAX_LISTEN_RESOURCES = 1000;
/** How long a subscriptions/listen may take to subscribe its resources before it is acknowledged (and to unsubscribe them after). */
const LISTEN_SUBSCRIBE_MS = 10_000;

/**
 * subscriptions/listen (2026-07-28): an SSE stream that opens with
 * notifications/subscriptions/acknowledged (the honoured filter) and then carries what the client
 * asked for, each stamped with the subscription id (the request's id): the list changes, and
 * `notifications/resources/updated` for the `resourceSubscriptions` this endpoint serves (each
 * subscribed upstream as resources/subscribe would be, over the shared connection, until the
 * stream closes).
 */
async function listen(deps: McpRouteDeps, streams: Streams, id: unknown, params: Record<string, unknown>, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const requested = (params.notifications ?? {}) as Record<string, unknown>;
  const uris = requested.resourceSubscriptions;
  if (uris !== undefined && (!Array.isArray(uris) || uris.length > MAX_LISTEN_RESOURCES || !uris.every((u) => typeof u === 'string' && u.length > 0 && u.length <= 8192))) {
    const message = `Invalid params: notifications.resourceSubscriptions must be an array of at most ${MAX_LISTEN_RESOURCES} resource URIs`;
    return reply.code(400).type('application/json').send(errorResponse(isValidId(id) ? id : null, INVALID_PARAMS, message));
  }
  const honored: Record<string, unknown> = {};
  const kinds = new Set<string>();
  for (const [flag, kind] of Object.entries(LISTEN_KINDS)) {
    if (requested[flag] !== true) continue;
    honored[flag] = true;
    kinds.add(kind);
  }
  const subscription = typeof id === 'string' || typeof id === 'number' ? id : String(id);
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, SSE_HEADERS);
  if (Array.isArray(uris)) {
    const current = new ListenDelivery(raw, subscription, ownerOf(request));
    const closed = new AbortController();
    raw.on('close', () => closed.abort());
    const scope = { server: (request.params as ServerParams).server, client: current, principal: request.principal, requestId: request.id, source: request.ip };
    // Subscribing stops at the stream's close or after LISTEN_SUBSCRIBE_MS: what is not subscribed by then is not honoured.
    const subscribing: DispatchContext = { ...scope, signal: AbortSignal.any([closed.signal, AbortSignal.timeout(LISTEN_SUBSCRIBE_MS)]) };
    const subscribed = await deps.dispatcher.subscribeAll([...new Set(uris as string[])], subscribing).catch(() => []);
    honored.resourceSubscriptions = subscribed;
    // When the stream closes (or has closed meanwhile), its resources are unsubscribed before its delivery ends.
    const release = () => void deps.dispatcher.unsubscribeAll(subscribed, { ...scope, signal: AbortSignal.timeout(LISTEN_SUBSCRIBE_MS) }).finally(() => current.end());
    if (closed.signal.aborted) release();
    else closed.signal.addEventListener('abort', release, { once: true });
  }
  if (raw.destroyed) return reply;
  raw.write(sseFrame(notification('notifications/subscriptions/acknowledged', { _meta: { [SUBSCRIPTION_ID_META]: subscription }, notifications: honored })));
  if (kinds.size === 0 && !(honored.resourceSubscriptions as string[] | undefined)?.length) {
    raw.end();
    return reply;
  }
  streams.add(raw, { kinds, id: subscription });
  return reply;
}

/**
 * What a subscriptions/listen stream's resource subscriptions are delivered to: a client session
 * of its own (stateless: no upstream sessions), whose updates go on the stream stamped with the
 * subscription id, and which ends (unsubscribing) when the stream closes.
 */
class ListenDelivery implements ClientSession {
  readonly id = `listen:${randomUUID()}`;
  readonly stateless = true as const;
  capabilities: Record<string, unknown> = {};
  logLevel: string | undefined;
  request: ClientRequest | undefined;
  lastSeen = Date.now();
  push: ((message: string) => void) | undefined;
  private readonly ending: (() => void)[] = [];
  private ended = false;

  constructor(
    res: ServerResponse,
    subscription: string | number,
    public owner: string | undefined,
  ) {
    this.push = (message) => {
      const parsed = JSON.parse(message) as { method?: unknown; params?: Record<string, unknown> };
      if (parsed.method !== 'notifications/resources/updated') return;
      const params = { ...parsed.params, _meta: { ...(parsed.params?._meta as object | undefined), [SUBSCRIPTION_ID_META]: subscription } };
      res.write(sseFrame(notification('notifications/resources/updated', params)));
    };
  }

  onEnd(listener: () => void): void {
    if (this.ended) listener();
    else this.ending.push(listener);
  }

  end(): void {
    this.ended = true;
    this.push = undefined;
    runEnding(this.ending);
  }
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' };

/** GET /mcp: a server-to-client stream carrying list_changed notifications. */
async function openNotificationStream(deps: McpRouteDeps, streams: Streams, sessions: ClientSessions, traffic: ClientTraffic, request: FastifyRequest, reply: FastifyReply) {
  if (!(await serverKnown(deps, request, reply))) return reply;
  if (!String(request.headers.accept ?? '').includes('text/event-stream')) {
    return reply.code(406).type('application/json').send(errorResponse(null, INVALID_REQUEST, 'GET opens an event stream: send Accept: text/event-stream'));
  }
  const sessionId = request.headers['mcp-session-id'];
  const client = await owned(sessions, typeof sessionId === 'string' ? sessionId : undefined, request);
  if (client === 'ended') return terminatedSession(reply);
  reply.hijack();
  reply.raw.writeHead(200, SSE_HEADERS);
  reply.raw.write(sseComment('stream open'));
  streams.add(reply.raw);
  if (client) attachStream(client, reply.raw, traffic, request.principal?.subject ?? 'anonymous');
  return reply;
}

/** GET /sse: a legacy (2024-11-05) session; replies to POST /message arrive on this stream. */
async function openLegacySession(deps: McpRouteDeps, streams: Streams, sessions: ClientSessions, traffic: ClientTraffic, request: FastifyRequest, reply: FastifyReply, prefix: string) {
  if (!(await serverKnown(deps, request, reply))) return reply;
  const server = (request.params as ServerParams).server;
  const id = randomUUID();
  const base = prefix ? `/servers/${encodeURIComponent(server!)}` : '';
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, SSE_HEADERS);
  res.write(sseFrame(`${base}/message?sessionId=${id}`, 'endpoint'));
  const session: LegacySession = { res, server, inflight: new Map(), client: sessions.open(id) };
  session.client.owner = ownerOf(request);
  attachStream(session.client, res, traffic, request.principal?.subject ?? 'anonymous');
  streams.sessions.set(id, session);
  streams.add(res);
  res.on('close', () => {
    sessions.end(id);
    streams.sessions.delete(id);
    for (const controller of session.inflight.values()) controller.abort();
  });
  return reply;
}

/** POST /message?sessionId=…: accept at once, answer on the session's stream. */
async function legacyMessage(deps: McpRouteDeps, streams: Streams, traffic: ClientTraffic, request: FastifyRequest, reply: FastifyReply) {
  const query = request.query as Record<string, string | undefined>;
  const found = streams.sessions.get(query.sessionId ?? query.session_id ?? '');
  // A session answers only the principal that opened it; to anyone else it does not exist.
  const session = found && found.client.owner === ownerOf(request) ? found : undefined;
  if (!session) return reply.code(404).type('application/json').send(errorResponse(null, INVALID_REQUEST, 'no such session: open GET /sse first'));
  let message: unknown;
  try {
    message = parseMessage(typeof request.body === 'string' ? request.body : '');
  } catch {
    return reply.code(400).type('application/json').send(errorResponse(null, PARSE_ERROR, 'the body is not valid JSON'));
  }
  reply.code(202).send('Accepted');
  const subject = request.principal?.subject ?? 'anonymous';
  if (traffic.answer(subject, message)) return reply;
  const m = message as { id?: unknown; method?: unknown; params?: { requestId?: string | number } } | null;
  if (m && m.method === 'notifications/cancelled' && m.params?.requestId !== undefined) {
    session.inflight.get(m.params.requestId)?.abort();
    return reply;
  }
  const controller = new AbortController();
  const id = m ? idKey(m.id) : undefined;
  if (id !== undefined) session.inflight.set(id, controller);
  const write = (frame: string) => session.res.write(sseFrame(frame, 'message'));
  const client = session.client;
  if (m && m.method === 'initialize') client.capabilities = declaredCapabilities(m);
  const context: DispatchContext = {
    server: session.server,
    signal: controller.signal,
    client,
    principal: request.principal,
    requestId: request.id,
    source: request.ip,
    notify: (method, params) => write(notification(method, params)),
    request: gated(client.capabilities, (method, params, signal) => traffic.request(subject, write, method, params, signal)),
  };
  try {
    const answer = await deps.dispatcher.handle(message, context);
    if (answer !== undefined && !session.res.writableEnded) session.res.write(sseFrame(answer, 'message'));
  } finally {
    if (id !== undefined) session.inflight.delete(id);
  }
  return reply;
}

/** A successful initialize opens a client session: its id, or undefined. */
function terminatedSession(reply: FastifyReply): FastifyReply {
  return reply.code(404).type('application/json').send(errorResponse(null, INVALID_REQUEST, 'the session was ended (DELETE): initialize a new one'));
}

/** A successful initialize opens a session; recorded for the other instances (within the directory's bound) before the client learns its id. */
async function openedSession(sessions: ClientSessions, message: unknown, body: string, owner: string): Promise<string | undefined> {
  const m = message as { method?: unknown } | null;
  if (!m || typeof m !== 'object' || Array.isArray(m) || m.method !== 'initialize' || !body.includes('"result"')) return undefined;
  const session = sessions.open();
  session.owner = owner;
  session.capabilities = declaredCapabilities(m);
  await sessions.share(session);
  return session.id;
}

/** The principal a session belongs to: a stored or OAuth token by its id, anyone else by method and subject. */
function ownerOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (!principal) return 'anonymous';
  return principal.tokenId !== undefined ? `token:${principal.tokenId}` : `${principal.method}:${principal.subject}`;
}

/**
 * The client session with this id if the request's principal opened it, here or (sessions shared
 * over REDIS_URL) on another instance; 'ended' once its client ended it (404); otherwise none, as
 * if unknown. A session held here is answered at once; only one this instance never held is looked up.
 */
function owned(sessions: ClientSessions, id: string | undefined, request: FastifyRequest): ClientSession | 'ended' | undefined | Promise<ClientSession | 'ended' | undefined> {
  if (id === undefined) return undefined;
  if (sessions.wasTerminated(id)) return 'ended';
  const session = sessions.get(id);
  if (session) return session.owner === ownerOf(request) ? session : undefined;
  return sessions.shared ? sessions.adopt(id, ownerOf(request)) : undefined;
}

function declaredCapabilities(message: unknown): Record<string, unknown> {
  const capabilities = (message as { params?: { capabilities?: unknown } }).params?.capabilities;
  return capabilities && typeof capabilities === 'object' && !Array.isArray(capabilities) ? (capabilities as Record<string, unknown>) : {};
}

/** A 2026 request's client capabilities from its _meta, if it has any. */
function requestCapabilities(message: unknown): Record<string, unknown> | undefined {
  const meta = (message as { params?: { _meta?: Record<string, unknown> } } | null)?.params?._meta;
  const capabilities = meta && typeof meta === 'object' ? meta['io.modelcontextprotocol/clientCapabilities'] : undefined;
  return capabilities && typeof capabilities === 'object' && !Array.isArray(capabilities) ? (capabilities as Record<string, unknown>) : undefined;
}

/** The session's messages outside a call (resource updates, log messages) go on this stream while it is open. */
function attachStream(client: ClientSession, res: ServerResponse, traffic: ClientTraffic, subject: string): void {
  const push = (message: string) => res.write(sseFrame(message));
  client.push = push;
  // Only what the client declared (read when asked: a legacy client declares after its stream opens).
  const request: ClientRequest = (method, params, signal) => gated(client.capabilities, (m, p, s) => traffic.request(subject, push, m, p, s))(method, params, signal);
  client.request = request;
  res.on('close', () => {
    if (client.push === push) client.push = undefined;
    if (client.request === request) client.request = undefined;
  });
}

/** One JSON-RPC message (or the legacy endpoint) as an SSE event; `message` is the event type MCP clients read. */
function sseFrame(data: string, event = 'message'): string {
  return sseEvent(data, { event });
}
