import type { Logger } from 'pino';
import type { createClient } from 'redis';
import { backgroundRedis, type RedisClient } from './redis-client.js';

/**
 * Token-bucket rate limits (docs/access.md). A bucket holds up to `limit` tokens and refills at
 * `limit` per minute; a request takes one token from each of its buckets, or none when any is
 * empty. With REDIS_URL the buckets live in Redis and every instance shares them: one Lua script
 * checks and takes all of a request's buckets atomically, in one round trip, on Redis's clock.
 * Without Redis (or while it is unreachable) they live in this process.
 */

export interface Bucket {
  key: string;
  /** Tokens per minute, and the most the bucket holds. */
  limit: number;
  /** What the bucket limits, for metrics: principal, server or tool. */
  scope: string;
}

/** The wait in ms before the request could pass (0: it passed), and which bucket was empty. */
export interface Verdict {
  waitMs: number;
  scope?: string;
}

export interface Limiter {
  take(buckets: Bucket[]): Verdict | Promise<Verdict>;
  close(): Promise<void>;
}

const perMs = (limit: number) => limit / 60_000;

/** Buckets in this process (bounded: the least recently touched are dropped beyond 100 000). */
export class LocalLimiter implements Limiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  take(buckets: Bucket[], now = Date.now()): Verdict {
    let waitMs = 0;
    let scope: string | undefined;
    const states = buckets.map((b) => {
      const state = this.buckets.get(b.key);
      const tokens = state ? Math.min(b.limit, state.tokens + (now - state.at) * perMs(b.limit)) : b.limit;
      if (tokens < 1) {
        const wait = Math.ceil((1 - tokens) / perMs(b.limit));
        if (wait > waitMs) [waitMs, scope] = [wait, b.scope];
      }
      return tokens;
    });
    buckets.forEach((b, i) => {
      this.buckets.delete(b.key);
      if (this.buckets.size >= 100_000) this.buckets.delete(this.buckets.keys().next().value!);
      this.buckets.set(b.key, { tokens: states[i]! - (waitMs === 0 ? 1 : 0), at: now });
    });
    return waitMs === 0 ? { waitMs } : { waitMs, scope: scope! };
  }

  async close(): Promise<void> {}
}

/** Check and take every bucket of a request at once; returns {wait ms, index of the empty bucket (1-based) or 0}. */
export const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait, empty = 0, 0
local tokens = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i])
  local rate = limit / 60000
  local v = redis.call('HMGET', key, 'tokens', 'at')
  local have, at = tonumber(v[1]), tonumber(v[2])
  if have == nil then have, at = limit, now end
  have = math.min(limit, have + math.max(0, now - at) * rate)
  tokens[i] = have
  if have < 1 then
    local w = math.ceil((1 - have) / rate)
    if w > wait then wait, empty = w, i end
  end
end
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i])
  local left = tokens[i]
  if wait == 0 then left = left - 1 end
  redis.call('HSET', key, 'tokens', tostring(left), 'at', tostring(now))
  redis.call('PEXPIRE', key, 61000)
end
return {wait, empty}
`;

/** Buckets shared through Redis; falls back to this process's buckets while Redis is away. */
export class RedisLimiter implements Limiter {
  private readonly client: RedisClient;
  private readonly local = new LocalLimiter();
  private closed = false;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
    /** The redis package's createClient, loaded by the caller only when REDIS_URL is set. */
    connect: typeof createClient,
  ) {
    this.client = backgroundRedis(connect, url, logger, 'rate limits: redis is not reachable; counting in this process until it is back', () => this.closed);
  }

  take(buckets: Bucket[]): Verdict | Promise<Verdict> {
    if (!this.client.isReady) return this.local.take(buckets);
    return this.client
      .eval(TAKE_SCRIPT, { keys: buckets.map((b) => `${this.prefix}:${b.key}`), arguments: buckets.map((b) => String(b.limit)) })
      .then((answer) => {
        const [waitMs, empty] = (answer as number[]).map(Number) as [number, number];
        return waitMs > 0 ? { waitMs, scope: buckets[empty - 1]?.scope ?? 'principal' } : { waitMs: 0 };
      })
      .catch(() => this.local.take(buckets));
  }

  async close(): Promise<void> {
    this.closed = true;
    try {
      this.client.destroy();
    } catch {
      // never connected
    }
  }
}
