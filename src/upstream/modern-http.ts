import type { Agent } from 'undici';
import { REQUEST_TIMEOUT, RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';
import { CLIENT_CAPABILITIES_META, CLIENT_INFO_META, encodeHeaderValue, MODERN_VERSIONS, PROTOCOL_VERSION_META } from '../protocol/revision-2026.js';
import { lastSseData, sseMessages } from '../protocol/sse.js';
import { VERSION } from '../version.js';
import { deadline } from './deadline.js';
import { readReplyText, tooLargeMessage, type ReplyBody } from './limits.js';
import type { Reply } from './replies.js';
import type { RequestOptions } from '../protocol/call.js';

/**
 * The gateway as a 2026-07-28 client of a Streamable HTTP upstream: `server/discover` to learn
 * whether the upstream serves the revision, then one stateless POST per request carrying the
 * calling client's own `_meta` (its protocol version, capabilities, log level, progress token,
 * trace context), `inputResponses` and `requestState`. What the upstream answers — results,
 * `input_required` rounds, errors with their data — goes back to the client untouched.
 */

/** The kept-alive pool and address of one upstream (the connection's fast path). */
export interface ModernTarget {
  agent: Agent;
  origin: string;
  /** Path and query of the MCP endpoint. */
  path: string;
  /** Auth and content headers, without a session id. */
  headers: Record<string, string>;
  /** MAX_RESPONSE_BYTES: the largest JSON reply read (an SSE reply is bounded per event by `readStream`). */
  maxResponseBytes?: number;
}

/** A reply body as text, read against the target's MAX_RESPONSE_BYTES when it has one. */
function readBody(target: ModernTarget, res: { body: ReplyBody; headers: Record<string, unknown> }, what: string): Promise<string> {
  return readReplyText(res.body, res.headers['content-length'], target.maxResponseBytes, what);
}

/** An upstream's JSON-RPC error relayed to the client as it is (code, message and data). */
export class RelayedError extends RpcError {
  readonly relayed = true;
}

/** The revision-2026 header for the name a method addresses (Mcp-Name). */
function nameOf(method: string, params: Record<string, unknown>): string | undefined {
  const value = method === 'resources/read' ? params.uri : method === 'tools/call' || method === 'prompts/get' ? params.name : undefined;
  return typeof value === 'string' ? value : undefined;
}

function headersFor(target: ModernTarget, version: string, method: string, params: Record<string, unknown>, extra?: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { ...target.headers, ...extra, 'mcp-protocol-version': version, 'mcp-method': method };
  delete headers['mcp-session-id'];
  const name = nameOf(method, params);
  if (name !== undefined) headers['mcp-name'] = encodeHeaderValue(name);
  return headers;
}

/** One 2026-07-28 request POSTed to the upstream, with the revision's headers for it. */
function post(target: ModernTarget, version: string, id: string, method: string, params: Record<string, unknown>, signal: AbortSignal, extra?: Record<string, string>) {
  return target.agent.request({
    origin: target.origin,
    path: target.path,
    method: 'POST',
    headers: headersFor(target, version, method, params, extra),
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
    signal,
  });
}

/** What `server/discover` told: the revision both sides serve, the upstream's capabilities and instructions. */
export interface ModernServer {
  version: string;
  capabilities: Record<string, unknown>;
  instructions?: string;
}

/**
 * Ask the upstream for `server/discover` as a 2026-07-28 client: the newest revision both sides
 * serve, or undefined (a 2025-only upstream answers with an error or an HTTP error).
 */
export async function discoverModern(target: ModernTarget, timeoutMs: number): Promise<ModernServer | undefined> {
  const version = MODERN_VERSIONS[0]!;
  const params = { _meta: { [PROTOCOL_VERSION_META]: version, [CLIENT_CAPABILITIES_META]: {}, [CLIENT_INFO_META]: { name: 'mcpgateway', version: VERSION } } };
  const limit = deadline(timeoutMs);
  try {
    const res = await post(target, version, 'gw-discover', 'server/discover', params, limit.signal);
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      return undefined;
    }
    // An answer over MAX_RESPONSE_BYTES throws: the upstream counts as 2025 only.
    const text = await readBody(target, res, 'the server/discover reply');
    const type = String(res.headers['content-type'] ?? '');
    const json = type.includes('text/event-stream') ? lastSseData(text) : text;
    const reply = JSON.parse(json ?? 'null') as { result?: { supportedVersions?: unknown; capabilities?: unknown; instructions?: unknown } } | null;
    const supported = reply?.result?.supportedVersions;
    if (!Array.isArray(supported)) return undefined;
    const found = MODERN_VERSIONS.find((v) => supported.includes(v));
    if (!found) return undefined;
    const capabilities = reply!.result!.capabilities;
    const instructions = reply!.result!.instructions;
    return {
      version: found,
      capabilities: capabilities && typeof capabilities === 'object' && !Array.isArray(capabilities) ? (capabilities as Record<string, unknown>) : {},
      ...(typeof instructions === 'string' && instructions !== '' ? { instructions } : {}),
    };
  } catch {
    return undefined;
  } finally {
    limit.dispose();
  }
}

