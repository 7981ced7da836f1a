import { randomUUID } from 'node:crypto';
import type { ClientRequest, ClientSession, UpstreamIds } from '../protocol/call.js';

/** The table of 2025 client sessions (the session itself: ClientSession in protocol/call.ts). Bounded: the oldest
 * idle session is closed when the table is full; idle sessions close after `idleMs`. */
/** RFC 5424 severities as MCP names them, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;

export interface ClientSessionOptions {
  max: number;
  idleMs: number;
}

export const DEFAULT_CLIENT_SESSIONS: ClientSessionOptions = { max: 10_000, idleMs: 30 * 60_000 };

/** What another instance needs to serve a client session it did not open: never a credential. */
export interface SharedSession {
  owner: string;
  capabilities: Record<string, unknown>;
  logLevel?: string;
}

/** What the directory knows of a session id: opened (and by whom), ended by its client, or nothing. */
export type SharedLookup = { session: SharedSession } | { ended: true } | undefined;

/**
 * Where instances sharing one endpoint record their client sessions (Redis, with REDIS_URL), so
 * a request that reaches another instance than the one that answered `initialize` is still served
 * as the client's own session. Records expire after the session's idle time; every method is
 * best effort: an unreachable directory makes a lookup answer undefined, never wait long or throw.
 */
export interface SessionDirectory {
  /** Resolves once written (or failed: never rejects). */
  save(id: string, session: SharedSession, ttlMs: number): Promise<void>;
  find(id: string): Promise<SharedLookup>;
  /** The session was seen: keep its record another `ttlMs`; false when the record was gone (expired). */
  touch(id: string, ttlMs: number): Promise<boolean>;
  /** The client ended it (DELETE): every instance answers it 404 from now on. */
  end(id: string, ttlMs: number): void;
  /** Its upstream session id for a gateway, if one is recorded. */
  upstream(id: string, gateway: string): Promise<string | undefined>;
  /** Record `upstreamId` for the gateway unless one is recorded already; the one in force (undefined: the directory is away). */
  claimUpstream(id: string, gateway: string, upstreamId: string, ttlMs: number): Promise<string | undefined>;
  /** Forget the gateway's upstream session id if it is still `upstreamId`. */
  dropUpstream(id: string, gateway: string, upstreamId: string): void;
}

/** A session's upstream session ids: in this process, and in the directory when there is one. */
class SessionUpstreamIds implements UpstreamIds {
  private readonly local = new Map<string, string>();

  constructor(
    private readonly sessionId: string,
    private readonly directory: SessionDirectory | undefined,
    private readonly ttlMs: number,
  ) {}

  async get(gateway: string): Promise<string | undefined> {
    // The directory first: another instance may have replaced one this instance still remembers.
    const shared = this.directory ? await this.directory.upstream(this.sessionId, gateway) : undefined;
    if (shared) this.local.set(gateway, shared);
    return shared ?? this.local.get(gateway);
  }

  async claim(gateway: string, id: string): Promise<string> {
    const winner = (this.directory ? await this.directory.claimUpstream(this.sessionId, gateway, id, this.ttlMs) : undefined) ?? id;
    this.local.set(gateway, winner);
    return winner;
  }

  drop(gateway: string, id: string): void {
    if (this.local.get(gateway) === id) this.local.delete(gateway);
    this.directory?.dropUpstream(this.sessionId, gateway, id);
  }
}

class Session implements ClientSession {
  owner: string | undefined;
  capabilities: Record<string, unknown> = {};
  push: ((message: string) => void) | undefined;
  logLevel: string | undefined;
  request: ClientRequest | undefined;
  upstreamIds: UpstreamIds;
  lastSeen = Date.now();
  /** When its record in the directory was last written or refreshed (0: it has none). */
  sharedAt = 0;
  readonly ending: (() => void)[] = [];
  changed: (() => void) | undefined;
  constructor(
    readonly id: string,
    directory: SessionDirectory | undefined,
    ttlMs: number,
  ) {
    // Only an initialized session is recorded (share); until then its ids stay in this process.
    this.upstreamIds = new SessionUpstreamIds(id, directory, ttlMs);
  }
  onEnd(listener: () => void): void {
    this.ending.push(listener);
  }
}

export class ClientSessions {
  /** In insertion order, touched sessions moved to the end: the first is the least recently seen. */
  private readonly sessions = new Map<string, Session>();
  /** Ids of sessions the client ended (DELETE), most recent last: a later request with one gets 404. */
  private readonly terminated = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  /** Lookups in the directory under way, so concurrent requests with one unknown id adopt it once. */
  private readonly adopting = new Map<string, Promise<ClientSession | 'ended' | undefined>>();
  /** Told when a client ends its session here (DELETE), for the other instances to end their copies. */
  onTerminate: ((id: string) => void) | undefined;

  constructor(
    private readonly options: ClientSessionOptions = DEFAULT_CLIENT_SESSIONS,
    private readonly directory?: SessionDirectory,
  ) {
    this.timer = setInterval(() => this.sweep(), Math.max(1_000, Math.min(options.idleMs, 60_000)));
    this.timer.unref();
  }

  /** Whether sessions are shared with other instances (a directory is configured). */
  get shared(): boolean {
    return this.directory !== undefined;
  }

  get size(): number {
    return this.sessions.size;
  }

  open(id: string = randomUUID()): ClientSession {
    while (this.sessions.size >= this.options.max) this.end(this.sessions.keys().next().value!);
    const session = new Session(id, this.directory, this.options.idleMs);
    this.sessions.set(id, session);
    return session;
  }

