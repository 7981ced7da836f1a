import { RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';
import type { UpstreamConnection } from './mcp-connection.js';

/** Limits of one gateway's per-client upstream sessions (UPSTREAM_SESSION_MAX, UPSTREAM_SESSION_IDLE_MS). */
export interface SessionPoolOptions {
  max: number;
  idleMs: number;
}

/** What the pool reports for /metrics. */
export interface SessionPoolEvents {
  /** The number of open sessions changed. */
  size(open: number): void;
  /** An upstream session was opened, closed idle, or refused because the pool was full. */
  event(kind: 'opened' | 'idle_closed' | 'refused'): void;
}

interface Entry {
  connection: Promise<UpstreamConnection>;
  /** Settled connection, for the synchronous fast path. */
  ready: UpstreamConnection | undefined;
  inflight: number;
  lastUsed: number;
}

/**
 * One gateway's upstream sessions, one per client session: a stateful upstream never shows one
 * client another's state. Bounded: at `max`, the least recently used idle session is closed to
 * make room, and when every session is busy the call is refused (never queued behind another
 * client). Sessions idle for `idleMs` are closed. A call on an open session costs no extra round
 * trip: it is a map lookup.
 */
export class SessionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly gateway: string,
    private readonly options: SessionPoolOptions,
    private readonly events: SessionPoolEvents,
  ) {
    this.timer = setInterval(() => this.sweep(), Math.max(1_000, Math.min(options.idleMs, 30_000)));
    this.timer.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The client session's upstream connection, opened (by `open`) on first use. */
  async acquire(key: string, open: () => Promise<UpstreamConnection>): Promise<{ connection: UpstreamConnection; release: () => void }> {
    if (this.closed) throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.gateway}" was removed`);
    let entry = this.entries.get(key);
    if (entry?.ready && !entry.ready.connected) {
      this.drop(key, entry);
      entry = undefined;
    }
    if (!entry) {
      if (this.entries.size >= this.options.max && !this.evictIdle()) {
        this.events.event('refused');
        throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.gateway}" has ${this.options.max} upstream sessions open, all busy (UPSTREAM_SESSION_MAX); try again shortly`);
      }
      const created: Entry = { connection: open(), ready: undefined, inflight: 0, lastUsed: Date.now() };
      entry = created;
      this.entries.set(key, created);
      this.events.size(this.entries.size);
      created.connection.then(
        (c) => {
          created.ready = c;
          this.events.event('opened');
        },
        () => this.drop(key, created),
      );
    }
    entry.inflight++;
    entry.lastUsed = Date.now();
    const current = entry;
    const release = () => {
      current.inflight--;
      current.lastUsed = Date.now();
    };
    try {
      return { connection: entry.ready ?? (await entry.connection), release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Whether `connection` is the open upstream session of `key` (not one still being opened, or replaced). */
  holds(key: string, connection: UpstreamConnection): boolean {
    return this.entries.get(key)?.ready === connection;
  }

  /** The client session ended: close its upstream session. */
  end(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.drop(key, entry);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const all = [...this.entries.values()];
    this.entries.clear();
    this.events.size(0);
    await Promise.all(all.map((e) => e.connection.then((c) => c.close()).catch(() => undefined)));
  }

  private evictIdle(): boolean {
    let oldest: [string, Entry] | undefined;
    for (const pair of this.entries) if (pair[1].inflight === 0 && (!oldest || pair[1].lastUsed < oldest[1].lastUsed)) oldest = pair;
    if (!oldest) return false;
    this.drop(oldest[0], oldest[1]);
    this.events.event('idle_closed');
    return true;
  }

  private sweep(): void {
    const horizon = Date.now() - this.options.idleMs;
    for (const [key, entry] of this.entries) {
      if (entry.inflight === 0 && entry.lastUsed < horizon) {
        this.drop(key, entry);
        this.events.event('idle_closed');
      }
    }
  }

  private drop(key: string, entry: Entry): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.events.size(this.entries.size);
    void entry.connection.then((c) => c.close()).catch(() => undefined);
  }
}
