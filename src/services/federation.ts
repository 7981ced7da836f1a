import { randomUUID } from 'node:crypto';
import { UriTemplate } from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import type { AuthCipher } from '../crypto/auth-value.js';
import { canonicalJson } from '../domain/merge-patch.js';
import { disambiguated, federatedName, gatewayPrefix } from '../domain/names.js';
import { GatewayError } from '../errors.js';
import type { FederatedItems, View } from '../mcp/catalog.js';
import type { UpstreamCallOptions, Upstreams } from '../mcp/dispatcher.js';
import { REQUEST_TIMEOUT, RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';
import { deadline } from '../upstream/deadline.js';
import type { Repository, Store, StoredObject } from '../store/store.js';
import type { ClientSession } from '../mcp/client-sessions.js';
import { notification } from '../protocol/jsonrpc.js';
import { UPSTREAM_CAPABILITIES, UpstreamConnection, type RelayAnswer, type UpstreamLists, type UpstreamTarget } from '../upstream/mcp-connection.js';
import { SessionPool } from '../upstream/session-pool.js';
import { OAuth2Tokens } from '../upstream/oauth2.js';
import { RelayedError } from '../upstream/modern-http.js';
import { UpstreamCredentials } from '../upstream/credentials.js';
import type { OutboundPolicy } from '../upstream/outbound-policy.js';
import { plainEnv } from './env-secrets.js';
import { ClientDelivery } from './client-delivery.js';
import { InputRounds } from '../mcp/input-rounds.js';
import { CLIENT_CAPABILITIES_META, LOG_LEVEL_META, MISSING_CAPABILITY } from '../protocol/revision-2026.js';

/** Gateways connected and discovered at the same time; the rest wait their turn. */
/** input_required rounds one request of a 2025 caller may take through a 2026-07-28-only upstream. */
const MAX_INPUT_ROUNDS = 16;
const MAX_CONCURRENT_SYNCS = 8;

/** What a discovery found and how names were assigned. */
export interface DiscoveryReport {
  gateway: string;
  tools: number;
  prompts: number;
  resources: number;
  resource_templates: number;
  /** Upstream names whose natural gateway name was taken, and the name they got instead. */
  collisions: { original_name: string; wanted: string; name: string }[];
  /** Upstream tools not served to every client, and why (a task-only tool: only to clients that declare tasks). */
  hidden: { original_name: string; reason: string }[];
}

/** Tool fields the gateway stores and serves itself; every other field of an upstream tool is passed on verbatim. */
const MANAGED_TOOL_FIELDS = new Set(['name', 'description', 'title', 'inputSchema', 'outputSchema', 'annotations']);
const TASK_ONLY_REASON = 'execution.taskSupport is "required": listed only to clients that declare the tasks capability (every call without a task would fail)';

export interface FederationOptions {
  /** Largest upstream reply (MAX_RESPONSE_BYTES); unset: unbounded. */
  maxResponseBytes?: number;
  /** UPSTREAM_ALLOW / UPSTREAM_DENY for every connection to an HTTP gateway. */
  policy?: OutboundPolicy;
  nameSeparator: string;
  healthIntervalMs: number;
  connectTimeoutMs: number;
  /** Longest wait between reconnect attempts. */
  maxBackoffMs: number;
  /** Upstream sessions per client session (STDIO_UPSTREAM_SESSIONS, UPSTREAM_SESSION_MAX, UPSTREAM_SESSION_IDLE_MS). */
  sessions?: { stdio: 'shared' | 'per-client'; max: number; idleMs: number };
  /** The gateway's secret: the key of the request states it mints for input rounds is derived from it. */
  secret?: string;
}

const TASK_STATUS = 'notifications/tasks/status';
const DEFAULT_SESSIONS = { stdio: 'shared' as const, max: 100, idleMs: 300_000 };

interface Link {
  id: string;
  name: string;
  fields: Record<string, unknown>;
  connection: UpstreamConnection | undefined;
  connecting: Promise<UpstreamConnection> | undefined;
  items: FederatedItems;
  templates: { template: UriTemplate; raw: string }[];
  failures: number;
  nextAttempt: number;
  reachable: boolean | null;
  lastError: string | null;
  closed: boolean;
  /** Serializes discoveries of one gateway. */
  discovering: Promise<unknown>;
  /** Upstream sessions of client sessions (stateful upstreams), made on first use. */
  pool: SessionPool | undefined;
}

/**
 * Federation: one kept-alive connection per active gateway, discovery into the store (tools) and
 * memory (prompts, resources, templates), health checks with backoff, and the routing of calls.
 */
export class Federation implements Upstreams {
  private readonly links = new Map<string, Link>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** oauth2 access tokens of upstream gateways, cached until they expire. */
  private readonly tokens: OAuth2Tokens;
  private syncing = 0;
  /** Resource updates and log messages from upstreams, to the client sessions that asked. */
  private readonly delivery = new ClientDelivery();
  private readonly syncQueue: (() => void)[] = [];
  /** 2026-07-28 callers of 2025-era upstreams: the upstream's requests of the client as input_required rounds. */
  readonly rounds: InputRounds;
  /** Admin API changes of gateways being applied (see gatewayChanged). */
  private readonly changes = new Set<Promise<void>>();
  /** Told whenever a gateway's reachability is known (metrics); undefined when it is gone. */
  onHealth: (gateway: string, reachable: boolean | undefined) => void = () => undefined;
  /** Told about an upstream's notifications/tasks/status; `scope` is the client session whose upstream session sent it ('' when shared). */
  onTaskStatus: (gateway: string, scope: string, params: unknown) => void = () => undefined;
  /** Asked to pass on a request of the client an upstream makes outside any call (a task's input_required). */
  onTaskRequest: (gateway: string, scope: string, method: string, params: Record<string, unknown>, signal: AbortSignal) => Promise<RelayAnswer> | undefined = () => undefined;
  /** Told about per-client upstream sessions (metrics): the count open, and opened / idle_closed / refused events. */
  onSessions: { size(gateway: string, open: number): void; event(gateway: string, kind: string): void } = { size: () => undefined, event: () => undefined };

  constructor(
    private readonly store: Store,
    private readonly cipher: AuthCipher,
    private readonly logger: Logger,
    private readonly options: FederationOptions,
    private readonly changed: (kind: 'tools' | 'prompts' | 'resources') => void,
  ) {
    // Token endpoints go through the outbound policy and MAX_RESPONSE_BYTES like the gateways (issue 10).
    this.rounds = new InputRounds(options.secret);
    this.tokens = new OAuth2Tokens({ ...(options.policy ? { connect: options.policy.connector() } : {}), ...(options.maxResponseBytes ? { maxResponseBytes: options.maxResponseBytes } : {}) });
  }

  /** Connect every active gateway in the background and start health checks. */
  async start(): Promise<void> {
    const gateways = await this.store.list('gateways');
    for (const gateway of gateways) void this.sync(gateway).catch(() => undefined);
    this.timer = setInterval(() => void this.healthRound(), this.options.healthIntervalMs);
    this.timer.unref();
  }

  /** React to an Admin API change of a gateway: connect, reconnect with new settings, or drop it. */
  async gatewayChanged(op: 'create' | 'update' | 'delete', id: string): Promise<void> {
    if (this.closed) return;
    // close() waits for changes under way: a connection one of them opens, or closes, ends before the gateway does.
    const change = this.applyChange(op, id);
    this.changes.add(change);
    try {
      await change;
    } finally {
      this.changes.delete(change);
    }
  }

  private async applyChange(op: 'create' | 'update' | 'delete', id: string): Promise<void> {
    if (op === 'delete') {
      const link = this.links.get(id);
      if (link) await this.drop(link, true);
      return;
    }
    const stored = await this.store.get('gateways', id);
    if (!stored) return;
    const link = this.links.get(id);
    if (link && sameTarget(link.fields, stored.fields)) {
      link.fields = stored.fields;
      if (link.name !== String(stored.fields.name)) await this.drop(link, true);
      else if (stored.fields.is_active === false) await this.drop(link, false);
      else return;
    } else if (link) {
      await this.drop(link, String(link.name) !== String(stored.fields.name));
    }
    if (stored.fields.is_active !== false) await this.sync(stored).catch(() => undefined);
    else this.changed('tools');
  }

  /**
   * Bring the connections in line with the stored gateways after changes this instance may not
   * have heard of (another instance's edits while the event channel was down).
   */
  async resync(): Promise<void> {
    if (this.closed) return;
    const stored = await this.store.list('gateways', { includeInactive: true });
    const ids = new Set(stored.map((g) => g.id));
    for (const link of [...this.links.values()]) if (!ids.has(link.id)) await this.gatewayChanged('delete', link.id);
    for (const gateway of stored) await this.gatewayChanged('update', gateway.id);
  }

  /** POST /gateways/{id}/refresh: connect if needed and rediscover now. */
  async refresh(idOrName: string): Promise<DiscoveryReport> {
    const stored = await this.store.get('gateways', idOrName);
    if (!stored) throw new GatewayError('GW_NOT_FOUND', `no gateway with id or name "${idOrName}"`);
    // An inactive gateway never connects, not even on request (issue 10).
    if (stored.fields.is_active === false) throw new GatewayError('GW_INACTIVE', `gateway "${String(stored.fields.name)}" is inactive; activate it (is_active: true) to connect`);
    const link = this.linkFor(stored);
    link.nextAttempt = 0;
    try {
      await this.ensureConnected(link);
    } catch (error) {
      throw new GatewayError('GW_UNREACHABLE', (error as Error).message);
    }
    try {
      return await this.discover(link);
    } catch (error) {
      throw new GatewayError('GW_DISCOVERY_FAILED', (error as Error).message);
    }
  }

  federatedItems(): FederatedItems[] {
    return [...this.links.values()].map((l) => l.items);
  }

  /** Whether a virtual server's `prompts` or `resources` reference is served by a federated gateway (for missing_refs). */
  servesRef(kind: 'prompts' | 'resources', ref: string): boolean {
    for (const { items } of this.links.values()) {
      if (kind === 'prompts' && items.prompts.some((p) => p.name === ref)) return true;
      if (kind === 'resources' && (items.resources.some((r) => r.uri === ref) || items.templates.some((t) => t.uriTemplate === ref))) return true;
    }
    return false;
  }

  /** The stdio child of a gateway, if it has one running (for tests and diagnostics). */
  pidOf(idOrName: string): number | null {
    return this.find(idOrName)?.connection?.pid ?? null;
  }

  /** The gateway's own timeout_ms, if it has one. */
  timeoutFor(gateway: string): number | undefined {
    const value = this.find(gateway)?.fields.timeout_ms;
    return typeof value === 'number' ? value : undefined;
  }

  async callTool(gateway: string, name: string, args: Record<string, unknown>, options: UpstreamCallOptions): Promise<unknown> {
    const shared = this.ready(gateway);
    let session: { connection: UpstreamConnection; release: () => void } | undefined;
    try {
      // 2026-07-28 both sides: the caller's own params, the upstream's answer as it is (input_required too).
      const modern = options.modern && (await shared.modernRequest('tools/call', { ...options.modern, name }, options));
      if (modern) return modern;
      if (options.modern) {
        // A 2026-07-28 caller, a 2025-era upstream: what the upstream asks of the client becomes input_required rounds.
        const meta = options.modern._meta as Record<string, unknown> | undefined;
        const capabilities = meta?.[CLIENT_CAPABILITIES_META] as Record<string, unknown> | undefined;
        return await this.rounds.call(
          {
            principal: options.principal ?? 'anonymous',
            gateway,
            tool: name,
            args,
            params: options.modern,
            capabilities,
            timeoutMs: options.timeoutMs,
            signal: options.signal,
            ...(options.relay?.notify ? { notify: options.relay.notify } : {}),
            ...(options.progressToken !== undefined ? { progressToken: options.progressToken } : {}),
          },
          (relay, signal, abort) =>
            this.checkedCall(gateway, shared, name, args, { ...options, relay, signal, abort, modern: undefined }).catch((error: unknown) => toolError(gateway, error)),
        );
      }
      // A 2025 caller, a 2026-07-28-only upstream: its input_required rounds become requests of the client.
      if (shared.isModernOnly) return await this.answerRounds(gateway, shared, 'tools/call', { name, arguments: args }, options);
      session = options.client ? await this.sessionFor(gateway, shared, options.client) : undefined;
      const connection = session?.connection ?? shared;
      if (session) {
        try {
          return await this.checkedCall(gateway, connection, name, args, options);
        } catch (error) {
          if (!((error as RpcError).data as { sessionExpired?: boolean } | undefined)?.sessionExpired) throw error;
          // The upstream restarted and forgot this client's session (it never ran the call): once more on a new one.
          session.release();
          session = undefined;
          this.find(gateway)?.pool?.end(options.client!.id);
          session = await this.sessionFor(gateway, shared, options.client!);
          return await this.checkedCall(gateway, session!.connection, name, args, options);
        }
      }
      return await this.checkedCall(gateway, connection, name, args, options);
    } catch (error) {
      return toolError(gateway, error);
    } finally {
      session?.release();
    }
  }

  /** tools/call on one connection (fast path, else the SDK client); a reply without content is malformed. */
  private async checkedCall(gateway: string, connection: UpstreamConnection, name: string, args: Record<string, unknown>, options: UpstreamCallOptions): Promise<unknown> {
    const params = options.trace ? { name, arguments: args, _meta: options.trace } : { name, arguments: args };
    const result = ((await connection.fastCall(name, args, options)) ?? (await connection.request('tools/call', params, options))) as Record<string, unknown>;
    if (!Array.isArray(result.content) && result.structuredContent === undefined) {
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" sent a malformed tools/call reply (no content)`);
    }
    return result;
  }

  async getPrompt(gateway: string, name: string, args: Record<string, string>, options: UpstreamCallOptions): Promise<unknown> {
    const shared = this.ready(gateway);
    const modern = options.modern && (await shared.modernRequest('prompts/get', { ...options.modern, name }, options));
    if (modern) return modern;
    if (shared.isModernOnly) return this.answerRounds(gateway, shared, 'prompts/get', { name, arguments: args }, options);
    return this.requestOn(gateway, 'prompts/get', { name, arguments: args }, options);
  }

  async readResource(gateway: string, uri: string, options: UpstreamCallOptions): Promise<unknown> {
    const shared = this.ready(gateway);
    const modern = options.modern && (await shared.modernRequest('resources/read', options.modern, options));
    if (modern) return modern;
    if (shared.isModernOnly) return this.answerRounds(gateway, shared, 'resources/read', { uri }, options);
    return this.requestOn(gateway, 'resources/read', { uri }, options);
  }

  /**
   * A 2025 caller's request to a 2026-07-28-only upstream: sent as a 2026-07-28 request with the
   * client's declared capabilities in `_meta`; each `input_required` answer's `inputRequests` go
   * to the client as server-to-client requests on its stream (only what it declared: anything else
   * fails the call with -32021), and the request is sent again with the `inputResponses` and the
   * upstream's `requestState` untouched, until a final result (at most MAX_INPUT_ROUNDS rounds,
   * all within the call's timeout).
   */
  private async answerRounds(gateway: string, shared: UpstreamConnection, method: string, base: Record<string, unknown>, options: UpstreamCallOptions): Promise<unknown> {
    const limit = deadline(options.timeoutMs, options.signal);
    const ends = Date.now() + options.timeoutMs;
    const meta: Record<string, unknown> = { ...shared.modernMeta(options.client?.capabilities ?? {}), ...options.trace };
    if (options.progressToken !== undefined) meta.progressToken = options.progressToken;
    // The level the client set with logging/setLevel becomes the request's own (2026 logs per request).
    if (options.client?.logLevel) meta[LOG_LEVEL_META] = options.client.logLevel;
    let params: Record<string, unknown> = { ...base, _meta: meta };
    try {
      for (let round = 0; ; round++) {
        const result = await shared.modernRequest(method, params, { ...options, signal: limit.signal, abort: undefined, timeoutMs: Math.max(1, ends - Date.now()) });
        if (!result) throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" does not answer 2026-07-28 requests any more`);
        if (result.resultType !== 'input_required') {
          const { resultType: _complete, ...rest } = result;
          return rest;
        }
        if (round >= MAX_INPUT_ROUNDS) throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" asked the client for input more than ${MAX_INPUT_ROUNDS} times in one ${method}`);
        const requests = result.inputRequests;
        if (requests === null || typeof requests !== 'object' || Array.isArray(requests) || Object.keys(requests).length === 0) {
          throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" answered input_required without inputRequests`);
        }
        const ask = options.relay?.request;
        const answers = await Promise.all(
          Object.entries(requests as Record<string, { method?: unknown; params?: unknown }>).map(async ([key, request]) => {
            const needed = String(request?.method ?? '');
            if (!ask) throw new RpcError(MISSING_CAPABILITY, `gateway "${gateway}" needs ${needed.slice(0, 100)} from the client, and this request cannot carry a request to the client (it has no event stream)`);
            const answer = await ask(needed, request?.params ?? {}, limit.signal);
            if ('error' in answer) {
              if (limit.timedOut()) throw new RpcError(REQUEST_TIMEOUT, `the client did not answer ${needed.slice(0, 100)} within the call's ${options.timeoutMs} ms`);
              const code = answer.error.code === -32601 ? MISSING_CAPABILITY : answer.error.code;
              throw new RpcError(code, `gateway "${gateway}" needs ${needed.slice(0, 100)} from the client: ${answer.error.message}`);
            }
            return [key, answer.result] as const;
          }),
        );
        params = { ...base, _meta: meta, inputResponses: Object.fromEntries(answers), ...(result.requestState !== undefined ? { requestState: result.requestState } : {}) };
      }
    } finally {
      limit.dispose();
    }
  }

  async complete(gateway: string, params: Record<string, unknown>, options: UpstreamCallOptions): Promise<unknown> {
    const connection = this.ready(gateway);
    const modern = options.modern && (await connection.modernRequest('completion/complete', options.modern, options));
    if (modern) return modern;
    const { _meta: _ignored, ...rest } = params;
    return this.requestOn(gateway, 'completion/complete', rest, options);
  }

  /** tasks: a request on the caller's upstream session (see requestOn), and which session that was (mcp/tasks.ts). */
  async taskRequest(gateway: string, method: string, params: Record<string, unknown>, options: UpstreamCallOptions): Promise<{ result: Record<string, unknown>; scope: string }> {
    const shared = this.ready(gateway);
    const session = options.client ? await this.sessionFor(gateway, shared, options.client) : undefined;
    try {
      const result = (await (session?.connection ?? shared).request(method, params, options)) as Record<string, unknown>;
      return { result, scope: session ? options.client!.id : '' };
    } finally {
      session?.release();
    }
  }

  /** The upstream's `tasks` capability, when it is connected and declared one. */
  taskCapability(gateway: string): Record<string, unknown> | undefined {
    return this.find(gateway)?.connection?.tasksCapability;
  }

  /** One request on the caller's own upstream session when the upstream keeps state, else on the shared connection. */
  private async requestOn(gateway: string, method: string, params: Record<string, unknown>, options: UpstreamCallOptions): Promise<unknown> {
    const shared = this.ready(gateway);
    const session = options.client ? await this.sessionFor(gateway, shared, options.client) : undefined;
    try {
      return await (session?.connection ?? shared).request(method, params, options);
    } finally {
      session?.release();
    }
  }

  /**
   * The client session's own upstream session, for upstreams that keep state per session: Streamable
   * HTTP upstreams that hand out an Mcp-Session-Id, legacy SSE upstreams, and stdio upstreams when
   * STDIO_UPSTREAM_SESSIONS=per-client (one process each). Undefined: the shared connection serves it.
   */
  private async sessionFor(gateway: string, shared: UpstreamConnection, client: ClientSession): Promise<{ connection: UpstreamConnection; release: () => void } | undefined> {
    const link = this.find(gateway);
    if (!link) return undefined;
    const settings = this.options.sessions ?? DEFAULT_SESSIONS;
    const isolated = shared.target.transport === 'stdio' ? settings.stdio === 'per-client' : shared.sessionful;
    if (!isolated) return undefined;
    link.pool ??= new SessionPool(link.name, settings, {
      size: (open) => this.onSessions.size(link.name, open),
      event: (kind) => this.onSessions.event(link.name, kind),
    });
    return link.pool.acquire(client.id, () => this.openSession(link, client.id, client));
  }

  private async openSession(link: Link, key: string, client: ClientSession): Promise<UpstreamConnection> {
    const declared = client.capabilities.roots;
    // What the gateway relays, plus roots when this client declared them (asked of it during its calls).
    const capabilities = declared && typeof declared === 'object' ? { ...UPSTREAM_CAPABILITIES, roots: declared } : UPSTREAM_CAPABILITIES;
    const connection = new UpstreamConnection(
      this.target(link.fields),
      {
        onLost: () => link.pool?.end(key),
        onListChanged: () => undefined, // discovery follows the shared connection
        // The session is this client's alone: everything it hears outside a call is the client's.
        onNotification: (method, params) => (method === TASK_STATUS ? this.onTaskStatus(link.name, key, params) : client.push?.(notification(method, params))),
        onRequest: (method, params, signal) => this.onTaskRequest(link.name, key, method, params, signal),
      },
      capabilities,
    );
    try {
      await connection.connect(this.options.connectTimeoutMs);
    } catch (error) {
      await connection.close();
      throw error;
    }
    client.onEnd(() => link.pool?.end(key));
    return connection;
  }

  /** How many per-client upstream sessions a gateway has open, and their stdio pids (tests, diagnostics). */
  sessionsOf(idOrName: string): number {
    return this.find(idOrName)?.pool?.size ?? 0;
  }

  /**
   * resources/subscribe and unsubscribe: the session is recorded (updates reach it on its stream);
   * the upstream hears the first subscribe and the last unsubscribe of a resource.
   */
  async subscription(gateway: string, method: string, uri: string, options: UpstreamCallOptions): Promise<void> {
    const connection = this.ready(gateway);
    const client = options.client;
    const session = client ? await this.sessionFor(gateway, connection, client) : undefined;
    if (session) {
      // The client's own upstream session: its updates reach it directly.
      try {
        if (session.connection.supportsSubscriptions) await session.connection.request(method, { uri }, options);
      } finally {
        session.release();
      }
      return;
    }
    if (client) {
      const tell = method === 'resources/subscribe' ? this.delivery.subscribe(gateway, uri, client) : this.delivery.unsubscribe(gateway, uri, client);
      if (!tell) return;
    }
    if (!connection.supportsSubscriptions) return;
    await connection.request(method, { uri }, options);
  }

  /**
   * logging/setLevel from a client session: it hears these gateways' log messages at or above
   * `level`; each upstream that declares logging is asked for the most verbose level any session wants.
   */
  async setLogLevel(gateways: string[], level: string, options: UpstreamCallOptions): Promise<void> {
    const client = options.client;
    if (!client) return;
    client.logLevel = level;
    const wanted = this.delivery.listen(gateways, client);
    await Promise.all(
      [...wanted].map(async ([gateway, upstreamLevel]) => {
        const shared = this.find(gateway)?.connection;
        if (!shared?.connected) return;
        const session = await this.sessionFor(gateway, shared, client).catch(() => undefined);
        const connection = session?.connection ?? shared;
        try {
          // Its own upstream session hears the client's level; a shared one the most verbose any session wants.
          if (connection.supportsLogging) await connection.request('logging/setLevel', { level: session ? level : upstreamLevel }, options).catch(() => undefined);
        } finally {
          session?.release();
        }
      }),
    );
  }

  templateOwner(view: View, uri: string): string | undefined {
    const gateways = new Set(view.templates.map((t) => t.gateway));
    for (const link of this.links.values()) {
      if (!gateways.has(link.name)) continue;
      for (const { template } of link.templates) if (template.match(uri)) return link.name;
    }
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.rounds.close();
    if (this.timer) clearInterval(this.timer);
    for (const release of this.syncQueue.splice(0)) release(); // queued syncs see `closed` and stop
    await Promise.all([...this.links.values()].map((link) => this.drop(link, false, false)));
    await Promise.all([...this.changes].map((change) => change.catch(() => undefined)));
  }

  // ---- connections -----------------------------------------------------------------------------

  private ready(gateway: string): UpstreamConnection {
    const link = this.find(gateway);
    if (!link) throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" is not active`);
    if (!link.connection?.connected) {
      void this.ensureConnected(link).catch(() => undefined);
      const why = link.lastError ? `: ${link.lastError}` : '';
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" is unreachable${why}`);
    }
    return link.connection;
  }

  private find(idOrName: string): Link | undefined {
    const byId = this.links.get(idOrName);
    if (byId) return byId;
    for (const link of this.links.values()) if (link.name === idOrName) return link;
    return undefined;
  }

  private linkFor(stored: StoredObject): Link {
    let link = this.links.get(stored.id);
    if (!link) {
      const name = String(stored.fields.name);
      link = {
        id: stored.id,
        name,
        fields: stored.fields,
        connection: undefined,
        connecting: undefined,
        items: { gateway: name, prompts: [], resources: [], templates: [] },
        templates: [],
        failures: 0,
        nextAttempt: 0,
        reachable: (stored.fields.reachable as boolean | null) ?? null,
        lastError: null,
        closed: false,
        discovering: Promise.resolve(),
        pool: undefined,
      };
      this.links.set(stored.id, link);
    }
    return link;
  }

  /** Connect and discover one active gateway. */
  /**
   * Connect and discover one gateway. At most MAX_CONCURRENT_SYNCS run at once, so starting with
   * (or bulk-importing) thousands of gateways queues them instead of opening every upstream at once.
   */
  private async sync(stored: StoredObject): Promise<void> {
    if (stored.fields.is_active === false) return;
    if (this.syncing >= MAX_CONCURRENT_SYNCS) await new Promise<void>((resolve) => this.syncQueue.push(resolve));
    this.syncing++;
    try {
      if (this.closed) return;
      const link = this.linkFor(stored);
      await this.ensureConnected(link);
      await this.discover(link);
    } finally {
      this.syncing--;
      this.syncQueue.shift()?.();
    }
  }

  private ensureConnected(link: Link): Promise<UpstreamConnection> {
    if (link.connection?.connected) return Promise.resolve(link.connection);
    // A dropped gateway (deactivated, deleted, or the gateway shutting down) is never reconnected:
    // a process started now would outlive it.
    if (link.closed || this.closed) return Promise.reject(new RpcError(UPSTREAM_FAILURE, `gateway "${link.name}" was removed`));
    if (link.connecting) return link.connecting;
    link.connecting = this.connect(link).finally(() => {
      link.connecting = undefined;
    });
    return link.connecting;
  }

  private async connect(link: Link): Promise<UpstreamConnection> {
    await link.connection?.close();
    link.connection = undefined;
    // A new connection means the upstream went away or changed: the client sessions' upstream sessions went with it.
    const pool = link.pool;
    link.pool = undefined;
    await pool?.close();
    if (link.closed) throw new RpcError(UPSTREAM_FAILURE, `gateway "${link.name}" was removed`);
    let target: UpstreamTarget;
    try {
      target = this.target(link.fields);
    } catch (error) {
      await this.markDown(link, (error as Error).message);
      throw error;
    }
    const connection = new UpstreamConnection(target, {
      onLost: (reason) => {
        if (link.connection !== connection || link.closed) return;
        link.connection = undefined;
        void this.markDown(link, reason);
      },
      onNotification: (method, params) => (method === TASK_STATUS ? this.onTaskStatus(link.name, '', params) : this.delivery.deliver(link.name, method, params)),
      onRequest: (method, params, signal) => this.onTaskRequest(link.name, '', method, params, signal),
      onListChanged: (kind) => {
        this.logger.info({ gateway: link.name, kind }, 'upstream list changed; rediscovering');
        void this.discover(link).catch((error: unknown) => this.logger.warn({ gateway: link.name, err: (error as Error).message }, 'rediscovery failed'));
      },
    });
    try {
      await connection.connect(this.options.connectTimeoutMs);
    } catch (error) {
      await connection.close();
      await this.markDown(link, (error as Error).message);
      throw error;
    }
    if (link.closed) {
      await connection.close();
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${link.name}" was removed`);
    }
    link.connection = connection;
    await this.markUp(link, connection);
    return connection;
  }

  private target(fields: Record<string, unknown>): UpstreamTarget {
    // The one credential resolver (issue 10), sharing this instance's token cache.
    const { headers, query, ...oauth } = new UpstreamCredentials(this.cipher, process.env, this.tokens).gateway(fields);
    let url = (fields.url as string | null) ?? null;
    if (query && url) {
      const withParams = new URL(url);
      for (const [key, value] of Object.entries(query)) withParams.searchParams.set(key, value);
      url = withParams.toString();
    }
    return {
      ...oauth,
      name: String(fields.name),
      transport: fields.transport as UpstreamTarget['transport'],
      url,
      command: (fields.command as string | null) ?? null,
      args: (fields.args as string[] | undefined) ?? [],
      env: plainEnv(fields, this.cipher),
      ...(this.options.maxResponseBytes ? { maxResponseBytes: this.options.maxResponseBytes } : {}),
      ...(this.options.policy ? { connect: this.options.policy.connector() } : {}),
      headers,
    };
  }

  private async drop(link: Link, removeItems: boolean, notify = true): Promise<void> {
    link.closed = true;
    this.links.delete(link.id);
    this.onHealth(link.name, undefined);
    // A connect under way (a gateway re-activated just before) sees `closed` when it finishes and
    // closes what it opened: wait for it, so no upstream process outlives the gateway.
    await link.connecting?.catch(() => undefined);
    const pool = link.pool;
    link.pool = undefined;
    await pool?.close();
    await link.connection?.close();
    link.connection = undefined;
    if (removeItems) {
      await this.store.transaction(async (repo) => {
        for (const tool of await toolsOf(repo, link.name)) await repo.delete('tools', tool.id);
      });
    }
    if (notify) {
      this.changed('tools');
      this.changed('prompts');
      this.changed('resources');
    }
  }

  // ---- health ----------------------------------------------------------------------------------

  private async healthRound(): Promise<void> {
    if (this.closed) return;
    const timeout = Math.max(100, Math.min(this.options.healthIntervalMs, 10_000));
    await Promise.all(
      [...this.links.values()].map(async (link) => {
        if (link.connection?.connected) {
          try {
            await link.connection.ping(timeout);
            await this.markUp(link, link.connection);
          } catch (error) {
            const connection = link.connection;
            link.connection = undefined;
            await connection?.close();
            await this.markDown(link, (error as Error).message);
          }
        } else if (!link.connecting && Date.now() >= link.nextAttempt) {
          try {
            await this.ensureConnected(link);
            await this.discover(link);
          } catch {
            // markDown recorded it
          }
        }
      }),
    );
  }

  private async markUp(link: Link, _connection: UpstreamConnection): Promise<void> {
    const wasDown = link.reachable !== true;
    link.failures = 0;
    link.nextAttempt = 0;
    link.reachable = true;
    link.lastError = null;
    if (wasDown) this.logger.info({ gateway: link.name }, 'gateway reachable');
    this.onHealth(link.name, true);
    await this.writeHealth(link, { reachable: true, last_seen: new Date().toISOString(), last_error: null });
  }

  private async markDown(link: Link, reason: string): Promise<void> {
    if (link.closed) return;
    link.failures++;
    const backoff = Math.min(this.options.maxBackoffMs, this.options.healthIntervalMs * 2 ** Math.min(link.failures - 1, 10));
    link.nextAttempt = Date.now() + backoff;
    const wasUp = link.reachable !== false;
    link.reachable = false;
    link.lastError = reason;
    if (wasUp) this.logger.warn({ gateway: link.name, reason }, 'gateway unreachable');
    this.onHealth(link.name, false);
    await this.writeHealth(link, { reachable: false, last_error: reason.slice(0, 1000) });
  }

  /** Record health on the gateway without moving updated_at (it is not a user edit). */
  private async writeHealth(link: Link, health: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    try {
      await this.store.transaction(async (repo) => {
        const current = await repo.get('gateways', link.id, { lock: true });
        if (!current) return;
        const fields = { ...current.fields, ...health };
        if (canonicalJson(fields) === canonicalJson(current.fields)) return;
        await repo.update('gateways', { ...current, fields }, current);
      });
    } catch (error) {
      this.logger.warn({ gateway: link.name, err: (error as Error).message }, 'cannot record gateway health');
    }
  }

  // ---- discovery -------------------------------------------------------------------------------

  private discover(link: Link): Promise<DiscoveryReport> {
    const run = link.discovering.then(() => this.discoverNow(link));
    link.discovering = run.catch(() => undefined);
    return run;
  }

  private async discoverNow(link: Link): Promise<DiscoveryReport> {
    let lists: UpstreamLists;
    try {
      lists = await (await this.ensureConnected(link)).discover(this.options.connectTimeoutMs);
    } catch (error) {
      if (!((error as RpcError).data as { sessionExpired?: boolean } | undefined)?.sessionExpired) throw error;
      // The upstream restarted and forgot the session: connect afresh and try once more.
      const stale = link.connection;
      link.connection = undefined;
      await stale?.close();
      lists = await (await this.ensureConnected(link)).discover(this.options.connectTimeoutMs);
    }
    if (link.closed) throw new RpcError(UPSTREAM_FAILURE, `gateway "${link.name}" was removed`);
    // Task-only tools are listed only to clients that declare tasks (mcp/tasks.ts): reported, and kept.
    const hidden: DiscoveryReport['hidden'] = [];
    const toolExtras = new Map<string, Record<string, unknown>>();
    lists = {
      ...lists,
      tools: lists.tools.filter((tool) => {
        const execution = tool.execution as { taskSupport?: unknown } | undefined;
        if (execution && typeof execution === 'object' && execution.taskSupport === 'required') {
          hidden.push({ original_name: String(tool.name), reason: TASK_ONLY_REASON });
        }
        const extra = Object.fromEntries(Object.entries(tool).filter(([key]) => !MANAGED_TOOL_FIELDS.has(key)));
        if (Object.keys(extra).length > 0) toolExtras.set(String(tool.name), extra);
        return true;
      }),
    };
    const collisions = await this.storeTools(link, lists);
    const prefix = gatewayPrefix({ name: link.name, name_prefix: (link.fields.name_prefix as string | null) ?? null });
    link.items = {
      gateway: link.name,
      prompts: lists.prompts
        .filter((p) => typeof p.name === 'string')
        .map((p) => {
          const name = federatedName(prefix, this.options.nameSeparator, String(p.name));
          return { name, originalName: String(p.name), descriptor: { ...p, name } };
        }),
      resources: lists.resources.filter((r) => typeof r.uri === 'string'),
      templates: lists.templates.filter((t) => typeof t.uriTemplate === 'string'),
      toolExtras,
      ...(lists.instructions ? { instructions: lists.instructions } : {}),
    };
    link.templates = link.items.templates.flatMap((t) => {
      try {
        return [{ template: new UriTemplate(String(t.uriTemplate)), raw: String(t.uriTemplate) }];
      } catch {
        return [];
      }
    });
    for (const c of collisions) this.logger.warn({ gateway: link.name, ...c }, 'federated tool name collision: the tool got a disambiguated name');
    for (const h of hidden) this.logger.warn({ gateway: link.name, ...h }, 'upstream tool not served');
    this.changed('tools');
    this.changed('prompts');
    this.changed('resources');
    return {
      gateway: link.name,
      tools: lists.tools.length,
      prompts: link.items.prompts.length,
      resources: link.items.resources.length,
      resource_templates: link.items.templates.length,
      collisions,
      hidden,
    };
  }

  /** Write the upstream's tools as MCP tools in one transaction; returns the name collisions. */
  private async storeTools(link: Link, lists: UpstreamLists): Promise<DiscoveryReport['collisions']> {
    const prefix = gatewayPrefix({ name: link.name, name_prefix: (link.fields.name_prefix as string | null) ?? null });
    const separator = this.options.nameSeparator;
    return this.store.transaction(async (repo) => {
      const all = await repo.list('tools', { includeInactive: true });
      const mine = all.filter((t) => t.fields.integration_type === 'MCP' && t.fields.gateway === link.name);
      const byOriginal = new Map(mine.map((t) => [String(t.fields.original_name), t]));
      const taken = new Set(all.filter((t) => !mine.includes(t)).map((t) => String(t.fields.name)));
      const collisions: DiscoveryReport['collisions'] = [];
      const seen = new Set<string>();
      const upstream = lists.tools
        .filter((t) => typeof t.name === 'string' && t.name !== '')
        .sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1));
      const now = new Date().toISOString();
      for (const tool of upstream) {
        const original = String(tool.name);
        if (seen.has(original)) continue;
        seen.add(original);
        const wanted = federatedName(prefix, separator, original);
        let name = wanted;
        if (taken.has(name)) {
          name = disambiguated(wanted, `${link.name}/${original}`);
          collisions.push({ original_name: original, wanted, name });
        }
        taken.add(name);
        const existing = byOriginal.get(original);
        const fields = toolFields(tool, name, original, link.name, existing?.fields);
        if (!existing) {
          await repo.insert('tools', { id: randomUUID().replaceAll('-', ''), created_at: now, updated_at: now, fields });
        } else if (canonicalJson(fields) !== canonicalJson(existing.fields)) {
          await repo.update('tools', { ...existing, fields, updated_at: now > existing.updated_at ? now : existing.updated_at }, existing);
        }
      }
      for (const tool of mine) if (!seen.has(String(tool.fields.original_name))) await repo.delete('tools', tool.id);
      const current = await repo.get('gateways', link.id, { lock: true });
      if (current) {
        const fields = { ...current.fields, capabilities: lists.capabilities, collisions };
        if (canonicalJson(fields) !== canonicalJson(current.fields)) await repo.update('gateways', { ...current, fields }, current);
      }
      return collisions;
    });
  }
}

