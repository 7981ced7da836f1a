import type { View } from '../../mcp/catalog.js';
import { InputRounds } from '../../mcp/input-rounds.js';
import { RpcError, UPSTREAM_FAILURE } from '../../protocol/jsonrpc.js';
import { CLIENT_CAPABILITIES_META } from '../../protocol/revision-2026.js';
import type { UpstreamConnection } from '../../upstream/mcp-connection.js';
import { RelayedError } from '../../upstream/modern-http.js';
import type { ClientDelivery } from './client-delivery.js';
import { sessionExpired, type Links } from './links.js';
import { answerRounds } from './modern-only.js';
import type { UpstreamSessions } from './sessions.js';
import type { CallOptions, ClientSession } from '../../protocol/call.js';

/** How long the gateway waits on an upstream's answer to the resources/unsubscribe it sends for an ended session. */
const RELEASE_TIMEOUT_MS = 10_000;

/**
 * Routing: a call of a federated tool, prompt, resource or completion sent to its gateway, on the
 * caller's own upstream session when the upstream keeps state, translated between protocol eras.
 */

export class Routing {
  /** 2026-07-28 callers of 2025-era upstreams: the upstream's requests of the client as input_required rounds. */
  readonly rounds: InputRounds;

  constructor(
    private readonly links: Links,
    private readonly sessions: UpstreamSessions,
    /** Resource updates and log messages from upstreams, to the client sessions that asked. */
    private readonly delivery: ClientDelivery,
    secret: string | undefined,
  ) {
    this.rounds = new InputRounds(secret);
  }

  /** tools/call of a federated tool; an upstream's JSON-RPC error becomes a tool error result. */
  async callTool(gateway: string, name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    const shared = this.links.ready(gateway);
    try {
      // 2026-07-28 both sides: the caller's own params, the upstream's answer as it is (input_required too).
      const modern = options.modern && (await shared.modernRequest('tools/call', { ...options.modern, name }, options));
      if (modern) return modern;
      if (options.modern) return await this.callInRounds(gateway, shared, name, args, options, options.modern);
      // A 2025 caller, a 2026-07-28-only upstream: its input_required rounds become requests of the client.
      if (shared.isModernOnly) return await answerRounds(gateway, shared, 'tools/call', { name, arguments: args }, options);
      if (options.client) return await this.callOnSession(gateway, shared, name, args, options, options.client);
      return await this.checkedCall(gateway, shared, name, args, options);
    } catch (error) {
      return toolError(gateway, error);
    }
  }

  /** A 2026-07-28 caller, a 2025-era upstream: what the upstream asks of the client becomes input_required rounds. */
  private callInRounds(gateway: string, shared: UpstreamConnection, name: string, args: Record<string, unknown>, options: CallOptions, modern: Record<string, unknown>): Promise<unknown> {
    const meta = modern._meta as Record<string, unknown> | undefined;
    const capabilities = meta?.[CLIENT_CAPABILITIES_META] as Record<string, unknown> | undefined;
    return this.rounds.call(
      {
        principal: options.principal ?? 'anonymous',
        gateway,
        tool: name,
        args,
        params: modern,
        capabilities,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        ...(options.relay?.notify ? { notify: options.relay.notify } : {}),
        ...(options.progressToken !== undefined ? { progressToken: options.progressToken } : {}),
      },
      (relay, signal, abort) => this.checkedCall(gateway, shared, name, args, { ...options, relay, signal, abort, modern: undefined }).catch((error: unknown) => toolError(gateway, error)),
    );
  }

  /** tools/call on the client's own upstream session when it gets one (else the shared connection). */
  private async callOnSession(gateway: string, shared: UpstreamConnection, name: string, args: Record<string, unknown>, options: CallOptions, client: ClientSession): Promise<unknown> {
    let session = await this.sessions.acquire(gateway, shared, client);
    if (!session) return await this.checkedCall(gateway, shared, name, args, options);
    try {
      return await this.checkedCall(gateway, session.connection, name, args, options);
    } catch (error) {
      if (!sessionExpired(error)) throw error;
      // The upstream restarted and forgot this client's session (it never ran the call): once more on a new one.
      const forgotten = session.connection.sessionId;
      session.release();
      session = undefined;
      this.sessions.end(gateway, client, forgotten);
      session = await this.sessions.acquire(gateway, shared, client);
      // No session this time (the gateway was changed meanwhile): the shared connection, as on a first call.
      return await this.checkedCall(gateway, session?.connection ?? shared, name, args, options);
    } finally {
      session?.release();
    }
  }

  /** tools/call on one connection (fast path, else the SDK client); a reply without content is malformed. */
  private async checkedCall(gateway: string, connection: UpstreamConnection, name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    const params = options.trace ? { name, arguments: args, _meta: options.trace } : { name, arguments: args };
    const result = ((await connection.fastCall(name, args, options)) ?? (await connection.request('tools/call', params, options))) as Record<string, unknown>;
    if (!Array.isArray(result.content) && result.structuredContent === undefined) {
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" sent a malformed tools/call reply (no content)`);
    }
    return result;
  }

  /** prompts/get of a federated prompt. */
  async getPrompt(gateway: string, name: string, args: Record<string, string>, options: CallOptions): Promise<unknown> {
    const shared = this.links.ready(gateway);
    const modern = options.modern && (await shared.modernRequest('prompts/get', { ...options.modern, name }, options));
    if (modern) return modern;
    if (shared.isModernOnly) return answerRounds(gateway, shared, 'prompts/get', { name, arguments: args }, options);
    return this.requestOn(gateway, 'prompts/get', { name, arguments: args }, options);
  }

