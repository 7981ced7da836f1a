/**
 * Failed-authentication throttle: counts refusals per key (a source address, a user name) in a
 * fixed window; once a key reaches the limit, further attempts are refused with 429 until the
 * window ends. Memory is bounded: beyond `maxKeys` the oldest keys are dropped.
 */
export class FailureThrottle {
  private readonly counts = new Map<string, { count: number; resetAt: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly maxKeys = 50_000,
  ) {}

  /** Seconds to wait when `key` is throttled, else 0. */
  retryAfter(key: string, now = Date.now()): number {
    const entry = this.counts.get(key);
    if (!entry) return 0;
    if (entry.resetAt <= now) {
      this.counts.delete(key);
      return 0;
    }
    return entry.count >= this.limit ? Math.max(1, Math.ceil((entry.resetAt - now) / 1000)) : 0;
  }

  fail(key: string, now = Date.now()): void {
    let entry = this.counts.get(key);
    if (!entry || entry.resetAt <= now) {
      if (this.counts.size >= this.maxKeys) this.counts.delete(this.counts.keys().next().value!);
      entry = { count: 0, resetAt: now + this.windowMs };
      this.counts.set(key, entry);
    }
    entry.count++;
  }
}