/** A discovered tool as stored: the tool kind's fields, with what the user may edit kept. */
function toolFields(
  tool: Record<string, unknown>,
  name: string,
  original: string,
  gateway: string,
  existing: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const object = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
  const annotations = object(tool.annotations) ?? {};
  return {
    name,
    description: typeof tool.description === 'string' ? tool.description : '',
    tags: (existing?.tags as string[] | undefined) ?? [],
    is_active: existing?.is_active ?? true,
    title: typeof tool.title === 'string' ? tool.title : typeof annotations.title === 'string' ? annotations.title : null,
    integration_type: 'MCP',
    input_schema: object(tool.inputSchema) ?? { type: 'object', properties: {} },
    output_schema: object(tool.outputSchema),
    annotations,
    url: null,
    request_type: 'POST',
    headers: {},
    query: {},
    body: null,
    response_path: null,
    timeout_ms: null,
    auth_type: 'none',
    auth_value: null,
    gateway,
    original_name: original,
  };
}

async function toolsOf(repo: Repository, gateway: string): Promise<StoredObject[]> {
  const all = await repo.list('tools', { includeInactive: true });
  return all.filter((t) => t.fields.integration_type === 'MCP' && t.fields.gateway === gateway);
}

/** The upstream answered with a JSON-RPC error: the tool failed (a result with isError), the transport is fine. Anything else is rethrown. */
function toolError(gateway: string, error: unknown): unknown {
  const rpc = error as RpcError;
  if (rpc instanceof RpcError && !(rpc instanceof RelayedError) && rpc.data && (rpc.data as { upstream?: string }).upstream) {
    return { content: [{ type: 'text', text: `gateway "${gateway}" reported an error: ${rpc.message}` }], isError: true };
  }
  throw error;
}

/** Whether two gateway versions connect to the same upstream the same way. */
function sameTarget(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = ['transport', 'url', 'command', 'args', 'env', 'auth_type', 'auth_value', 'name_prefix'];
  return keys.every((k) => canonicalJson(a[k] ?? null) === canonicalJson(b[k] ?? null));
}
