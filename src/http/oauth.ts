import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { ProtectedResourceMetadata } from './access-routes.js';
import type { OAuthResource } from './auth.js';
import { PERMISSION_ROLES, type Permission, type Principal, type Role } from './permissions.js';

/**
 * The gateway as an OAuth 2.1 resource server for MCP clients (MCP authorization spec,
 * revisions 2025-06-18 on): access tokens come from an external authorization server
 * (OAUTH_ISSUER), found through RFC 8414 or OpenID Connect discovery; RFC 9728 metadata tells
 * clients where that is. Tokens are JWTs checked against the issuer's JWKS (fetched once, cached,
 * refetched when a new key id appears), for issuer, audience (RFC 8707; OAUTH_AUDIENCE, default
 * the gateway's URL), expiry and an asymmetric algorithm. The token stays at the gateway: the
 * upstream calls never carry it (they use their own configured credentials).
 */

export interface OAuthSettings {
  issuer: string;
  /** The audience tokens must carry; undefined: the gateway's URL, set once it listens. */
  audience: string | undefined;
  roleScopes: Record<Role, string>;
  serversClaim: string;
}

/** Asymmetric algorithms only: an HS-signed token cannot pass as the issuer's (no HS/RS confusion, no `none`). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Roles from most to least: a token with several role scopes acts as the highest. */
const RANK: Role[] = ['admin', 'editor', 'viewer', 'client'];

interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
}

export class OAuthResourceServer implements OAuthResource, ProtectedResourceMetadata {
  private discovery: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  private audience: string | undefined;

  constructor(
    private readonly settings: OAuthSettings,
    private readonly logger: Logger,
  ) {
    this.audience = settings.audience;
  }

  /** The gateway's own URL, the default audience (when OAUTH_AUDIENCE is unset). */
  listening(url: string): void {
    this.audience ??= url.replace(/\/+$/, '');
  }

  get resource(): string | undefined {
    return this.audience;
  }

  /** Fetch the issuer's metadata (RFC 8414, else OpenID discovery) and make its key set. Retried on the next call after a failure. */
  private keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    this.discovery ??= discover(this.settings.issuer).then(
      (metadata) => {
        this.logger.info({ issuer: metadata.issuer }, 'oauth: discovered the authorization server');
        return createRemoteJWKSet(new URL(metadata.jwks_uri), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
      },
      (error: unknown) => {
        this.discovery = undefined;
        this.logger.warn({ issuer: this.settings.issuer, err: (error as Error).message }, 'oauth: cannot discover the authorization server');
        throw error;
      },
    );
    return this.discovery;
  }

  /** Start discovery in the background (the first token would start it anyway). */
  start(): void {
    void this.keys().catch(() => undefined);
  }

  async verify(token: string): Promise<{ principal: Principal; scopes: string[]; until: number }> {
    if (!this.audience) throw new GatewayError('AUTH_INVALID', 'the gateway does not know its audience yet');
    const jwks = await this.keys();
    const { payload } = await jwtVerify(token, jwks, {
      issuer: this.settings.issuer,
      audience: this.audience,
      algorithms: ALGORITHMS,
      requiredClaims: ['exp'],
      clockTolerance: 5,
    });
    const scopes = scopesOf(payload);
    const role = RANK.find((r) => scopes.includes(this.settings.roleScopes[r])) ?? 'client';
    const claim = payload[this.settings.serversClaim];
    const servers = Array.isArray(claim) ? claim.filter((s): s is string => typeof s === 'string' && s.length > 0) : typeof claim === 'string' && claim ? claim.split(/[\s,]+/) : undefined;
    const subject = typeof payload.sub === 'string' ? payload.sub : typeof payload.client_id === 'string' ? payload.client_id : 'oauth-client';
    const principal: Principal = {
      subject,
      method: 'oauth',
      role: servers && servers.length > 0 ? 'client' : role,
      ...(servers && servers.length > 0 ? { servers } : {}),
      ...(typeof payload.jti === 'string' ? { tokenId: payload.jti } : {}),
    };
    return { principal, scopes, until: (payload.exp as number) * 1000 };
  }

  permits(scopes: string[], permission: Permission): boolean {
    if (permission === 'public') return true;
    return PERMISSION_ROLES[permission].some((role) => scopes.includes(this.settings.roleScopes[role]));
  }

  scopeFor(permission: Permission): string {
    if (permission === 'public') return '';
    const roles = PERMISSION_ROLES[permission];
    // The least role that will do: client for MCP, viewer for reading, and so on.
    const least = [...RANK].reverse().find((r) => roles.includes(r))!;
    return this.settings.roleScopes[least];
  }

  challenge(path: string, base: string, permission: Permission, error?: 'invalid_token' | 'insufficient_scope'): string {
    const metadata = `${base}/.well-known/oauth-protected-resource${mcpPath(path) ?? ''}`;
    const parts = ['Bearer realm="mcpgateway"', `resource_metadata="${metadata}"`, `scope="${this.scopeFor(permission === 'public' ? 'mcp' : permission)}"`];
    if (error) parts.push(`error="${error}"`);
    return parts.join(', ');
  }

  metadata(path: string, base: string): Record<string, unknown> | undefined {
    if (path !== '' && mcpPath(path) !== path) return undefined;
    return {
      resource: this.audience ?? base,
      authorization_servers: [this.settings.issuer],
      scopes_supported: RANK.map((r) => this.settings.roleScopes[r]).reverse(),
      bearer_methods_supported: ['header'],
      resource_name: 'MCP Gateway',
    };
  }
}

/** `/mcp` and `/servers/{name}/mcp` (and their SSE forms) have path-specific metadata; undefined otherwise. */
function mcpPath(path: string): string | undefined {
  const match = /^(\/servers\/[^/]+)?\/(mcp|sse|message)$/.exec(path);
  return match ? `${match[1] ?? ''}/mcp` : undefined;
}

function scopesOf(payload: JWTPayload): string[] {
  if (typeof payload.scope === 'string') return payload.scope.split(' ').filter(Boolean);
  if (Array.isArray(payload.scp)) return payload.scp.filter((s): s is string => typeof s === 'string');
  return [];
}

/** RFC 8414 metadata (path inserted after /.well-known/), else OpenID discovery; the issuer must match exactly. */
async function discover(issuer: string): Promise<IssuerMetadata> {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const candidates = [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
  let last = 'no answer';
  for (const candidate of candidates) {
    try {
      const res = await fetch(candidate, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000), redirect: 'error' });
      if (!res.ok) {
        last = `HTTP ${res.status} from ${candidate}`;
        await res.body?.cancel();
        continue;
      }
      const metadata = (await res.json()) as Partial<IssuerMetadata>;
      if (metadata.issuer !== issuer) throw new Error(`the metadata at ${candidate} names the issuer "${String(metadata.issuer).slice(0, 200)}", not "${issuer}"`);
      if (typeof metadata.jwks_uri !== 'string' || !/^https?:\/\//.test(metadata.jwks_uri)) throw new Error(`the metadata at ${candidate} has no jwks_uri`);
      return metadata as IssuerMetadata;
    } catch (error) {
      last = (error as Error).message;
      if (last.includes('names the issuer')) throw error;
    }
  }
  throw new Error(`cannot discover ${issuer}: ${last}`);
}
