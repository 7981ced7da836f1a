import { createHash } from 'node:crypto';
import { Agent, request, type buildConnector, type Dispatcher } from 'undici';
import { tooLargeMessage } from './limits.js';

/** An oauth2 gateway's decrypted configuration (auth_oauth2). */
export interface OAuth2Config {
  token_url: string;
  client_id: string;
  client_secret: string;
  scope?: string;
}

interface Cached {
  token: string;
  /** When to fetch a new one (ms since the epoch): a little before the token expires. */
  refreshAt: number;
}

const TOKEN_TIMEOUT_MS = 10_000;
const MAX_TOKEN_RESPONSE = 64 * 1024;
/** Without expires_in, a token is reused for this long. */
const DEFAULT_LIFETIME_S = 300;

/**
 * OAuth 2.0 client-credentials tokens for upstream gateways (RFC 6749 §4.4): fetched from the
 * token endpoint with the client id and secret (HTTP Basic, client_secret_basic), cached until
 * shortly before `expires_in`, shared by concurrent callers. Errors name the token endpoint and
 * the HTTP status or OAuth error code, never the secret or the token.
 */
export class OAuth2Tokens {
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly dispatcher: Dispatcher | undefined;
  private readonly maxBytes: number;

  /**
   * `connect`: the outbound policy's connector (UPSTREAM_ALLOW / UPSTREAM_DENY), checked on the
   * token endpoint's resolved address. `maxResponseBytes`: MAX_RESPONSE_BYTES (token answers are
   * read up to the smaller of it and 64 KiB).
   */
  constructor(options: { connect?: buildConnector.connector; maxResponseBytes?: number } = {}) {
    this.dispatcher = options.connect ? new Agent({ connect: options.connect }) : undefined;
    this.maxBytes = Math.min(MAX_TOKEN_RESPONSE, options.maxResponseBytes ?? MAX_TOKEN_RESPONSE);
  }

  /** A valid access token: the cached one synchronously, else a promise of a fresh one. */
  token(config: OAuth2Config): string | Promise<string> {
    const key = cacheKey(config);
    const cached = this.cache.get(key);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetch(config, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Forget a token the upstream refused (401), so the next call fetches a new one. */
  invalidate(config: OAuth2Config): void {
    this.cache.delete(cacheKey(config));
  }

  private async fetch(config: OAuth2Config, key: string): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (config.scope) form.set('scope', config.scope);
    const basic = Buffer.from(`${encodeURIComponent(config.client_id)}:${encodeURIComponent(config.client_secret)}`).toString('base64');
    const where = `the token endpoint ${safeUrl(config.token_url)}`;
    let status: number;
    let text: string;
    try {
      const res = await request(config.token_url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}` },
        body: form.toString(),
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
      status = res.statusCode;
      text = await readLimited(res.body, this.maxBytes);
    } catch (error) {
      const e = error as { name?: string; message?: string; code?: string };
      const denied = (e as { cause?: { code?: string; message?: string } }).cause;
      const why =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `no answer within ${TOKEN_TIMEOUT_MS} ms`
          : e.code === 'UPSTREAM_DENIED' || e.message?.includes('UPSTREAM_REPLY_TOO_LARGE')
            ? (e.message ?? '').slice(0, 300)
            : denied?.code === 'UPSTREAM_DENIED'
              ? (denied.message ?? '').slice(0, 300)
              : (e.code ?? e.message ?? 'request failed').slice(0, 200);
      throw new Error(`oauth2: cannot reach ${where}: ${why}`);
    }
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      // reported below
    }
    if (status >= 400) {
      const code = typeof body.error === 'string' ? ` (${body.error.slice(0, 100)})` : '';
      throw new Error(`oauth2: ${where} refused the client credentials: HTTP ${status}${code}`);
    }
    const token = body.access_token;
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) throw new Error(`oauth2: ${where} answered without an access_token`);
    const type = typeof body.token_type === 'string' ? body.token_type.toLowerCase() : 'bearer';
    if (type !== 'bearer') throw new Error(`oauth2: ${where} issued a "${type.slice(0, 40)}" token; only bearer tokens are supported`);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_LIFETIME_S;
    // Refresh ahead of expiry: 30 s early, or half the lifetime for short-lived tokens.
    const margin = Math.min(30, lifetime / 2);
    this.cache.set(key, { token, refreshAt: Date.now() + (lifetime - margin) * 1000 });
    return token;
  }
}

function cacheKey(config: OAuth2Config): string {
  return createHash('sha256').update(JSON.stringify([config.token_url, config.client_id, config.client_secret, config.scope ?? ''])).digest('base64url');
}

/** The token URL without credentials or query, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy?: () => void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy?.();
      throw new Error(tooLargeMessage('the token response', max));
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
