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
    ],
    jwks: { keys: [privateJwk] },
    scopes: SCOPES,
    features: {
      devInteractions: { enabled: false },
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
