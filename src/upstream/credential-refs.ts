import type { CredentialRef } from '../domain/entities.js';
import { GATEWAY_VARIABLES } from '../domain/env-refs.js';

/**
 * Credentials referenced as `env:VAR` (capability files, `auth_ref`): read from the environment
 * when a call is made, and OAuth 2.0 client-credentials tokens fetched and cached until they expire.
 */

/** Where the credentials go on one request, and the secret values (so printers can mask them). */
export interface ResolvedCredentials {
  headers: Record<string, string>;
  query: Record<string, string>;
  cookies: Record<string, string>;
  secrets: string[];
}

/** POST a form to a token endpoint: status and body text. */
export type TokenRequest = (url: URL, form: string, headers: Record<string, string>, signal: AbortSignal) => Promise<{ status: number; text: string }>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Refresh a token this long before it expires. */
const EARLY_REFRESH_MS = 30_000;
const TOKEN_TIMEOUT_MS = 10_000;

export class CredentialResolver {
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly post: TokenRequest,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Resolve a reference; a missing variable or a refused token request throws a plain message. */
  async resolve(ref: CredentialRef, signal?: AbortSignal): Promise<ResolvedCredentials> {
    const out: ResolvedCredentials = { headers: {}, query: {}, cookies: {}, secrets: [] };
    if (ref.type === 'bearer') {
      const token = this.read(ref.key, out);
      out.headers.authorization = `Bearer ${token}`;
    } else if (ref.type === 'basic') {
      const user = this.read(ref.username, out);
      const password = this.read(ref.password, out);
      const encoded = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
      out.secrets.push(encoded);
      out.headers.authorization = `Basic ${encoded}`;
    } else if (ref.type === 'api_key') {
      const key = this.read(ref.key, out);
      if (ref.in === 'header') out.headers[ref.name.toLowerCase()] = key;
      else if (ref.in === 'query') out.query[ref.name] = key;
      else out.cookies[ref.name] = key;
    } else {
      const token = await this.clientCredentialsToken(ref, out, signal);
      out.secrets.push(token);
      out.headers.authorization = `Bearer ${token}`;
    }
    return out;
  }

  private read(reference: string, out: ResolvedCredentials): string {
    const name = reference.replace(/^env:/, '');
    if (GATEWAY_VARIABLES.has(name)) throw new Error(`${reference} is one of the gateway's own settings and is never sent to an API`);
    const value = this.env[name];
    if (value === undefined || value === '') throw new Error(`the environment variable ${name} (${reference}) is not set`);
    if (/[\r\n\u0000]/.test(value)) throw new Error(`the environment variable ${name} holds a line break`);
    out.secrets.push(value);
    return value;
  }

  private async clientCredentialsToken(ref: Extract<CredentialRef, { type: 'oauth2' }>, out: ResolvedCredentials, signal?: AbortSignal): Promise<string> {
    const id = this.read(ref.client_id, out);
    const secret = this.read(ref.client_secret, out);
    const key = `${ref.token_url}\u0000${id}\u0000${ref.scopes.join(' ')}`;
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (ref.scopes.length > 0) form.set('scope', ref.scopes.join(' '));
    // RFC 6749 §2.3.1: client credentials in HTTP Basic, each form-urlencoded first.
    const basic = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
    out.secrets.push(basic);
    const timeout = AbortSignal.timeout(TOKEN_TIMEOUT_MS);
    const response = await this.post(
      new URL(ref.token_url),
      form.toString(),
      { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      signal ? AbortSignal.any([signal, timeout]) : timeout,
    );
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown } = {};
    try {
      body = JSON.parse(response.text) as typeof body;
    } catch {
      // reported below
    }
    if (response.status >= 400 || typeof body.access_token !== 'string' || !body.access_token) {
      const reason = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
      throw new Error(`the token endpoint ${ref.token_url} refused the client credentials (${reason})`);
    }
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : 300_000;
    this.tokens.set(key, { token: body.access_token, expiresAt: Date.now() + Math.max(0, lifetime - EARLY_REFRESH_MS) });
    return body.access_token;
  }
}