/** What a 2026-07-28 request over HTTP takes of its call's options (the Mcp-Param-* headers are passed on: the upstream checks them). */
export type ModernCall = Pick<RequestOptions, 'timeoutMs' | 'signal' | 'abort' | 'paramHeaders'>;

/**
 * One 2026-07-28 request to the upstream. `readStream` reads an SSE reply (notifications go to
 * the caller as they arrive); a JSON reply is parsed once. The upstream's JSON-RPC errors come
 * back as RelayedError, whatever the HTTP status they arrived with.
 */
export async function modernRequest(
  target: ModernTarget,
  upstream: string,
  version: string,
  method: string,
  params: Record<string, unknown>,
  call: ModernCall,
  readStream: (body: AsyncIterable<Buffer | string>, id: string, signal: AbortSignal) => Promise<Reply | undefined>,
  id: string,
): Promise<Record<string, unknown>> {
  const limit = deadline(call.timeoutMs, call.signal, call.abort);
  let reply: Reply | undefined;
  try {
    const res = await post(target, version, id, method, params, limit.signal, call.paramHeaders);
    const type = String(res.headers['content-type'] ?? '');
    if (type.includes('text/event-stream')) reply = await readStream(res.body, id, limit.signal);
    else if (type.includes('json')) reply = parse(await readBody(target, res, 'the upstream reply'), id);
    else {
      await res.body.dump().catch(() => undefined);
      throw new Error(`HTTP ${res.statusCode}`);
    }
  } catch (error) {
    if (limit.timedOut()) throw new RpcError(REQUEST_TIMEOUT, `gateway "${upstream}" did not answer ${method} within ${call.timeoutMs} ms`);
    if (call.signal?.aborted) throw new RpcError(UPSTREAM_FAILURE, `the ${method} call to gateway "${upstream}" was cancelled`);
    throw new RpcError(UPSTREAM_FAILURE, `gateway "${upstream}" failed on ${method}: ${(error as Error)?.message ?? String(error)}`);
  } finally {
    limit.dispose();
  }
  if (reply?.error !== undefined) {
    const e = (reply.error ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
    throw new RelayedError(typeof e.code === 'number' ? e.code : UPSTREAM_FAILURE, String(e.message ?? 'error').slice(0, 1000), e.data);
  }
  const result = reply?.result;
  if (result === null || typeof result !== 'object' || Array.isArray(result)) throw new RpcError(UPSTREAM_FAILURE, `gateway "${upstream}" sent a malformed reply to ${method}`);
  return result as Record<string, unknown>;
}

function parse(text: string, id: string): Reply | undefined {
  try {
    const message = JSON.parse(text) as { id?: unknown; result?: unknown; error?: unknown };
    if (message && (message.id === id || message.id === null) && ('result' in message || 'error' in message)) return message;
  } catch {
    return undefined;
  }
  return undefined;
}

/** The largest event of a listen stream to an upstream without MAX_RESPONSE_BYTES. */
const MAX_LISTEN_EVENT_BYTES = 16 * 1024 * 1024;

/** The notifications a subscriptions/listen stream to the upstream asks for (`notifications` of its params). */
export type ListenFilter = Partial<Record<'toolsListChanged' | 'promptsListChanged' | 'resourcesListChanged', true>> & { resourceSubscriptions?: string[] };

/**
 * A `subscriptions/listen` stream to a 2026-07-28 upstream: every message it carries after the
 * acknowledgement goes to `heard`, until the upstream ends the stream, it fails, or `signal` aborts.
 * Each event is bounded by MAX_RESPONSE_BYTES (the stream itself may run for ever).
 */
export async function listenModern(target: ModernTarget, meta: Record<string, unknown>, filter: ListenFilter, heard: (method: string, params: unknown) => void, signal: AbortSignal): Promise<void> {
  const version = String(meta[PROTOCOL_VERSION_META]);
  const params = { _meta: meta, notifications: filter };
  const res = await post(target, version, 'gw-listen', 'subscriptions/listen', params, signal);
  if (res.statusCode !== 200 || !String(res.headers['content-type'] ?? '').includes('text/event-stream')) {
    await res.body.dump().catch(() => undefined);
    throw new Error(`HTTP ${res.statusCode}`);
  }
  const max = target.maxResponseBytes ?? MAX_LISTEN_EVENT_BYTES;
  for await (const message of sseMessages(res.body, { maxEventBytes: max, tooLarge: () => new Error(tooLargeMessage('an event of the upstream listen stream', max)) })) {
    if (typeof message.method === 'string' && message.id === undefined && message.method !== 'notifications/subscriptions/acknowledged') heard(message.method, message.params);
  }
}
