import { Client, ProtocolError, SdkError, SdkErrorCode, SSEClientTransport, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import type { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Agent } from 'undici';
import { REQUEST_TIMEOUT, RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';
import { VERSION } from '../version.js';
import { scrubSecrets } from '../services/env-secrets.js';
import { deadline } from './deadline.js';
import { discoverModern, modernRequest, type ModernServer } from './modern-http.js';
import { CLIENT_CAPABILITIES_META, CLIENT_INFO_META, PROTOCOL_VERSION_META } from '../protocol/revision-2026.js';
import { ModernStdioLane } from './modern-stdio.js';
import { sseEvents } from '../protocol/sse.js';
import { cappedFetch, policyFetch, readCappedText, tooLargeMessage } from './limits.js';

/** How to reach one upstream MCP server (a gateway's stored fields, credentials decrypted). */
export interface UpstreamTarget {
  name: string;
  transport: 'streamablehttp' | 'sse' | 'stdio';
  url: string | null;
  command: string | null;
  args: string[];
  env: Record<string, string>;
  /** Decrypted auth headers; never logged. */
  headers: Record<string, string>;
  /** oauth2 gateways: the current access token (cached: usually synchronous), sent as Bearer. */
  bearer?: () => string | Promise<string>;
  /** oauth2 gateways: the upstream refused the token (401); fetch a new one next time. */
  refused?: () => void;
  /** Largest reply (a JSON body, or one event of a stream) read from the upstream: MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /** The outbound policy's connector (UPSTREAM_ALLOW / UPSTREAM_DENY), for every HTTP connection. */
  connect?: import('undici').buildConnector.connector;
}

export interface UpstreamLists {
  tools: Record<string, unknown>[];
  prompts: Record<string, unknown>[];
  resources: Record<string, unknown>[];
  templates: Record<string, unknown>[];
  capabilities: Record<string, unknown>;
  /** The upstream's `instructions` from initialize, verbatim. */
  instructions?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  /** SDK path: progress callback (the SDK picks its own token upstream). */
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** Fast path: the caller's progress token, passed upstream as is (the reply stream is the call's own). */
  progressToken?: string | number;
  /** Fast path: where notifications and requests the upstream sends during the call go. */
  relay?: RelayHooks;
  /** Aborts `signal` (the caller owns it for this call alone): lets the fast path reuse it for its timeout. */
  abort?: () => void;
  /** A 2026-07-28 caller's params (its `_meta`, inputResponses, requestState): see `modernRequest`. */
  modern?: Record<string, unknown>;
  /** Mcp-Param-* headers of a 2026-07-28 caller, passed on to a 2026-07-28 upstream. */
  paramHeaders?: Record<string, string>;
  /** The caller's W3C trace context, sent in the upstream request's `_meta`. */
  trace?: Record<string, string>;
}

/** The client's answer to a request the upstream made of it. */
export type RelayAnswer = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

/** How messages an upstream sends during a call reach the calling client. */
export interface RelayHooks {
  /** A notification (progress, log message) related to the call. */
  notify?: (method: string, params: unknown) => void;
  /** A request of the client (sampling, elicitation, roots); resolves with the client's answer. */
  request?: (method: string, params: unknown, signal: AbortSignal) => Promise<RelayAnswer>;
}

interface FastPath {
  agent: Agent;
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** MAX_RESPONSE_BYTES, for the 2026-07-28 requests sent on this pool. */
  maxResponseBytes?: number;
}

/** A tools/call on a stdio or SSE upstream, sent on the SDK transport and answered through the tap. */
interface TappedCall {
  /** The caller's own progress token; upstream the call's id is the token. */
  token?: string | number;
  relay?: RelayHooks;
  signal: AbortSignal;
  settle: (reply: { result?: unknown; error?: unknown }) => void;
  fail: (error: Error) => void;
}

/** Requests an upstream makes of the client during a call, relayed to the calling client. */
const CLIENT_REQUESTS = new Set(['sampling/createMessage', 'elicitation/create', 'roots/list']);
const INTERNAL_ERROR_CODE = -32603;

const MAX_STREAM_BUFFER = 64 * 1024 * 1024;
const METHOD_NOT_FOUND_CODE = -32601;

/** Accept whatever the upstream returned; the gateway checks the shape it needs itself (cheaper than zod). */
const PASSTHROUGH = {
  '~standard': { version: 1 as const, vendor: 'mcpgateway', validate: (value: unknown) => ({ value }) },
};

const MAX_LIST_PAGES = 200;

/**
 * What the gateway tells upstreams its clients can do: sampling and elicitation requests made
 * during a tools/call are relayed to the calling client (fast path), which answers or refuses.
 */
export const UPSTREAM_CAPABILITIES = { sampling: {}, elicitation: { form: {} } };
/**
 * The shared connection also declares roots, so that upstreams offer their roots tools: a roots/list
 * during a call goes to the calling client (refused for clients that did not declare roots).
 */
const SHARED_CAPABILITIES = { ...UPSTREAM_CAPABILITIES, roots: {} };

/**
 * One kept-alive connection to an upstream MCP server through the SDK client: connect, list,
 * call. A lost connection is reported through `onLost` and the caller reconnects; a stdio child
 * is killed when the connection closes.
 */
export class UpstreamConnection {
  private client: Client | undefined;
  private transport: Transport | undefined;
  private stderrTail = '';
  private closing = false;
  /** Streamable HTTP fast path for tools/call: one POST on a kept-alive undici pool. */
  private fast: FastPath | undefined;
  private stdio: StdioClientTransport | undefined;
  private fastId = 0;
  /** The 2026-07-28 revision the upstream also serves (found by server/discover), if any. */
  private modernVersion: string | undefined;
  /**
   * A Streamable HTTP upstream that serves 2026-07-28 only (it refused `initialize` and answered
   * `server/discover`): every request, discovery and health checks too, goes out as a stateless
   * 2026-07-28 request; there is no SDK client.
   */
  private modernOnly: ModernServer | undefined;
  /** stdio upstreams: the process that serves 2026-07-28 callers (started on their first request). */
  private lane: ModernStdioLane | undefined;
  /** stdio and SSE upstreams: tools/call in flight on the SDK transport, by our request id. */
  private readonly tapped = new Map<string, TappedCall>();
  private tap: Transport | undefined;
  /**
   * The upstream sent a message over MAX_RESPONSE_BYTES (a stdio line, a legacy SSE event) and the
   * connection was dropped for it: the coded message every call it broke fails with.
   */
  private oversized: string | undefined;

  constructor(
    readonly target: UpstreamTarget,
    private readonly hooks: {
      onLost: (reason: string) => void;
      onListChanged: (kind: 'tools' | 'prompts' | 'resources') => void;
      /** Resource updates and log messages the upstream sends outside a call's own stream. */
      onNotification?: (method: string, params: unknown) => void;
      /** A request of the client the upstream makes outside any tools/call (a task's input_required); undefined: refused. */
      onRequest?: (method: string, params: Record<string, unknown>, signal: AbortSignal) => Promise<RelayAnswer> | undefined;
    },
    /** What the gateway declares upstream; by default sampling and elicitation (relayed to the calling client). */
    private readonly capabilities: Record<string, unknown> = SHARED_CAPABILITIES,
  ) {}

  /** Whether the upstream gave this connection a session of its own (Streamable HTTP Mcp-Session-Id, legacy SSE). */
  get sessionful(): boolean {
    if (this.transport instanceof StreamableHTTPClientTransport) return this.transport.sessionId !== undefined;
    return this.target.transport === 'sse';
  }

  get connected(): boolean {
    return this.client !== undefined || this.modernOnly !== undefined;
  }

  /** Whether the upstream serves 2026-07-28 only: 2025 callers are served over 2026-07-28 requests (era translation). */
  get isModernOnly(): boolean {
    return this.modernOnly !== undefined;
  }

  /** The `_meta` of a request the gateway makes of a 2026-07-28-only upstream, with the capabilities of the client it serves. */
  modernMeta(capabilities: Record<string, unknown> = {}): Record<string, unknown> {
    return { [PROTOCOL_VERSION_META]: this.modernVersion, [CLIENT_CAPABILITIES_META]: capabilities, [CLIENT_INFO_META]: { name: 'mcpgateway', version: VERSION } };
  }

  /** Whether the upstream declared resources.subscribe. */
  get supportsSubscriptions(): boolean {
    const resources = this.client?.getServerCapabilities()?.resources as { subscribe?: unknown } | undefined;
    return resources?.subscribe === true;
  }

  /** The upstream's `tasks` capability (2025-11-25 tasks extension), if it declared one. */
  get tasksCapability(): Record<string, unknown> | undefined {
    const tasks = this.client?.getServerCapabilities()?.tasks;
    return tasks && typeof tasks === 'object' ? (tasks as Record<string, unknown>) : undefined;
  }

  /** Whether the upstream declared logging (logging/setLevel). */
  get supportsLogging(): boolean {
    return Boolean(this.client?.getServerCapabilities()?.logging);
  }

  /** The stdio child's pid, for tests and diagnostics. */
  get pid(): number | null {
    return this.stdio ? this.stdio.pid : null;
  }

  async connect(timeoutMs: number): Promise<void> {
    const transport = await this.makeTransport();
    const client = new Client({ name: 'mcpgateway', version: VERSION }, { capabilities: this.capabilities });
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
      this.lane?.stop(); // the 2026 process goes with the connection
      const why = this.oversized ?? 'the upstream closed the connection';
      for (const call of this.tapped.values()) call.fail(new Error(why));
      this.tapped.clear();
      if (!this.closing) this.hooks.onLost(this.stderrTail ? `connection closed (stderr: ${this.stderrTail.trim().slice(-300)})` : 'connection closed');
    };
    // Transport errors surface on the requests they break; a stdio line over MAX_RESPONSE_BYTES
    // (the SDK's read buffer is bounded by it) closes the connection, which is then reopened. A
    // legacy SSE event over it errors the capped stream (cappedFetch), which the event source
    // would quietly reopen under a new session: the connection is closed and reopened instead.
    client.onerror = (error: Error) => {
      const message = error?.message ?? '';
      const max = this.target.maxResponseBytes ?? 0;
      if (/ReadBuffer exceeded/.test(message)) this.oversized = tooLargeMessage('a line of the upstream process', max);
      else if (this.target.transport === 'sse' && message.includes('UPSTREAM_REPLY_TOO_LARGE')) {
        this.oversized = tooLargeMessage('an event of the upstream stream', max);
        void client.close();
      }
    };
    for (const kind of ['tools', 'prompts', 'resources'] as const) {
      client.setNotificationHandler(`notifications/${kind}/list_changed`, () => this.hooks.onListChanged(kind));
    }
    for (const method of ['notifications/resources/updated', 'notifications/message'] as const) {
      client.setNotificationHandler(method, (n: { params?: unknown }) => this.hooks.onNotification?.(method, n.params));
    }
    // Requests of the client outside a tools/call (a task waiting for input) go to whoever owns them.
    for (const method of ['sampling/createMessage', 'elicitation/create'] as const) {
      client.setRequestHandler(method, async (request: { params?: unknown }, ctx: { mcpReq: { signal: AbortSignal } }) => {
        const answer = await this.hooks.onRequest?.(method, (request.params ?? {}) as Record<string, unknown>, ctx.mcpReq.signal);
        if (!answer) throw new ProtocolError(METHOD_NOT_FOUND_CODE, `the gateway has no client to pass this ${method} request to`);
        if ('error' in answer) throw new ProtocolError(answer.error.code, answer.error.message, answer.error.data);
        return answer.result as never;
      });
    }
    // The SDK has no handler slot for the tasks extension's status notification: it arrives here.
    client.fallbackNotificationHandler = async (n) => {
      if (n.method === 'notifications/tasks/status') this.hooks.onNotification?.(n.method, n.params);
    };
    this.transport = transport;
    try {
      await client.connect(transport, { timeout: timeoutMs });
    } catch (error) {
      await client.close().catch(() => undefined);
      // A Streamable HTTP upstream that answers initialize with an HTTP error may serve 2026-07-28 only
      // (one that does not answer at all, or cannot be reached, is not asked again).
      const status = (error as { data?: { status?: unknown } } | null)?.data?.status;
      if (typeof status === 'number' && transport instanceof StreamableHTTPClientTransport && (await this.connectModernOnly(timeoutMs))) return;
      throw new RpcError(UPSTREAM_FAILURE, `cannot connect to gateway "${this.target.name}": ${describe(error)}${this.stderrHint()}`);
    }
    this.client = client;
    if (!(transport instanceof StreamableHTTPClientTransport)) this.installTap(transport);
    if (transport instanceof StreamableHTTPClientTransport) {
      const url = new URL(this.target.url!);
      const headers: Record<string, string> = {
        ...Object.fromEntries(Object.entries(this.target.headers).map(([k, v]) => [k.toLowerCase(), v])),
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      };
      const version = client.getNegotiatedProtocolVersion();
      if (version) headers['mcp-protocol-version'] = version;
      if (transport.sessionId) headers['mcp-session-id'] = transport.sessionId;
      const agent = new Agent({ keepAliveTimeout: 60_000, connections: 128, ...(this.target.connect ? { connect: this.target.connect } : {}) });
      this.fast = { agent, origin: url.origin, path: url.pathname + url.search, headers, maxResponseBytes: this.target.maxResponseBytes };
      this.modernVersion = (await discoverModern(await this.authorized(this.fast), timeoutMs))?.version;
    }
  }

  /** `server/discover` on an upstream that refused initialize: true when it serves 2026-07-28 (then this connection speaks only that). */
  private async connectModernOnly(timeoutMs: number): Promise<boolean> {
    const url = new URL(this.target.url!);
    const headers: Record<string, string> = {
      ...Object.fromEntries(Object.entries(this.target.headers).map(([k, v]) => [k.toLowerCase(), v])),
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const fast = { agent: new Agent({ keepAliveTimeout: 60_000, connections: 128, ...(this.target.connect ? { connect: this.target.connect } : {}) }), origin: url.origin, path: url.pathname + url.search, headers, maxResponseBytes: this.target.maxResponseBytes };
    const found = await discoverModern(await this.authorized(fast), timeoutMs);
    if (!found) {
      await fast.agent.close().catch(() => undefined);
      return false;
    }
    this.fast = fast;
    this.modernVersion = found.version;
    this.modernOnly = found;
    return true;
  }

  /** The fast path's address with the current oauth2 token, when the gateway has one. */
  private async authorized(fast: FastPath): Promise<FastPath> {
    return this.target.bearer ? { ...fast, headers: { ...fast.headers, authorization: `Bearer ${await this.target.bearer()}` } } : fast;
  }

  /** The 2026-07-28 revision this upstream serves per request (Streamable HTTP), if any. */
  get modern(): string | undefined {
    return this.fast ? this.modernVersion : undefined;
  }

  /**
   * A 2026-07-28 caller's request as a 2026-07-28 request to this upstream: one stateless POST
   * with the caller's own params. Undefined when the upstream does not serve the revision.
   */
  async modernRequest(method: string, params: Record<string, unknown>, options: CallOptions): Promise<Record<string, unknown> | undefined> {
    if (this.lane) {
      if (!this.client || (await this.lane.open(options.timeoutMs)) === null) return undefined;
      return this.lane.request(method, params, { timeoutMs: options.timeoutMs, signal: options.signal, abort: options.abort, notify: options.relay?.notify });
    }
    const fast = this.fast;
    const version = this.modernVersion;
    if (!fast || !version) return undefined;
    const target = await this.authorized(fast);
    const call = { timeoutMs: options.timeoutMs, signal: options.signal, abort: options.abort, headers: options.paramHeaders };
    return modernRequest(target, this.target.name, version, method, params, call, (body, id, signal) => this.readStream(body, id, target, options.relay, signal), `gw-${++this.fastId}`);
  }

  /**
   * tools/call on a Streamable HTTP upstream: one POST on a kept-alive undici pool, skipping the
   * SDK client's per-request machinery (the hot path; see docs/decisions/0004). A JSON reply is
   * parsed once. An SSE reply is read as it arrives: notifications (progress under the caller's
   * own token, log messages) go to `relay.notify`, requests the upstream makes of the client
   * (sampling, elicitation, roots) go to `relay.request` and the answer is POSTed back. Returns
   * undefined when this connection has no fast path (stdio, SSE): the caller uses `request`.
   */
  async fastCall(name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown | undefined> {
    const fast = this.fast;
    if (!this.client) return undefined;
    if (!fast) return this.tap ? this.tappedCall(name, args, options) : undefined;
    const id = `gw-${++this.fastId}`;
    const caller = options.signal;
    const limit = deadline(options.timeoutMs, caller, options.abort);
    const signal = limit.signal;
    const params: Record<string, unknown> = options.progressToken === undefined ? { name, arguments: args } : { name, arguments: args, _meta: { progressToken: options.progressToken } };
    if (options.trace) params._meta = { ...(params._meta as object | undefined), ...options.trace };
    let headers = fast.headers;
    let reply: { result?: unknown; error?: unknown } | undefined;
    try {
      if (this.target.bearer) {
        const token = this.target.bearer();
        headers = { ...fast.headers, authorization: `Bearer ${typeof token === 'string' ? token : await token}` };
      }
      const res = await fast.agent.request({
        origin: fast.origin,
        path: fast.path,
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params }),
        signal,
      });
      if (res.statusCode === 401) this.target.refused?.();
      if (res.statusCode === 404 && fast.headers['mcp-session-id']) {
        await res.body.dump().catch(() => undefined);
        this.fast = undefined; // the session is gone: drop the connection so it is re-initialized
        void this.client?.close();
        throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" forgot the session (it restarted?); reconnecting`, { sessionExpired: true });
      }
      if (res.statusCode >= 400) {
        await res.body.dump().catch(() => undefined);
        throw new Error(`HTTP ${res.statusCode}`);
      }
      const type = res.headers['content-type'];
      if (typeof type === 'string' && type.includes('text/event-stream')) {
        reply = await this.readStream(res.body, id, { ...fast, headers }, options.relay, signal);
      } else {
        reply = parseJsonReply(this.target.maxResponseBytes ? await readCappedText(res.body, this.target.maxResponseBytes, 'the upstream reply') : await res.body.text(), id);
      }
    } catch (error) {
      if (error instanceof RpcError) throw error;
      if (limit.timedOut()) {
        this.cancelUpstream({ ...fast, headers }, id, `the gateway's ${options.timeoutMs} ms timeout expired`);
        throw new RpcError(REQUEST_TIMEOUT, `gateway "${this.target.name}" did not answer tools/call within ${options.timeoutMs} ms`);
      }
      if (caller?.aborted && !limit.timedOut()) {
        this.cancelUpstream({ ...fast, headers }, id, 'the client cancelled the call');
        throw new RpcError(UPSTREAM_FAILURE, `the tools/call call to gateway "${this.target.name}" was cancelled`);
      }
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" failed on tools/call: ${describe(error)}`);
    } finally {
      limit.dispose();
    }
    if (!reply) throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" sent a malformed reply to tools/call`);
    return this.toolsCallResult(reply);
  }

  /** A tools/call reply's result, or the upstream's error (its code kept) or a malformed-reply error. */
  private toolsCallResult(reply: { result?: unknown; error?: unknown }): Record<string, unknown> {
    if (reply.error) {
      const e = reply.error as { code?: unknown; message?: unknown };
      throw new RpcError(typeof e.code === 'number' ? e.code : UPSTREAM_FAILURE, String(e.message ?? 'error').slice(0, 1000), { upstream: this.target.name });
    }
    const result = reply.result;
    if (result === null || typeof result !== 'object' || Array.isArray(result)) {
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" sent a malformed reply to tools/call`);
    }
    return result as Record<string, unknown>;
  }

  /** Read an SSE reply event by event until our response; relay what comes before it. */
  private async readStream(body: AsyncIterable<Buffer | string>, id: string, fast: FastPath, relay: RelayHooks | undefined, signal: AbortSignal): Promise<{ result?: unknown; error?: unknown } | undefined> {
    let reply: { result?: unknown; error?: unknown } | undefined;
    // One event at most MAX_RESPONSE_BYTES (so an endless event is cut off, and many small ones are not).
    const max = Math.min(this.target.maxResponseBytes ?? MAX_STREAM_BUFFER, MAX_STREAM_BUFFER);
    for await (const { data } of sseEvents(body, { maxEventBytes: max, tooLarge: () => new Error(tooLargeMessage('an event of the upstream stream', max)) })) {
      if (!data.trim()) continue; // priming events
      let message: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
      try {
        message = JSON.parse(data) as typeof message;
      } catch {
        continue; // not JSON: ignored; a missing response is reported as malformed
      }
      if (message === null || typeof message !== 'object') continue;
      if (typeof message.method === 'string') {
        if (message.id === undefined) relay?.notify?.(message.method, message.params);
        else this.answerUpstream(fast, message.id, message.method, message.params, relay, signal);
      } else if (message.id === id && ('result' in message || 'error' in message)) {
        reply = message;
      }
    }
    return reply;
  }

  /** Pass a request the upstream made of the client on, and POST the client's answer back. */
  private answerUpstream(fast: FastPath, requestId: unknown, method: string, params: unknown, relay: RelayHooks | undefined, signal: AbortSignal): void {
    const answer: Promise<RelayAnswer> = relay?.request
      ? relay.request(method, params, signal)
      : Promise.resolve({ error: { code: METHOD_NOT_FOUND_CODE, message: `the client cannot take the upstream's ${method.slice(0, 100)} request: it did not accept text/event-stream` } });
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
  private cancelUpstream(fast: FastPath, id: string, reason: string): void {
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

  /**
   * tools/call on a stdio or SSE upstream, sent on the SDK transport under our own id, with our id
   * as the progress token: progress reaches the caller (under its own token) synchronously, in the
   * order the upstream sent it and before the result; requests the upstream makes of the client
   * (sampling, elicitation, roots) go to the calling client; a timeout or the caller's cancellation
   * sends notifications/cancelled upstream.
   */
  private async tappedCall(name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    const transport = this.tap!;
    const id = `gw-${++this.fastId}`;
    const limit = deadline(options.timeoutMs, options.signal, options.abort);
    const signal = limit.signal;
    const params = options.progressToken === undefined ? { name, arguments: args } : { name, arguments: args, _meta: { progressToken: id } };
    let reply: { result?: unknown; error?: unknown };
    try {
      reply = await new Promise<{ result?: unknown; error?: unknown }>((resolve, reject) => {
        const onAbort = () => reject(new Error('aborted'));
        const done = () => signal.removeEventListener('abort', onAbort);
        this.tapped.set(id, {
          token: options.progressToken,
          relay: options.relay,
          signal,
          settle: (r) => (done(), resolve(r)),
          fail: (e) => (done(), reject(e)),
        });
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        transport.send({ jsonrpc: '2.0', id, method: 'tools/call', params } as never).catch((error: unknown) => (done(), reject(error as Error)));
      });
    } catch (error) {
      const wasTapped = this.tapped.delete(id);
      if (limit.timedOut() || (options.signal?.aborted && wasTapped)) {
        const reason = limit.timedOut() ? `the gateway's ${options.timeoutMs} ms timeout expired` : 'the client cancelled the call';
        void transport.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } } as never).catch(() => undefined);
      }
      if (limit.timedOut()) throw new RpcError(REQUEST_TIMEOUT, `gateway "${this.target.name}" did not answer tools/call within ${options.timeoutMs} ms`);
      if (options.signal?.aborted) throw new RpcError(UPSTREAM_FAILURE, `the tools/call call to gateway "${this.target.name}" was cancelled`);
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" failed on tools/call: ${describe(error)}`);
    } finally {
      this.tapped.delete(id);
      limit.dispose();
    }
    return this.toolsCallResult(reply);
  }

  /** See every message the SDK transport receives before the SDK client does; keep what belongs to tapped calls. */
  private installTap(transport: Transport): void {
    const sdk = transport.onmessage;
    this.tap = transport;
    transport.onmessage = (message, extra) => {
      if (!this.tapped.size || !this.tapMessage(transport, message as Record<string, unknown>)) sdk?.call(transport, message, extra as never);
    };
  }

  /** True when the message was a tapped call's (its response, its progress, a request of its client). */
  private tapMessage(transport: Transport, message: Record<string, unknown>): boolean {
    const method = message.method;
    if (typeof method !== 'string') {
      const call = typeof message.id === 'string' ? this.tapped.get(message.id) : undefined;
      if (!call || !('result' in message || 'error' in message)) return false;
      this.tapped.delete(message.id as string);
      call.settle(message);
      return true;
    }
    const params = (message.params ?? {}) as Record<string, unknown>;
    if (message.id === undefined) {
      if (method !== 'notifications/progress' || typeof params.progressToken !== 'string') return false;
      const call = this.tapped.get(params.progressToken);
      if (!call) return false;
      if (call.token !== undefined) call.relay?.notify?.(method, { ...params, progressToken: call.token });
      return true;
    }
    if (!CLIENT_REQUESTS.has(method)) return false;
    // A request for a task (its input_required) belongs to no call in flight: the SDK client's handler takes it.
    if ((params._meta as Record<string, unknown> | undefined)?.['io.modelcontextprotocol/related-task'] !== undefined) return false;
    // stdio and SSE carry no link from a request to the call it serves: the one call in flight is its call.
    const calls = [...this.tapped.values()];
    const requestId = message.id;
    const answer: Promise<RelayAnswer> =
      calls.length !== 1
        ? Promise.resolve({ error: { code: INTERNAL_ERROR_CODE, message: `the gateway cannot tell which of ${calls.length} calls in flight this ${method} request serves` } })
        : calls[0]!.relay?.request
          ? calls[0]!.relay.request(method, params, calls[0]!.signal)
          : Promise.resolve({ error: { code: METHOD_NOT_FOUND_CODE, message: `the client cannot take the upstream's ${method} request` } });
    void answer
      .then((a) => transport.send(('result' in a ? { jsonrpc: '2.0', id: requestId, result: a.result } : { jsonrpc: '2.0', id: requestId, error: a.error }) as never))
      .catch(() => undefined);
    return true;
  }

  /** Everything the upstream offers, page by page. */
  async discover(timeoutMs: number): Promise<UpstreamLists> {
    const client = this.modernOnly ? undefined : this.require();
    const capabilities = (this.modernOnly?.capabilities ?? client!.getServerCapabilities() ?? {}) as Record<string, unknown>;
    const list = async (method: string, key: string) => {
      const items: Record<string, unknown>[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const result = (await this.request(method, cursor ? { cursor } : {}, { timeoutMs })) as Record<string, unknown>;
        const batch = result[key];
        if (!Array.isArray(batch)) throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" answered ${method} without a ${key} array`);
        for (const item of batch) if (item && typeof item === 'object') items.push(item as Record<string, unknown>);
        cursor = typeof result.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
        if (!cursor) break;
      }
      return items;
    };
    const tools = capabilities.tools ? await list('tools/list', 'tools') : [];
    const prompts = capabilities.prompts ? await list('prompts/list', 'prompts') : [];
    const resources = capabilities.resources ? await list('resources/list', 'resources') : [];
    const templates = capabilities.resources ? await list('resources/templates/list', 'resourceTemplates').catch(() => []) : [];
    const instructions = this.modernOnly ? this.modernOnly.instructions : client!.getInstructions();
    return { tools, prompts, resources, templates, capabilities, ...(typeof instructions === 'string' && instructions !== '' ? { instructions } : {}) };
  }

  async ping(timeoutMs: number): Promise<void> {
    // 2026-07-28 has no ping: server/discover is the cheapest request.
    await this.request(this.modernOnly ? 'server/discover' : 'ping', {}, { timeoutMs });
  }

  /** One request; upstream JSON-RPC errors are rethrown as RpcError with the upstream's code and message. */
  async request(method: string, params: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    if (this.modernOnly) {
      const meta = { ...this.modernMeta(), ...(params._meta as Record<string, unknown> | undefined) };
      return this.modernRequest(method, { ...params, _meta: meta }, options);
    }
    const client = this.require();
    try {
      const requestOptions: Record<string, unknown> = { timeout: options.timeoutMs };
      if (options.signal) requestOptions.signal = options.signal;
      if (options.onprogress) requestOptions.onprogress = options.onprogress;
      const result = await client.request({ method, params } as never, PASSTHROUGH, requestOptions);
      if (result === null || typeof result !== 'object' || Array.isArray(result)) {
        throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" sent a malformed reply to ${method}`);
      }
      return result;
    } catch (error) {
      if (this.sessionExpired(error)) {
        // The upstream forgot our session (it restarted): drop the connection so it is re-initialized.
        void client.close();
        throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" lost its session with the upstream (it restarted?); reconnecting`, { sessionExpired: true });
      }
      throw this.translate(error, method, options.timeoutMs);
    }
  }

  private sessionExpired(error: unknown): boolean {
    const status = (error as { data?: { status?: unknown } } | null)?.data?.status;
    return status === 404 && this.transport instanceof StreamableHTTPClientTransport && this.transport.sessionId !== undefined;
  }

  async close(): Promise<void> {
    this.closing = true;
    const fast = this.fast;
    this.fast = undefined;
    this.lane?.stop();
    if (fast) await fast.agent.close().catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client) await client.close().catch(() => undefined);
    else await this.transport?.close().catch(() => undefined);
  }

  private require(): Client {
    if (!this.client) throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" is not connected`);
    return this.client;
  }

  private async makeTransport(): Promise<Transport> {
    const t = this.target;
    if (t.transport === 'stdio') {
      const { getDefaultEnvironment, StdioClientTransport } = await import('@modelcontextprotocol/client/stdio'); // only for stdio gateways
      const transport = new StdioClientTransport({
        command: t.command!,
        args: t.args,
        env: { ...getDefaultEnvironment(), ...t.env },
        stderr: 'pipe',
        ...(t.maxResponseBytes ? { maxBufferSize: t.maxResponseBytes } : {}),
      });
      transport.stderr?.on('data', (chunk: Buffer) => {
        // Known secrets (env values, auth headers) never reach last_error or a log (issue 10).
        this.stderrTail = scrubSecrets(this.stderrTail + chunk.toString('utf8'), [...Object.values(t.env), ...Object.values(t.headers)]).slice(-2000);
      });
      this.stdio = transport;
      this.lane = new ModernStdioLane(t.name, { command: t.command!, args: t.args, env: { ...getDefaultEnvironment(), ...t.env } }, t.maxResponseBytes);
      return transport;
    }
    const url = new URL(t.url!);
    const requestInit = { headers: t.headers };
    const bearer = t.bearer;
    // Every reply is read against MAX_RESPONSE_BYTES (issue 10).
    const policed = t.connect ? policyFetch(new Agent({ connect: t.connect })) : globalThis.fetch;
    const fetch = t.maxResponseBytes ? cappedFetch(policed, t.maxResponseBytes) : policed;
    // oauth2: every request of the SDK transport carries the current token.
    const authorizedFetch = bearer
      ? async (input: string | URL, init?: RequestInit) => {
          const headers = new Headers(init?.headers);
          const token = bearer();
          headers.set('authorization', `Bearer ${typeof token === 'string' ? token : await token}`);
          const res = await fetch(input, { ...init, headers });
          if (res.status === 401) t.refused?.();
          return res;
        }
      : undefined;
    if (t.transport === 'sse') {
      const eventFetch = (input: string | URL, init?: RequestInit) => (authorizedFetch ?? fetch)(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...t.headers } });
      return new SSEClientTransport(url, { requestInit, fetch: authorizedFetch ?? fetch, eventSourceInit: { fetch: eventFetch } } as never);
    }
    return new StreamableHTTPClientTransport(url, { requestInit, fetch: authorizedFetch ?? fetch });
  }

  private translate(error: unknown, method: string, timeoutMs: number): RpcError {
    if (error instanceof RpcError) return error;
    const name = this.target.name;
    if (error instanceof ProtocolError) return new RpcError(error.code, error.message.replace(/^MCP error -?\d+:\s*/, ''), { upstream: name });
    if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
      return new RpcError(REQUEST_TIMEOUT, `gateway "${name}" did not answer ${method} within ${timeoutMs} ms`);
    }
    const message = (error as Error)?.message ?? '';
    if (this.oversized) return new RpcError(UPSTREAM_FAILURE, `gateway "${name}" failed on ${method}: ${this.oversized}`);
    if ((error as Error)?.name === 'ZodError' || (error as Error)?.name === 'SyntaxError' || /^\s*\[/.test(message) || /JSON/.test(message)) {
      return new RpcError(UPSTREAM_FAILURE, `gateway "${name}" sent a malformed reply to ${method}`);
    }
    if ((error as Error)?.name === 'AbortError') return new RpcError(UPSTREAM_FAILURE, `the ${method} call to gateway "${name}" was cancelled`);
    return new RpcError(UPSTREAM_FAILURE, `gateway "${name}" failed on ${method}: ${describe(error)}`);
  }

  private stderrHint(): string {
    const tail = this.stderrTail.trim();
    return tail ? ` (stderr: ${tail.slice(-300)})` : '';
  }
}

/** The JSON-RPC response with our id in a JSON reply body. */
function parseJsonReply(text: string, id: string): { result?: unknown; error?: unknown } | undefined {
  try {
    const message = JSON.parse(text) as { id?: unknown; result?: unknown; error?: unknown };
    if (message && message.id === id && ('result' in message || 'error' in message)) return message;
  } catch {
    return undefined;
  }
  return undefined;
}

function describe(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  if (e?.cause?.code === 'UPSTREAM_DENIED') return e.cause.message ?? 'the outbound policy denies this address';
  const cause = e?.cause?.code ?? e?.cause?.message;
  const message = (e?.message ?? String(error)).split('\n', 1)[0]!.slice(0, 300);
  return cause && !message.includes(cause) ? `${message} (${cause})` : message;
}
