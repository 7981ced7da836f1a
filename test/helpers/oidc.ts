import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider (`oidc-provider` from npm) on loopback, for the OAuth tests: client
 * credentials, JWT access tokens signed RS256, resource indicators (RFC 8707) giving each token
 * the audience the client asked for.
 */
export interface TestIssuer {
  issuer: string;
  /** The private signing key (JWK), for tokens the provider would never issue (expired, other issuer). */
  privateJwk: JWK;
  publicPem: string;
  client: { id: string; secret: string };
  /** A public client (PKCE, no secret) whose redirect URI the tests catch without serving it. */
  publicClient: { id: string; redirectUri: string };
  /**
   * Play the user at the provider's own sign-in and consent pages (devInteractions): follow
   * redirects with a cookie jar, submit each form; answers the callback's query.
   */
  signIn(authorizationUrl: URL, login: string): Promise<URLSearchParams>;
  /** The resource a token gets when the client names none. */
  setDefaultResource(url: string): void;
  /** A token straight from the token endpoint (client credentials). */
  token(options: { scope: string; resource?: string }): Promise<string>;
  close(): Promise<void>;
}

export const SCOPES = ['mcp', 'mcpgateway:viewer', 'mcpgateway:editor', 'mcpgateway:admin'];

export async function startIssuer(): Promise<TestIssuer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const { exportSPKI } = await import('jose');
  const publicPem = await exportSPKI(publicKey);
  const client = { id: 'mcp-agent', secret: 'mcp-agent-secret-0123456789abcdef' };
  const publicClient = { id: 'desktop-app', redirectUri: 'http://127.0.0.1:9/callback' };
  let defaultResource = 'http://127.0.0.1/unset';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.id,
        client_secret: client.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: SCOPES.join(' '),
      },
      {
        client_id: publicClient.id,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [publicClient.redirectUri],
        scope: SCOPES.join(' '),
      },
    ],
    pkce: { required: () => true },
    jwks: { keys: [privateJwk] },
    scopes: SCOPES,
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => defaultResource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: SCOPES.join(' '), accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
  } as never);
  server.on('request', provider.callback());
  return {
    issuer,
    privateJwk,
    publicPem,
    client,
    publicClient,
    async signIn(authorizationUrl, login) {
      const jar = new Map<string, string>();
      const go = async (target: string, init: RequestInit = {}) => {
        const res = await fetch(target, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
        for (const cookie of res.headers.getSetCookie()) {
          const pair = cookie.split(';', 1)[0]!;
          const eq = pair.indexOf('=');
          jar.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        return res;
      };
      let res = await go(authorizationUrl.href);
      for (let step = 0; step < 12; step++) {
        const location = res.headers.get('location');
        if (location) {
          await res.body?.cancel();
          const next = new URL(location, issuer);
          if (next.href.startsWith(publicClient.redirectUri)) return next.searchParams;
          res = await go(next.href);
          continue;
        }
        const html = await res.text();
        const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
        const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
        if (!action || !prompt) throw new Error(`unexpected page (HTTP ${res.status}): ${html.replace(/\s+/g, ' ').slice(0, 400)}`);
        const form = new URLSearchParams({ prompt, ...(prompt === 'login' ? { login, password: 'any' } : {}) });
        res = await go(new URL(action.replaceAll('&amp;', '&'), issuer).href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      }
      throw new Error('the sign-in did not reach the redirect URI');
    },
    setDefaultResource: (url) => void (defaultResource = url),
    async token({ scope, resource }) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', scope });
      if (resource) body.set('resource', resource);
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const answer = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!answer.access_token) throw new Error(`token endpoint: ${answer.error}: ${answer.error_description}`);
      return answer.access_token;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
