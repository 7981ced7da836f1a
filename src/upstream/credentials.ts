import type { AuthCipher } from '../crypto/auth-value.js';
import type { CredentialRef } from '../domain/entities.js';
import { CredentialResolver, type ResolvedCredentials } from './credential-refs.js';
import { OAuth2Tokens, type OAuth2Config } from './oauth2.js';

export type { ResolvedCredentials } from './credential-refs.js';

/** Credentials as the store keeps them on a gateway, REST tool or server. */
export interface StoredAuth {
  auth_type: string;
  auth_value: string | null;
}

/** Where one outbound request's credentials come from: an env reference, or stored (encrypted) values. */
export interface CredentialSource {
  ref?: CredentialRef | null;
  stored?: StoredAuth | null;
}

/** A gateway's credentials as its connection uses them: fixed headers, or an OAuth 2.0 token per request. */
export interface GatewayCredentials {
  headers: Record<string, string>;
  /** query_param credentials (ContextForge's `auth_query_params`): added to the gateway's URL. */
  query?: Record<string, string>;
  bearer?: () => string | Promise<string>;
  refused?: () => void;
}

/**
 * The one place credentials become what a request carries (issue 10), for gateways, REST tools,
 * servers and `auth_ref`: none; basic, bearer and headers (decrypted header maps); oauth2 client
 * credentials (a token fetched from the token endpoint, cached, sent as Bearer); env references
 * (read from the environment at call time). Every resolved secret is listed so printers can mask it.
 */
export class UpstreamCredentials {
  private readonly refs: CredentialResolver;

  constructor(
    private readonly cipher: AuthCipher,
    env: NodeJS.ProcessEnv = process.env,
    readonly tokens: OAuth2Tokens = new OAuth2Tokens(),
  ) {
    this.refs = new CredentialResolver(env, tokens);
  }

  /** A REST tool's source: its `auth_ref`, else its own stored credentials, else its server's. */
  static forRestTool(tool: { auth_ref?: CredentialRef | null } & StoredAuth, server: StoredAuth | undefined): CredentialSource {
    if (tool.auth_ref) return { ref: tool.auth_ref };
    if (tool.auth_type !== 'none' && tool.auth_value) return { stored: tool };
    if (server && server.auth_type !== 'none' && server.auth_value) return { stored: server };
    return {};
  }

  /** True when resolving needs I/O (an env-referenced or stored oauth2 token may have to be fetched). */
  needsFetch(source: CredentialSource): boolean {
    return Boolean(source.ref) || source.stored?.auth_type === 'oauth2';
  }

  /** Resolve without I/O; throws for a source that needsFetch. */
  resolveSync(source: CredentialSource): ResolvedCredentials {
    const out: ResolvedCredentials = { headers: {}, query: {}, cookies: {}, secrets: [] };
    if (source.ref || !source.stored) {
      if (source.ref) throw new Error('credentials referenced from the environment are resolved asynchronously');
      return out;
    }
    const decoded = this.decode(source.stored);
    if (decoded.oauth2) throw new Error('oauth2 credentials are resolved asynchronously');
    for (const [key, value] of Object.entries(decoded.headers)) {
      out.headers[key.toLowerCase()] = value;
      out.secrets.push(value.replace(/^(Basic|Bearer) /i, ''));
    }
    return out;
  }

  /** Resolve a source: headers, query parameters and cookies to add, and the secret values. */
  async resolve(source: CredentialSource, signal?: AbortSignal): Promise<ResolvedCredentials> {
    if (source.ref) return this.refs.resolve(source.ref, signal);
    if (source.stored?.auth_type === 'oauth2') {
      const config = this.decode(source.stored).oauth2!;
      const token = await this.tokens.token(config);
      return { headers: { authorization: `Bearer ${token}` }, query: {}, cookies: {}, secrets: [token, config.client_secret] };
    }
    return this.resolveSync(source);
  }

  /** A gateway's credentials: oauth2 yields a token callback (refreshed on 401), the rest fixed headers. */
  gateway(fields: Record<string, unknown>): GatewayCredentials {
    const name = String(fields.name);
    const stored: StoredAuth = { auth_type: String(fields.auth_type ?? 'none'), auth_value: typeof fields.auth_value === 'string' ? fields.auth_value : null };
    if (stored.auth_type === 'oauth2' && fields.transport === 'stdio') throw new Error(`gateway "${name}": oauth2 applies to HTTP transports, not stdio`);
    const decoded = this.decode(stored, `gateway "${name}"`);
    if (decoded.oauth2) {
      const config = decoded.oauth2;
      return { headers: {}, bearer: () => this.tokens.token(config), refused: () => this.tokens.invalidate(config) };
    }
    // query_param: the decrypted map is sent as URL query parameters, not headers.
    if (stored.auth_type === 'query_param') return { headers: {}, query: decoded.headers };
    return { headers: decoded.headers };
  }

  /** Decrypt stored credentials into a header map or an oauth2 configuration. */
  private decode(stored: StoredAuth, label = 'the object'): { headers: Record<string, string>; oauth2?: OAuth2Config } {
    if (stored.auth_type === 'none' || !stored.auth_value) {
      if (stored.auth_type === 'oauth2') throw new Error(`${label} uses oauth2 without a token_url, client_id and client_secret`);
      return { headers: {} };
    }
    const payload = this.cipher.decrypt(stored.auth_value);
    if (stored.auth_type === 'oauth2') {
      if (typeof payload.token_url !== 'string' || typeof payload.client_id !== 'string' || typeof payload.client_secret !== 'string') {
        throw new Error(`${label} uses oauth2 without a token_url, client_id and client_secret`);
      }
      return { headers: {}, oauth2: payload as unknown as OAuth2Config };
    }
    return { headers: Object.fromEntries(Object.entries(payload).filter((e): e is [string, string] => typeof e[1] === 'string')) };
  }
}
