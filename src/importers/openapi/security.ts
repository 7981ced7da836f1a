import type { CredentialRef } from '../../domain/entities.js';
import { envName } from './names.js';
import type { Pointers } from './schemas.js';

/** OpenAPI `security` → the credential reference a capability carries (never a credential). */

type Json = Record<string, unknown>;

export interface AuthContext {
  pointers: Pointers;
  /** Security schemes by name (`components.securitySchemes` or Swagger `securityDefinitions`). */
  schemes: Json;
  /** The document's own `security`, used when an operation has none. */
  documentSecurity: unknown;
  /** Start of every environment variable name (the prefix, else the API title). */
  envPrefix: string;
  /** `--auth-key env:VAR`: the token or key for every operation that needs one. */
  authKey?: string;
}

export interface AuthResult {
  ref: CredentialRef | null;
  /** The other schemes of an AND-combined requirement, all sent together with `ref`. */
  also?: CredentialRef[];
  /** Why the mapping is not exact (a scheme that cannot be configured, an unsupported type). */
  note?: string;
}

/**
 * The auth of one operation: its `security`, else the document's; `security: []` means none.
 * Requirements are alternatives (OR); the schemes inside one are required together (AND), so the
 * first requirement whose every scheme can be configured is taken whole.
 */
export function authFor(operationSecurity: unknown, ctx: AuthContext): AuthResult {
  const requirements = operationSecurity !== undefined ? operationSecurity : ctx.documentSecurity;
  if (requirements === undefined || requirements === null) {
    // Nothing declared anywhere: --auth-key still applies, as a bearer token.
    return ctx.authKey && operationSecurity === undefined ? { ref: { type: 'bearer', key: ctx.authKey } } : { ref: null };
  }
  if (!Array.isArray(requirements) || requirements.length === 0) return { ref: null };
  const notes: string[] = [];
  let partial: AuthResult | undefined;
  for (const requirement of requirements) {
    if (requirement === null || typeof requirement !== 'object') continue;
    const names = Object.keys(requirement);
    // `{}` among the alternatives: anonymous access is allowed.
    if (names.length === 0) return { ref: null };
    const refs: CredentialRef[] = [];
    const missing: string[] = [];
    const own: string[] = [];
    for (const name of names) {
      const scopes = (requirement as Json)[name];
      const mapped = mapScheme(name, Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : [], ctx);
      if (mapped.ref) refs.push(mapped.ref);
      else missing.push(name);
      if (mapped.note) own.push(mapped.note);
    }
    const clash = sharedTarget(refs);
    if (clash) own.push(`requires ${names.join(' and ')} together, which both set ${clash}`);
    if (refs.length > 0 && missing.length === 0 && !clash) {
      const result: AuthResult = { ref: refs[0]!, ...(refs.length > 1 ? { also: refs.slice(1) } : {}) };
      return own.length > 0 ? { ...result, note: own.join('; ') } : result;
    }
    notes.push(...own);
    if (refs.length > 0 && !partial) {
      partial = { ref: refs[0]!, ...(refs.length > 1 && !clash ? { also: refs.slice(1) } : {}) };
      if (missing.length > 0) notes.push(`requires ${names.join(' and ')} together; ${missing.join(' and ')} cannot be configured`);
    }
  }
  if (partial) return { ...partial, note: notes.join('; ') };
  return notes.length > 0 ? { ref: null, note: notes.join('; ') } : { ref: null };
}

/** Does the auth fill the `authorization` header (so an `authorization` header parameter is covered)? */
export function coversAuthorization(auth: AuthResult): boolean {
  return [auth.ref, ...(auth.also ?? [])].some((ref) => ref !== null && (ref.type !== 'api_key' || (ref.in === 'header' && ref.name.toLowerCase() === 'authorization')));
}

/** Two credentials that go to the same header, query parameter or cookie cannot both be sent. */
function sharedTarget(refs: CredentialRef[]): string | undefined {
  const seen = new Set<string>();
  for (const ref of refs) {
    const target = ref.type === 'api_key' ? `${ref.in} ${ref.in === 'header' ? ref.name.toLowerCase() : ref.name}` : 'header authorization';
    if (seen.has(target)) return target;
    seen.add(target);
  }
  return undefined;
}

function mapScheme(name: string, scopes: string[], ctx: AuthContext): AuthResult {
  let scheme: unknown;
  try {
    scheme = ctx.pointers.deref(ctx.schemes[name], `security scheme ${name}`);
  } catch {
    scheme = undefined;
  }
  if (scheme === null || typeof scheme !== 'object') return { ref: null, note: `security scheme "${name}" is not defined` };
  const s = scheme as Json;
  const env = (...suffix: string[]) => `env:${envName(ctx.envPrefix, name, ...suffix)}`;
  const key = ctx.authKey ?? env();
  const type = String(s.type ?? '');
  const httpScheme = typeof s.scheme === 'string' ? s.scheme.toLowerCase() : '';
  if ((type === 'http' && httpScheme === 'bearer') || type === 'openIdConnect') {
    return { ref: { type: 'bearer', key }, ...(type === 'openIdConnect' ? { note: `"${name}" is OpenID Connect: supply an access token` } : {}) };
  }
  if ((type === 'http' && httpScheme === 'basic') || type === 'basic') {
    return { ref: { type: 'basic', username: env('USERNAME'), password: env('PASSWORD') } };
  }
  if (type === 'apiKey') {
    const where = s.in === 'query' || s.in === 'cookie' ? s.in : 'header';
    const keyName = typeof s.name === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/.test(s.name) ? s.name : undefined;
    if (!keyName) return { ref: null, note: `api key scheme "${name}" has no usable name` };
    return { ref: { type: 'api_key', in: where, name: keyName, key } };
  }
  if (type === 'oauth2') {
    const tokenUrl = clientCredentialsTokenUrl(s);
    if (tokenUrl && !ctx.authKey) {
      return { ref: { type: 'oauth2', flow: 'client_credentials', token_url: tokenUrl, client_id: env('CLIENT_ID'), client_secret: env('CLIENT_SECRET'), scopes } };
    }
    return { ref: { type: 'bearer', key }, note: `"${name}" is OAuth 2.0 without a usable client-credentials flow: supply an access token` };
  }
  if (type === 'http') return { ref: null, note: `HTTP auth scheme "${httpScheme}" of "${name}" is not supported` };
  return { ref: null, note: `security scheme type "${type}" of "${name}" is not supported` };
}

/** The token URL of a client-credentials flow (OpenAPI `flows.clientCredentials`, Swagger `flow: application`). */
function clientCredentialsTokenUrl(s: Json): string | undefined {
  const flows = s.flows as Json | undefined;
  const cc = flows?.clientCredentials as Json | undefined;
  const url = cc?.tokenUrl ?? (s.flow === 'application' ? s.tokenUrl : undefined);
  return typeof url === 'string' && /^https?:\/\/[^\s@]+$/i.test(url) ? url : undefined;
}
