import { Agent } from 'undici';
import { METHOD_NOT_FOUND, REQUEST_TIMEOUT, RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';
import { sseMessages } from '../protocol/sse.js';
import { deadline } from './deadline.js';
import { readReplyText, tooLargeMessage } from './limits.js';
import type { UpstreamTarget } from './mcp-connection.js';
import { describe, type Reply } from './replies.js';
import type { CallOptions, RelayAnswer, RelayHooks } from '../protocol/call.js';

/**
 * The fast call path to a Streamable HTTP upstream (the hot path; see docs/decisions/0004): one
 * POST on a kept-alive undici pool, without the SDK client's per-request machinery. The reply is
 * read here, as JSON or as an event stream whose notifications and requests are relayed.
 */

/** Where the fast path POSTs: a kept-alive pool, the upstream's address and the headers of every request. */
export interface FastPath {
  agent: Agent;
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** MAX_RESPONSE_BYTES, for the replies read on this pool. */
  maxResponseBytes?: number;
}

/** What a fast call needs of the connection it belongs to. */
export interface FastCallee {
  target: UpstreamTarget;
  /** The upstream answered 404 to our session: the connection drops it and is re-initialized. */
  sessionGone: () => void;
}

const MAX_STREAM_BUFFER = 64 * 1024 * 1024;

/** A fast path to the target, its auth headers and `extra` (session, protocol version) on every POST. */
export function openFastPath(target: UpstreamTarget, extra: Record<string, string> = {}): FastPath {
  const url = new URL(target.url!);
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(target.headers).map(([k, v]) => [k.toLowerCase(), v])),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...extra,
  };
  const agent = new Agent({ keepAliveTimeout: 60_000, connections: 128, ...(target.connect ? { connect: target.connect } : {}) });
  return { agent, origin: url.origin, path: url.pathname + url.search, headers, maxResponseBytes: target.maxResponseBytes };
}

/** The fast path with the current oauth2 token, when the target has one. */
export async function authorized(target: UpstreamTarget, fast: FastPath): Promise<FastPath> {
  return target.bearer ? { ...fast, headers: { ...fast.headers, authorization: `Bearer ${await target.bearer()}` } } : fast;
}

/**
 * tools/call as one POST under our `id`. A JSON reply is parsed once; an SSE reply is read as it
 * arrives: notifications (progress under the caller's own token, log messages) go to
 * `relay.notify`, requests the upstream makes of the client (sampling, elicitation, roots) go to
 * `relay.request` and the answer is POSTed back. A timeout or the caller's cancellation is told upstream.
 */
export async function fastToolsCall(callee: FastCallee, fast: FastPath, id: string, name: string, args: Record<string, unknown>, options: CallOptions): Promise<Reply> {
  const upstream = callee.target.name;
  const limit = deadline(options.timeoutMs, options.signal, options.abort);
  let sent = fast;
  let reply: Reply | undefined;
  try {
    sent = await withToken(callee.target, fast);
    reply = await postToolsCall(callee, sent, id, toolsCallParams(name, args, options), options.relay, limit.signal);
  } catch (error) {
    if (error instanceof RpcError) throw error;
    if (limit.timedOut()) {
      cancelUpstream(sent, id, `the gateway's ${options.timeoutMs} ms timeout expired`);
      throw new RpcError(REQUEST_TIMEOUT, `gateway "${upstream}" did not answer tools/call within ${options.timeoutMs} ms`);
    }
    if (options.signal?.aborted && !limit.timedOut()) {
      cancelUpstream(sent, id, 'the client cancelled the call');
      throw new RpcError(UPSTREAM_FAILURE, `the tools/call call to gateway "${upstream}" was cancelled`);
    }
    throw new RpcError(UPSTREAM_FAILURE, `gateway "${upstream}" failed on tools/call: ${describe(error)}`);
  } finally {
    limit.dispose();
  }
  if (!reply) throw new RpcError(UPSTREAM_FAILURE, `gateway "${upstream}" sent a malformed reply to tools/call`);
  return reply;
}

/** The params of a tools/call: the caller's progress token and trace context in `_meta`, when it has them. */
function toolsCallParams(name: string, args: Record<string, unknown>, options: CallOptions): Record<string, unknown> {
  const params: Record<string, unknown> = options.progressToken === undefined ? { name, arguments: args } : { name, arguments: args, _meta: { progressToken: options.progressToken } };
  if (options.trace) params._meta = { ...(params._meta as object | undefined), ...options.trace };
  return params;
}

