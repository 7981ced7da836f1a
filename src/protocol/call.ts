/**
 * One call's shape, from the endpoint that received it to the upstream connection that carries it
 * on: the caller's session, the hooks that reach the caller while the call runs, and the options
 * every layer passes down (the dispatcher, federation's routing, the connection's fast path and
 * its SDK path all take `CallOptions`). The endpoint's own view of a message is `DispatchContext`,
 * which shares the same fields.
 */

/** Progress of a call, as `notifications/progress` carries it. */
export interface Progress {
  progress: number;
  total?: number;
  message?: string;
}

/** The client's answer to a request an upstream made of it. */
export type RelayAnswer = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

/** A request of the client on behalf of an upstream (sampling, elicitation, roots). */
export type ClientRequest = (method: string, params: unknown, signal: AbortSignal) => Promise<RelayAnswer>;

/** How messages an upstream sends during a call reach the calling client. */
export interface RelayHooks {
  /** A notification (progress, log message) related to the call. */
  notify?: (method: string, params: unknown) => void;
  /** A request of the client (sampling, elicitation, roots); resolves with the client's answer. */
  request?: ClientRequest;
}

/**
 * A client session of the 2025 revisions: opened by `initialize` on Streamable HTTP (the gateway
 * answers with an `Mcp-Session-Id`) and by `GET /sse` on the legacy transport. It holds what the
 * client declared (the gateway never asks a client for what it did not declare), the stream on
 * which the gateway may reach it outside a call (resource updates, log messages), and what ends
 * with it (its upstream sessions, its subscriptions). The table of them is mcp/client-sessions.ts.
 */
export interface ClientSession {
  readonly id: string;
  /** Who opened it (see ownerOf in http/mcp-routes.ts): only the same principal may use it. */
  owner: string | undefined;
  /** What the client declared in initialize; empty until then. */
  capabilities: Record<string, unknown>;
  /** Writes a JSON-RPC message on the session's own stream; undefined while none is open. */
  push: ((message: string) => void) | undefined;
  /** logging/setLevel: the least severe level the client wants; undefined: no log messages asked for. */
  logLevel: string | undefined;
  /** A request of the client outside any call (a task's input_required), on its stream; undefined while none is open. */
  request: ClientRequest | undefined;
  lastSeen: number;
  /**
   * A 2026-07-28 `subscriptions/listen` stream standing in for a session: it has no upstream
   * sessions of its own (2026-07-28 requests use the shared connections), only deliveries.
   */
  stateless?: true;
  /**
   * The ids of its own Streamable HTTP upstream sessions (the upstream's Mcp-Session-Id, per
   * gateway): with sessions shared by instances, every instance takes up the one recorded.
   */
  upstreamIds?: UpstreamIds;
  /** Tell the table what another instance needs of the session changed (its log level); undefined when sessions are not shared. */
  changed?: (() => void) | undefined;
  /** Runs once when the session ends (closed by the client, idle or evicted). */
  onEnd(listener: () => void): void;
}

/** A client session's upstream session ids, per gateway (by id): recorded for every instance when sessions are shared. */
export interface UpstreamIds {
  /** The id recorded for this gateway, if any. */
  get(gateway: string): Promise<string | undefined>;
  /** Record `id` unless another is recorded already (another instance opened one first): the id in force. */
  claim(gateway: string, id: string): Promise<string>;
  /** The upstream no longer has `id`: forget it (only if it is still the one recorded). */
  drop(gateway: string, id: string): void;
}

/** What every layer of one call shares: its cancellation, the caller's 2026 headers and its 2025 session. */
export interface CallScope {
  signal: AbortSignal;
  /** Aborts `signal`; present only when the signal serves this one call (not a batch): the fast path reuses it for its timeout. */
  abort?: () => void;
  /** Mcp-Param-* headers of a 2026-07-28 caller, passed on to a 2026-07-28 upstream. */
  paramHeaders?: Record<string, string>;
  /** The caller's 2025 session (Mcp-Session-Id or legacy SSE), if it has one: upstream sessions and subscriptions follow it. */
  client?: ClientSession;
}

/** The options of one call on its way to an upstream. */
export interface CallOptions extends CallScope {
  timeoutMs: number;
  /** SDK path: progress callback (the SDK picks its own token upstream). */
  onprogress?: (progress: Progress) => void;
  /** Fast path: the caller's progress token, passed upstream as is (the reply stream is the call's own). */
  progressToken?: string | number;
  /** Fast path: where notifications and requests the upstream sends during the call go. */
  relay?: RelayHooks;
  /** The caller's W3C trace context (`_meta` traceparent, tracestate), sent in the upstream request's `_meta`. */
  trace?: Record<string, string>;
  /**
   * A 2026-07-28 caller's own params (`_meta` with its protocol version and capabilities,
   * `inputResponses`, `requestState`): a 2026 upstream gets them as they are, with only the
   * name or URI mapped back to the upstream's.
   */
  modern?: Record<string, unknown>;
  /** Who calls (principalKey): a 2026-07-28 caller's input rounds are bound to it. */
  principal?: string;
}

/** Who sent a message, as authentication found them (the audit trail's actor). */
export interface CallerIdentity {
  subject: string;
  method: string;
  tokenId?: string | undefined;
}

/** The endpoint a message arrived on and how to talk back while it runs (its hooks are the relay's). */
export interface DispatchContext extends CallScope, RelayHooks {
  /** A virtual server's id or name; undefined for `/mcp`. */
  server?: string;
  /** The authenticated caller, when there is one. */
  principal?: CallerIdentity | undefined;
  /** The HTTP request's id and source address, when the message came over HTTP. */
  requestId?: string;
  source?: string;
  /** The validated `_meta` of a 2026-07-28 request (set by the HTTP transport's ladder). */
  meta?: Record<string, unknown>;
  /** Set by the dispatcher: the HTTP status a 2026-07-28 error response goes out with. */
  status?: number;
}

/** A request that may also be the gateway's own (discovery, health checks): no caller, so perhaps no caller's signal. */
export type RequestOptions = Omit<CallOptions, 'signal'> & { signal?: AbortSignal };
