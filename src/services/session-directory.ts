import type { Logger } from 'pino';
import type { createClient } from 'redis';
import { backgroundRedis, type RedisClient } from './redis-client.js';
import { LOG_LEVELS, type SessionDirectory, type SharedLookup, type SharedSession } from '../mcp/client-sessions.js';

/**
 * The client-session directory over Redis (REDIS_URL): one key per 2025 client session,
 * `<REDIS_CHANNEL_PREFIX>:session:<id>`, holding what another instance needs to serve it (owner,
 * declared capabilities, log level, its own upstream sessions' ids) or a tombstone once its client ended it, expiring after the
 * session's idle time. Writes are never awaited by a request; a lookup waits at most
 * LOOKUP_TIMEOUT_MS and answers undefined when Redis is away, so the request is served as before
 * (without a session) rather than held.
 */

const LOOKUP_TIMEOUT_MS = 500;
/** A record larger than this is not shared (a client's declared capabilities are small). */
const MAX_RECORD_BYTES = 64 * 1024;

export class RedisSessionDirectory implements SessionDirectory {
  private readonly client: RedisClient;
  private closed = false;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
    /** The redis package's createClient, loaded by the caller only when REDIS_URL is set. */
    connect: typeof createClient,
  ) {
    const warning = 'client sessions: redis is not reachable; sessions opened on other instances are served without their session until it is back';
    this.client = backgroundRedis(connect, url, logger, warning, () => this.closed);
  }

  save(id: string, session: SharedSession, ttlMs: number): void {
    const record = JSON.stringify({ v: 1, ...session });
    if (record.length > MAX_RECORD_BYTES) {
      this.logger.debug({ bytes: record.length }, 'client sessions: a session record too large to share');
      return;
    }
    this.write(() => this.client.set(this.key(id), record, { PX: ttlMs }));
  }

  touch(id: string, ttlMs: number): void {
    this.write(() => this.client.pExpire(this.key(id), ttlMs));
  }

  end(id: string, ttlMs: number): void {
    this.write(() => this.client.set(this.key(id), JSON.stringify({ v: 1, ended: true }), { PX: ttlMs }));
  }

  async find(id: string): Promise<SharedLookup> {
    if (this.closed || !this.client.isReady || id.length > 200) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS);
    });
    try {
      const raw = await Promise.race([this.client.get(this.key(id)).catch(() => null), timeout]);
      return typeof raw === 'string' ? parseRecord(raw) : undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    try {
      this.client.destroy();
    } catch {
      // never connected
    }
  }

  private key(id: string): string {
    return `${this.prefix}:session:${id}`;
  }

  private write(command: () => Promise<unknown>): void {
    if (this.closed || !this.client.isReady) return;
    command().catch((error: unknown) => this.logger.debug({ err: (error as Error).message }, 'client sessions: a directory write failed'));
  }
}

/** A record read back from Redis, or undefined when it is not one this gateway wrote. */
export function parseRecord(raw: string): SharedLookup {
  if (raw.length > MAX_RECORD_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  if (r.v !== 1) return undefined;
  if (r.ended === true) return { ended: true };
  if (typeof r.owner !== 'string' || r.owner.length === 0 || r.owner.length > 1000) return undefined;
  if (!r.capabilities || typeof r.capabilities !== 'object' || Array.isArray(r.capabilities)) return undefined;
  if (r.logLevel !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(r.logLevel)) return undefined;
  const upstream = r.upstream === undefined ? undefined : upstreamSessions(r.upstream);
  if (upstream === null) return undefined;
  const session: SharedSession = { owner: r.owner, capabilities: r.capabilities as Record<string, unknown> };
  if (typeof r.logLevel === 'string') session.logLevel = r.logLevel;
  if (upstream) session.upstream = upstream;
  return { session };
}

/** gateway name → upstream Mcp-Session-Id (visible ASCII, as the transport requires), or null when it is not that. */
function upstreamSessions(value: unknown): Record<string, string> | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 1000) return null;
  const out: Record<string, string> = {};
  for (const [gateway, id] of entries) {
    if (gateway === '__proto__' || gateway.length > 500 || typeof id !== 'string' || !/^[\x21-\x7e]{1,1000}$/.test(id)) return null;
    out[gateway] = id;
  }
  return out;
}
