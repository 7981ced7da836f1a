import { randomUUID } from 'node:crypto';
import type { ClientRequest, ClientSession } from '../protocol/call.js';

/** The table of 2025 client sessions (the session itself: ClientSession in protocol/call.ts). Bounded: the oldest
 * idle session is closed when the table is full; idle sessions close after `idleMs`. */
/** RFC 5424 severities as MCP names them, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;

export interface ClientSessionOptions {
  max: number;
  idleMs: number;
}

export const DEFAULT_CLIENT_SESSIONS: ClientSessionOptions = { max: 10_000, idleMs: 30 * 60_000 };

class Session implements ClientSession {
  owner: string | undefined;
  capabilities: Record<string, unknown> = {};
  push: ((message: string) => void) | undefined;
  logLevel: string | undefined;
  request: ClientRequest | undefined;
  lastSeen = Date.now();
  readonly ending: (() => void)[] = [];
  constructor(readonly id: string) {}
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

  constructor(private readonly options: ClientSessionOptions = DEFAULT_CLIENT_SESSIONS) {
    this.timer = setInterval(() => this.sweep(), Math.max(1_000, Math.min(options.idleMs, 60_000)));
    this.timer.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  open(id: string = randomUUID()): ClientSession {
    while (this.sessions.size >= this.options.max) this.end(this.sessions.keys().next().value!);
    const session = new Session(id);
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
    return session;
  }

  end(id: string): boolean {
    const session = this.sessions.get(id);
    if (!session) return false;
    this.sessions.delete(id);
    session.push = undefined;
    session.request = undefined;
    for (const listener of session.ending.splice(0)) {
      try {
        listener();
      } catch {
        // one listener's failure does not keep the others from running
      }
    }
    return true;
  }

  /** The client ended the session (DELETE): end it and remember the id, so a later request with it gets 404. */
  terminate(id: string): boolean {
    if (!this.end(id)) return false;
    this.terminated.add(id);
    if (this.terminated.size > this.options.max) this.terminated.delete(this.terminated.values().next().value!);
    return true;
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
      if (session.lastSeen > horizon) break; // the rest were seen later
      if (session.push) continue; // a client with an open stream is not idle
      this.end(id);
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