  /** resources/read of a federated resource. */
  async readResource(gateway: string, uri: string, options: CallOptions): Promise<unknown> {
    const shared = this.links.ready(gateway);
    const modern = options.modern && (await shared.modernRequest('resources/read', options.modern, options));
    if (modern) return modern;
    if (shared.isModernOnly) return answerRounds(gateway, shared, 'resources/read', { uri }, options);
    return this.requestOn(gateway, 'resources/read', { uri }, options);
  }

  /** completion/complete of a federated prompt's or template's argument. */
  async complete(gateway: string, params: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    const connection = this.links.ready(gateway);
    const modern = options.modern && (await connection.modernRequest('completion/complete', options.modern, options));
    if (modern) return modern;
    const { _meta: _ignored, ...rest } = params;
    return this.requestOn(gateway, 'completion/complete', rest, options);
  }

  /** tasks: a request on the caller's upstream session (see requestOn), and which session that was (mcp/tasks.ts). */
  async taskRequest(gateway: string, method: string, params: Record<string, unknown>, options: CallOptions): Promise<{ result: Record<string, unknown>; scope: string }> {
    const shared = this.links.ready(gateway);
    const session = options.client ? await this.sessions.acquire(gateway, shared, options.client) : undefined;
    try {
      const result = (await (session?.connection ?? shared).request(method, params, options)) as Record<string, unknown>;
      return { result, scope: session ? options.client!.id : '' };
    } finally {
      session?.release();
    }
  }

  /** One request on the caller's own upstream session when the upstream keeps state, else on the shared connection. */
  private async requestOn(gateway: string, method: string, params: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    const shared = this.links.ready(gateway);
    const session = options.client ? await this.sessions.acquire(gateway, shared, options.client) : undefined;
    try {
      return await (session?.connection ?? shared).request(method, params, options);
    } finally {
      session?.release();
    }
  }

  /**
   * resources/subscribe and unsubscribe: the session is recorded (updates reach it on its stream);
   * the upstream hears the first subscribe and the last unsubscribe of a resource.
   */
  async subscription(gateway: string, method: string, uri: string, options: CallOptions): Promise<boolean> {
    const connection = this.links.ready(gateway);
    const client = options.client;
    const session = client ? await this.sessions.acquire(gateway, connection, client) : undefined;
    if (session) {
      // The client's own upstream session: its updates reach it directly.
      try {
        if (!session.connection.supportsSubscriptions) return false;
        await session.connection.request(method, { uri }, options);
        return true;
      } finally {
        session.release();
      }
    }
    if (client) {
      const tell = method === 'resources/subscribe' ? this.delivery.subscribe(gateway, uri, client) : this.delivery.unsubscribe(gateway, uri, client);
      if (!tell) return connection.supportsSubscriptions;
    }
    if (!connection.supportsSubscriptions) return false;
    // A 2026-07-28-only upstream has no resources/subscribe: the resource is watched on its listen stream.
    if (connection.isModernOnly) return connection.watchResource(uri, method === 'resources/subscribe');
    await connection.request(method, { uri }, options);
    return true;
  }

  /** A shared connection's resource lost its last subscriber (its session ended): the upstream stops sending its updates. */
  async released(gateway: string, uri: string): Promise<void> {
    const connection = this.links.find(gateway)?.connection;
    if (!connection?.connected || !connection.supportsSubscriptions) return;
    if (connection.isModernOnly) {
      connection.watchResource(uri, false);
      return;
    }
    await connection.request('resources/unsubscribe', { uri }, { timeoutMs: RELEASE_TIMEOUT_MS }).catch(() => undefined);
  }

  /**
   * logging/setLevel from a client session: it hears these gateways' log messages at or above
   * `level`; each upstream that declares logging is asked for the most verbose level any session wants.
   */
  async setLogLevel(gateways: string[], level: string, options: CallOptions): Promise<void> {
    const client = options.client;
    if (!client) return;
    client.logLevel = level;
    client.changed?.();
    const wanted = this.delivery.listen(gateways, client);
    await Promise.all(
      [...wanted].map(async ([gateway, upstreamLevel]) => {
        const shared = this.links.find(gateway)?.connection;
        if (!shared?.connected) return;
        const session = await this.sessions.acquire(gateway, shared, client).catch(() => undefined);
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

  /** The gateway, among those the view serves templates of, whose resource template matches the URI. */
  templateOwner(view: View, uri: string): string | undefined {
    const gateways = new Set(view.templates.map((t) => t.gateway));
    for (const link of this.links.all()) {
      if (!gateways.has(link.name)) continue;
      for (const { template } of link.templates) if (template.match(uri)) return link.name;
    }
    return undefined;
  }
}

/** The upstream answered with a JSON-RPC error: the tool failed (a result with isError), the transport is fine. Anything else is rethrown. */
function toolError(gateway: string, error: unknown): unknown {
  const rpc = error as RpcError;
  if (rpc instanceof RpcError && !(rpc instanceof RelayedError) && rpc.data && (rpc.data as { upstream?: string }).upstream) {
    return { content: [{ type: 'text', text: `gateway "${gateway}" reported an error: ${rpc.message}` }], isError: true };
  }
  throw error;
}
