import type { CredentialRef } from '../domain/entities.js';
import { GATEWAY_VARIABLES } from '../domain/env-refs.js';
import { OAuth2Tokens } from './oauth2.js';

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

export class CredentialResolver {
  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly tokens: OAuth2Tokens = new OAuth2Tokens(),
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
      const id = this.read(ref.client_id, out);
      const secret = this.read(ref.client_secret, out);
      // Shared with oauth2 gateways: one fetch per client, cached until shortly before expiry.
      const scope = ref.scopes.join(' ');
      const token = await untilAborted(this.tokens.token({ token_url: ref.token_url, client_id: id, client_secret: secret, ...(scope ? { scope } : {}) }), signal);
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
}

/** Wait for a value, but stop waiting (not the work, which others may share) when the call is cancelled. */
function untilAborted<T>(value: T | Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return Promise.resolve(value);
  if (signal.aborted) return Promise.reject(new Error('the call was cancelled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('the call was cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(value)
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}
