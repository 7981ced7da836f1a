import type { Logger } from 'pino';
import type { createClient } from 'redis';
import { backgroundRedis, type RedisClient } from './redis-client.js';
import { LOG_LEVELS, type SessionDirectory, type SharedLookup, type SharedSession } from '../mcp/client-sessions.js';

/**
 * The client-session directory over Redis (REDIS_URL): one key per 2025 client session,
 * `<REDIS_CHANNEL_PREFIX>:session:<id>`, holding what another instance needs to serve it (owner,
 * declared capabilities, log level) or a tombstone once its client ended it, and a hash
 * `<REDIS_CHANNEL_PREFIX>:session:<id>:upstream` of its own upstream sessions' ids (gateway id →
 * Mcp-Session-Id, claimed with HSETNX so two instances never record two), both expiring after the
 * session's idle time. A request waits for Redis at most LOOKUP_TIMEOUT_MS (the initialize that
 * records a session, the lookup of one this instance does not hold, an upstream session id) and goes
 * on without it when Redis is away (served as before: without a session), never failing for it.
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

  async save(id: string, session: SharedSession, ttlMs: number): Promise<void> {
    const record = JSON.stringify({ v: 1, ...session });
    if (record.length > MAX_RECORD_BYTES) {
      this.logger.debug({ bytes: record.length }, 'client sessions: a session record too large to share');
      return;
    }
    await this.bounded(this.client.set(this.key(id), record, { PX: ttlMs }), undefined);
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    const [kept] = await Promise.all([this.bounded(this.client.pExpire(this.key(id), ttlMs), 1), this.bounded(this.client.pExpire(this.upstreamKey(id), ttlMs), 0)]);
    return Number(kept) === 1;
  }

  end(id: string, ttlMs: number): void {
    void this.bounded(this.client.set(this.key(id), JSON.stringify({ v: 1, ended: true }), { PX: ttlMs }), undefined);
    void this.bounded(this.client.del(this.upstreamKey(id)), 0);
  }

  async find(id: string): Promise<SharedLookup> {
    if (id.length > 200) return undefined;
    const raw = await this.bounded(this.client.get(this.key(id)), null);
    return typeof raw === 'string' ? parseRecord(raw) : undefined;
  }

  async upstream(id: string, gateway: string): Promise<string | undefined> {
    const value = await this.bounded(this.client.hGet(this.upstreamKey(id), gateway), null);
    return typeof value === 'string' && UPSTREAM_ID.test(value) ? value : undefined;
  }

  async claimUpstream(id: string, gateway: string, upstreamId: string, ttlMs: number): Promise<string | undefined> {
    const key = this.upstreamKey(id);
    const set = await this.bounded(this.client.hSetNX(key, gateway, upstreamId), undefined);
    if (set === undefined) return undefined;
    void this.bounded(this.client.pExpire(key, ttlMs), 0);
    return Number(set) === 1 ? upstreamId : ((await this.upstream(id, gateway)) ?? upstreamId);
  }

  dropUpstream(id: string, gateway: string, upstreamId: string): void {
    void this.bounded(this.client.eval(DROP_IF_SAME, { keys: [this.upstreamKey(id)], arguments: [gateway, upstreamId] }), 0);
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

  /** The session's upstream session ids, a hash of gateway id → Mcp-Session-Id. */
  private upstreamKey(id: string): string {
    return `${this.prefix}:session:${id}:upstream`;
  }

  /**
   * A command's answer, or `fallback` when Redis is away, the command fails, or it takes longer
   * than LOOKUP_TIMEOUT_MS: a request never waits longer for the directory, nor fails for it.
   */
  private async bounded<T, F>(command: Promise<T>, fallback: F): Promise<T | F> {
    if (this.closed || !this.client.isReady) {
      command.catch(() => undefined);
      return fallback;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<F>((resolve) => {
      timer = setTimeout(() => resolve(fallback), LOOKUP_TIMEOUT_MS);
    });
    try {
      return await Promise.race([
        command.catch((error: unknown) => {
          this.logger.debug({ err: (error as Error).message }, 'client sessions: a directory command failed');
          return fallback;
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Visible ASCII, as the transport requires of an Mcp-Session-Id. */
const UPSTREAM_ID = /^[\x21-\x7e]{1,1000}$/;

/** HDEL the field only while it still holds the id the caller found gone. */
const DROP_IF_SAME = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0`;

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
  const session: SharedSession = { owner: r.owner, capabilities: r.capabilities as Record<string, unknown> };
  if (typeof r.logLevel === 'string') session.logLevel = r.logLevel;
  return { session };
}