/** The fast path with the oauth2 token; a cached token is taken without waiting (the hot path). */
async function withToken(target: UpstreamTarget, fast: FastPath): Promise<FastPath> {
  if (!target.bearer) return fast;
  const token = target.bearer();
  return { ...fast, headers: { ...fast.headers, authorization: `Bearer ${typeof token === 'string' ? token : await token}` } };
}

/** POST the call and read its reply, JSON or stream; HTTP errors throw (a forgotten session as an RpcError). */
async function postToolsCall(callee: FastCallee, fast: FastPath, id: string, params: Record<string, unknown>, relay: RelayHooks | undefined, signal: AbortSignal): Promise<Reply | undefined> {
  const { target } = callee;
  const res = await fast.agent.request({ origin: fast.origin, path: fast.path, method: 'POST', headers: fast.headers, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params }), signal });
  if (res.statusCode === 401) target.refused?.();
  if (res.statusCode === 404 && fast.headers['mcp-session-id']) {
    await res.body.dump().catch(() => undefined);
    callee.sessionGone();
    throw new RpcError(UPSTREAM_FAILURE, `gateway "${target.name}" forgot the session (it restarted?); reconnecting`, { sessionExpired: true });
  }
  if (res.statusCode >= 400) {
    await res.body.dump().catch(() => undefined);
    throw new Error(`HTTP ${res.statusCode}`);
  }
  const type = res.headers['content-type'];
  if (typeof type === 'string' && type.includes('text/event-stream')) return readReplyStream(res.body, id, fast, relay, signal);
  return parseJsonReply(await readReplyText(res.body, res.headers['content-length'], target.maxResponseBytes, 'the upstream reply'), id);
}

/** Read an SSE reply event by event until the end; relay what is not our response, return our response. */
export async function readReplyStream(body: AsyncIterable<Buffer | string>, id: string, fast: FastPath, relay: RelayHooks | undefined, signal: AbortSignal): Promise<Reply | undefined> {
  let reply: Reply | undefined;
  // One event at most MAX_RESPONSE_BYTES (so an endless event is cut off, and many small ones are not).
  const max = Math.min(fast.maxResponseBytes ?? MAX_STREAM_BUFFER, MAX_STREAM_BUFFER);
  // Events that are not JSON are ignored; a missing response is reported as malformed.
  for await (const message of sseMessages(body, { maxEventBytes: max, tooLarge: () => new Error(tooLargeMessage('an event of the upstream stream', max)) })) {
    if (typeof message.method === 'string') {
      if (message.id === undefined) relay?.notify?.(message.method, message.params);
      else answerUpstream(fast, message.id, message.method, message.params, relay, signal);
    } else if (message.id === id && ('result' in message || 'error' in message)) {
      reply = message;
    }
  }
  return reply;
}

/** Pass a request the upstream made of the client on, and POST the client's answer back. */
function answerUpstream(fast: FastPath, requestId: unknown, method: string, params: unknown, relay: RelayHooks | undefined, signal: AbortSignal): void {
  const answer: Promise<RelayAnswer> = relay?.request
    ? relay.request(method, params, signal)
    : Promise.resolve({ error: { code: METHOD_NOT_FOUND, message: `the client cannot take the upstream's ${method.slice(0, 100)} request: it did not accept text/event-stream` } });
  void answer
    .then((a) =>
      fast.agent.request({
        origin: fast.origin,
        path: fast.path,
        method: 'POST',
        headers: fast.headers,
        body: JSON.stringify('result' in a ? { jsonrpc: '2.0', id: requestId, result: a.result } : { jsonrpc: '2.0', id: requestId, error: a.error }),
      }),
    )
    .then((res) => res.body.dump())
    .catch(() => undefined); // the upstream's own timeout ends its wait
}

/** Tell the upstream a call was cancelled (fire and forget). */
function cancelUpstream(fast: FastPath, id: string, reason: string): void {
  void fast.agent
    .request({
      origin: fast.origin,
      path: fast.path,
      method: 'POST',
      headers: fast.headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } }),
    })
    .then((res) => res.body.dump())
    .catch(() => undefined);
}

/** The JSON-RPC response with our id in a JSON reply body. */
function parseJsonReply(text: string, id: string): Reply | undefined {
  try {
    const message = JSON.parse(text) as { id?: unknown; result?: unknown; error?: unknown };
    if (message && message.id === id && ('result' in message || 'error' in message)) return message;
  } catch {
    return undefined;
  }
  return undefined;
}
