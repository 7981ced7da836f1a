import { Client, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import type { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';
import { VERSION } from '../version.js';
import { scrubSecrets } from '../services/env-secrets.js';
import { discoverModern, modernRequest, type ModernServer } from './modern-http.js';
import { ModernListener } from './modern-listen.js';
import { CLIENT_CAPABILITIES_META, CLIENT_INFO_META, PROTOCOL_VERSION_META } from '../protocol/revision-2026.js';
import type { ModernStdioLane } from './modern-stdio.js';
import { tooLargeMessage } from './limits.js';
import { authorized, fastToolsCall, openFastPath, readReplyStream, type FastPath } from './fast-call.js';
import { installHandlers, makeTransport, translateSdkError, type UpstreamEvents } from './sdk-connection.js';
import { CallTap } from './tapped-calls.js';
import { describe, toolsCallResult } from './replies.js';
import type { CallOptions, RequestOptions } from '../protocol/call.js';

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

/** An upstream session recorded for the same client session (opened by another instance, or by this one earlier), taken up as it is. */
export interface ResumedSession {
  sessionId: string;
  /** What the upstream declared (to this instance's shared connection: the same upstream). */
  capabilities: Record<string, unknown> | undefined;
  protocolVersion: string | undefined;
}

/**
 * One kept-alive connection to an upstream MCP server: connect, list, call. It composes the SDK
 * client (sdk-connection.ts: transport, handlers, errors), the fast call path beside it
 * (fast-call.ts, Streamable HTTP) or the tap on its transport (tapped-calls.ts, stdio and SSE),
 * and the 2026-07-28 requests (modern-http.ts, modern-stdio.ts). A lost connection is reported
 * through `onLost` and the caller reconnects; a stdio child is killed when the connection closes.
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
  /** The subscriptions/listen stream to a 2026-07-28-only upstream. */
  private listener: ModernListener | undefined;
  /** stdio upstreams: the process that serves 2026-07-28 callers (started on their first request). */
  private lane: ModernStdioLane | undefined;
  /** stdio and SSE upstreams: tools/call goes out on the SDK transport, answered through this tap. */
  private tap: CallTap | undefined;
  /**
   * The upstream sent a message over MAX_RESPONSE_BYTES (a stdio line, a legacy SSE event) and the
   * connection was dropped for it: the coded message every call it broke fails with.
   */
  private oversized: string | undefined;

  constructor(
    readonly target: UpstreamTarget,
    private readonly hooks: UpstreamEvents & { onLost: (reason: string) => void },
    /** What the gateway declares upstream; by default sampling and elicitation (relayed to the calling client). */
    private readonly capabilities: Record<string, unknown> = SHARED_CAPABILITIES,
    /** Streamable HTTP: take up this recorded upstream session instead of initializing a new one. */
    private readonly resume?: ResumedSession,
  ) {}

  /**
   * A taken-up session skipped `notifications/initialized`, which is what opens the GET stream the
   * upstream sends on outside a call: open it now. While the instance that opened the session still
   * holds its stream the upstream refuses a second (409), and that instance keeps hearing them.
   */
  openSessionStream(): void {
    if (this.transport instanceof StreamableHTTPClientTransport) void this.transport.resumeStream('').catch(() => undefined);
  }

  /** The Streamable HTTP upstream's Mcp-Session-Id for this connection, if it has one. */
  get sessionId(): string | undefined {
    return this.transport instanceof StreamableHTTPClientTransport ? this.transport.sessionId : undefined;
  }

  /** What the upstream declared in its initialize (or, for a resumed session, what it declared to the shared connection). */
  get serverCapabilities(): Record<string, unknown> | undefined {
    return (this.client?.getServerCapabilities() as Record<string, unknown> | undefined) ?? (this.client ? this.resume?.capabilities : undefined);
  }

  /** The protocol revision negotiated with the upstream. */
  get protocolVersion(): string | undefined {
    return this.client?.getNegotiatedProtocolVersion() ?? (this.client ? this.resume?.protocolVersion : undefined);
  }

  /** Whether the upstream gave this connection a session of its own (Streamable HTTP Mcp-Session-Id, legacy SSE). */
  get sessionful(): boolean {
    if (this.transport instanceof StreamableHTTPClientTransport) return this.transport.sessionId !== undefined;
    return this.target.transport === 'sse';
  }

  /** Whether there is an SDK client, or a 2026-07-28-only upstream, to send to. */
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
    if (this.listener) return this.listener.subscribable;
    const resources = this.serverCapabilities?.resources as { subscribe?: unknown } | undefined;
    return resources?.subscribe === true;
  }

  /** The upstream's `tasks` capability (2025-11-25 tasks extension), if it declared one. */
  get tasksCapability(): Record<string, unknown> | undefined {
    const tasks = this.serverCapabilities?.tasks;
    return tasks && typeof tasks === 'object' ? (tasks as Record<string, unknown>) : undefined;
  }

  /** Whether the upstream declared logging (logging/setLevel). */
  get supportsLogging(): boolean {
    return Boolean(this.serverCapabilities?.logging);
  }

  /** The stdio child's pid, for tests and diagnostics. */
  get pid(): number | null {
    return this.stdio ? this.stdio.pid : null;
  }

  /** Open the SDK client (initialize); on Streamable HTTP also the fast path, and learn whether 2026-07-28 is served too. */
  async connect(timeoutMs: number): Promise<void> {
    const made = await makeTransport(this.target, (chunk) => this.keepStderr(chunk), this.resume?.sessionId);
    this.stdio = made.stdio;
    this.lane = made.lane;
    const transport = made.transport;
    const client = new Client({ name: 'mcpgateway', version: VERSION }, { capabilities: this.capabilities });
    client.onclose = () => this.closed(client);
    client.onerror = (error: Error) => this.failed(client, error);
    installHandlers(client, this.hooks);
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
    // A resumed session skipped initialize: its requests carry the revision the shared connection negotiated.
    if (this.resume?.protocolVersion && transport instanceof StreamableHTTPClientTransport) transport.setProtocolVersion(this.resume.protocolVersion);
    if (!(transport instanceof StreamableHTTPClientTransport)) this.tap = new CallTap(transport, this.target.name);
    else await this.openFastPath(client, transport, timeoutMs);
  }

  /** The SDK client closed: fail what was in flight on it and report the loss (unless we closed it). */
  private closed(client: Client): void {
    if (this.client === client) this.client = undefined;
    this.lane?.stop(); // the 2026 process goes with the connection
    this.tap?.failAll(this.oversized ?? 'the upstream closed the connection');
    if (!this.closing) this.hooks.onLost(this.stderrTail ? `connection closed (stderr: ${this.stderrTail.trim().slice(-300)})` : 'connection closed');
  }

  /**
   * Transport errors surface on the requests they break; a stdio line over MAX_RESPONSE_BYTES
   * (the SDK's read buffer is bounded by it) closes the connection, which is then reopened. A
   * legacy SSE event over it errors the capped stream (cappedFetch), which the event source
   * would quietly reopen under a new session: the connection is closed and reopened instead.
   */
  private failed(client: Client, error: Error): void {
    const message = error?.message ?? '';
    const max = this.target.maxResponseBytes ?? 0;
    if (/ReadBuffer exceeded/.test(message)) this.oversized = tooLargeMessage('a line of the upstream process', max);
    else if (this.target.transport === 'sse' && message.includes('UPSTREAM_REPLY_TOO_LARGE')) {
      this.oversized = tooLargeMessage('an event of the upstream stream', max);
      void client.close();
    }
  }

  /** A stdio child's stderr, kept (its tail) for the errors that name it; known secrets never reach it (issue 10). */
  private keepStderr(chunk: Buffer): void {
    const t = this.target;
    this.stderrTail = scrubSecrets(this.stderrTail + chunk.toString('utf8'), [...Object.values(t.env), ...Object.values(t.headers)]).slice(-2000);
  }

  /** The fast path beside the SDK client's session (its protocol version and session id on every POST). */
  private async openFastPath(client: Client, transport: StreamableHTTPClientTransport, timeoutMs: number): Promise<void> {
    const extra: Record<string, string> = {};
    const version = client.getNegotiatedProtocolVersion() ?? this.resume?.protocolVersion;
    if (version) extra['mcp-protocol-version'] = version;
    if (transport.sessionId) extra['mcp-session-id'] = transport.sessionId;
    this.fast = openFastPath(this.target, extra);
    this.modernVersion = (await discoverModern(await authorized(this.target, this.fast), timeoutMs))?.version;
  }

  /** `server/discover` on an upstream that refused initialize: true when it serves 2026-07-28 (then this connection speaks only that). */
  private async connectModernOnly(timeoutMs: number): Promise<boolean> {
    const fast = openFastPath(this.target);
    const found = await discoverModern(await authorized(this.target, fast), timeoutMs);
    if (!found) {
      await fast.agent.close().catch(() => undefined);
      return false;
    }
    this.fast = fast;
    this.modernVersion = found.version;
    this.modernOnly = found;
    this.listen(found);
    return true;
  }

  /** The subscriptions/listen stream to a 2026-07-28-only upstream (modern-listen.ts): list changes and watched resources. */
  private listen(server: ModernServer): void {
    this.listener = new ModernListener(server, {
      target: async () => (this.fast ? authorized(this.target, this.fast) : undefined),
      meta: () => this.modernMeta(),
      listChanged: (kind) => this.hooks.onListChanged(kind),
      notification: (method, params) => this.hooks.onNotification?.(method, params),
    });
  }

  /**
   * A 2026-07-28-only upstream's resource, watched (or not) on its listen stream for the gateway's
   * subscribers; false when it sends no updates (or is not such an upstream).
   */
  watchResource(uri: string, on: boolean): boolean {
    return this.listener?.watch(uri, on) ?? false;
  }

  /** The 2026-07-28 revision this upstream serves per request (Streamable HTTP), if any. */
  get modern(): string | undefined {
    return this.fast ? this.modernVersion : undefined;
  }

  /**
   * A 2026-07-28 caller's request as a 2026-07-28 request to this upstream: one stateless POST
   * with the caller's own params. Undefined when the upstream does not serve the revision.
   */
  async modernRequest(method: string, params: Record<string, unknown>, options: RequestOptions): Promise<Record<string, unknown> | undefined> {
    if (this.lane) {
      if (!this.client || (await this.lane.open(options.timeoutMs)) === null) return undefined;
      return this.lane.request(method, params, options);
    }
    const fast = this.fast;
    const version = this.modernVersion;
    if (!fast || !version) return undefined;
    const target = await authorized(this.target, fast);
    return modernRequest(target, this.target.name, version, method, params, options, (body, id, signal) => readReplyStream(body, id, target, options.relay, signal), `gw-${++this.fastId}`);
  }

  /**
   * tools/call without the SDK client's request machinery: one POST on the fast path (Streamable
   * HTTP, see fast-call.ts) or, on stdio and SSE, our own request on the SDK transport answered
   * through the tap (tapped-calls.ts). Progress, notifications and requests of the client made
   * during the call go to `options.relay`. Undefined when there is neither: the caller uses `request`.
   */
  async fastCall(name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown | undefined> {
    const fast = this.fast;
    if (!this.client) return undefined;
    if (!fast && !this.tap) return undefined;
    const id = `gw-${++this.fastId}`;
    const reply = fast ? await fastToolsCall({ target: this.target, sessionGone: () => this.sessionGone() }, fast, id, name, args, options) : await this.tap!.call(id, name, args, options);
    return toolsCallResult(this.target.name, reply);
  }

  /** The upstream forgot our session (it restarted): drop the connection so it is re-initialized. */
  private sessionGone(): void {
    this.fast = undefined;
    void this.client?.close();
  }

  /** Everything the upstream offers, page by page. */
  async discover(timeoutMs: number): Promise<UpstreamLists> {
    const client = this.modernOnly ? undefined : this.require();
    const capabilities = (this.modernOnly?.capabilities ?? this.serverCapabilities ?? {}) as Record<string, unknown>;
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

  /** The cheapest request the upstream answers, for health checks. */
  async ping(timeoutMs: number): Promise<void> {
    // 2026-07-28 has no ping: server/discover is the cheapest request.
    await this.request(this.modernOnly ? 'server/discover' : 'ping', {}, { timeoutMs });
  }

  /** One request; upstream JSON-RPC errors are rethrown as RpcError with the upstream's code and message. */
  async request(method: string, params: Record<string, unknown>, options: RequestOptions): Promise<unknown> {
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
      throw translateSdkError(error, this.target.name, method, options.timeoutMs, this.oversized);
    }
  }

  private sessionExpired(error: unknown): boolean {
    const status = (error as { data?: { status?: unknown } } | null)?.data?.status;
    return status === 404 && this.transport instanceof StreamableHTTPClientTransport && this.transport.sessionId !== undefined;
  }

  /** Close the fast path's pool and the SDK client (a stdio child with it); not reported as a loss. */
  async close(): Promise<void> {
    this.closing = true;
    this.listener?.close();
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

  private stderrHint(): string {
    const tail = this.stderrTail.trim();
    return tail ? ` (stderr: ${tail.slice(-300)})` : '';
  }
}