  /** The session with this id (seen now), or undefined. */
  get(id: string | undefined): ClientSession | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    session.lastSeen = Date.now();
    this.sessions.delete(id);
    this.sessions.set(id, session);
    this.refresh(session);
    return session;
  }

  /** Keep a shared session's record alive, now and then, never awaited (a call on an open session makes no extra round trip); rewritten if it expired. */
  private refresh(session: Session): void {
    if (!this.directory || session.sharedAt === 0 || Date.now() - session.sharedAt <= this.options.idleMs / 4) return;
    session.sharedAt = Date.now();
    void this.directory.touch(session.id, this.options.idleMs).then((alive) => {
      if (!alive && this.sessions.get(session.id) === session) void this.share(session);
    });
  }

  /**
   * Record an opened (initialized) session in the directory, and again whenever what another
   * instance needs of it changes (its log level). Without a directory: nothing to do.
   */
  share(client: ClientSession): Promise<void> {
    const session = this.sessions.get(client.id);
    if (!this.directory || !session || session.owner === undefined) return Promise.resolve();
    this.markShared(session);
    const record: SharedSession = { owner: session.owner, capabilities: session.capabilities };
    if (session.logLevel) record.logLevel = session.logLevel;
    return this.directory.save(session.id, record, this.options.idleMs);
  }

  /**
   * A session this instance does not hold, opened by another one: its record read from the
   * directory and held here too, when `owner` opened it. 'ended': its client ended it. Undefined:
   * unknown, another principal's, or no directory (then the request is served without a session).
   */
  adopt(id: string, owner: string): Promise<ClientSession | 'ended' | undefined> {
    if (!this.directory) return Promise.resolve(undefined);
    let pending = this.adopting.get(id);
    if (!pending) {
      pending = this.lookUp(id).finally(() => this.adopting.delete(id));
      this.adopting.set(id, pending);
    }
    return pending.then((found) => (found === 'ended' || found === undefined || found.owner === owner ? found : undefined));
  }

  private async lookUp(id: string): Promise<ClientSession | 'ended' | undefined> {
    const found = await this.directory!.find(id);
    // Ended (here, or by an event from another instance) while it was looked up: it stays ended.
    if (this.terminated.has(id)) return 'ended';
    if (!found) return undefined;
    if ('ended' in found) {
      this.remember(id);
      return 'ended';
    }
    const held = this.sessions.get(id);
    if (held) return held;
    const session = this.open(id) as Session;
    session.owner = found.session.owner;
    session.capabilities = found.session.capabilities;
    session.logLevel = found.session.logLevel;
    this.markShared(session);
    return session;
  }

  /** The session has a record in the directory (written now, or read): refreshed from now on, rewritten when it changes. */
  private markShared(session: Session): void {
    session.sharedAt = Date.now();
    session.changed = () => void this.share(session);
  }

  end(id: string): boolean {
    const session = this.sessions.get(id);
    if (!session) return false;
    this.sessions.delete(id);
    session.push = undefined;
    session.request = undefined;
    session.changed = undefined;
    runEnding(session.ending);
    return true;
  }

  /** The client ended the session (DELETE): end it and remember the id, so a later request with it gets 404. */
  terminate(id: string): boolean {
    if (!this.end(id)) return false;
    this.remember(id);
    this.directory?.end(id, this.options.idleMs);
    this.onTerminate?.(id);
    return true;
  }

  /** Another instance's client ended this session: end the copy held here, and answer it 404 from now on. */
  endedElsewhere(id: string): void {
    this.end(id);
    this.remember(id);
  }

  private remember(id: string): void {
    this.terminated.add(id);
    if (this.terminated.size > this.options.max) this.terminated.delete(this.terminated.values().next().value!);
  }

  /** Whether the client ended this session itself (its id must not be used again). */
  wasTerminated(id: string | undefined): boolean {
    return id !== undefined && this.terminated.has(id);
  }

  close(): void {
    clearInterval(this.timer);
    for (const id of [...this.sessions.keys()]) this.end(id);
  }

  private sweep(): void {
    const horizon = Date.now() - this.options.idleMs;
    for (const [id, session] of this.sessions) {
      // A client with an open stream is not idle: its record is kept alive too.
      if (session.push) this.refresh(session);
      else if (session.lastSeen <= horizon) this.end(id);
    }
  }
}

/** Run (and empty) a session's end listeners: one listener's failure does not keep the others from running. */
export function runEnding(listeners: (() => void)[]): void {
  for (const listener of listeners.splice(0)) {
    try {
      listener();
    } catch {
      // the others still run
    }
  }
}

/** `request`, refusing (to the upstream, with -32601) what the client did not declare. */
export function gated(capabilities: Record<string, unknown> | undefined, request: ClientRequest): ClientRequest {
  return (method, params, signal) =>
    clientDeclared(capabilities, method)
      ? request(method, params, signal)
      : Promise.resolve({ error: { code: -32601, message: `the client did not declare the capability ${method.slice(0, 100)} needs` } });
}

/** Which capability a request of the client needs. */
const NEEDS: Record<string, string> = { 'sampling/createMessage': 'sampling', 'elicitation/create': 'elicitation', 'roots/list': 'roots' };

/** Whether a client that declared `capabilities` may be sent `method` (sampling, elicitation, roots). */
export function clientDeclared(capabilities: Record<string, unknown> | undefined, method: string): boolean {
  const needed = NEEDS[method];
  if (needed === undefined) return true;
  const value = capabilities?.[needed];
  return value !== undefined && value !== null && typeof value === 'object';
}
