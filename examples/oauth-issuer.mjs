// A local OpenID provider for trying the gateway's OAuth support (docs/access.md):
//   node examples/oauth-issuer.mjs            # issuer http://127.0.0.1:3000
// Client "mcp-agent" / secret "mcp-agent-secret-change-me" may get client-credentials tokens for
// the scopes mcp, mcpgateway:viewer, mcpgateway:editor, mcpgateway:admin, as RS256 JWTs whose
// audience is the `resource` asked for (RFC 8707), default GATEWAY_URL (http://127.0.0.1:4444).
// Uses oidc-provider (a dev dependency of this repository); for trying out only.
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.ISSUER_PORT ?? 3000);
const issuer = `http://127.0.0.1:${port}`;
const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:4444';
const scopes = ['mcp', 'mcpgateway:viewer', 'mcpgateway:editor', 'mcpgateway:admin'];
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const provider = new Provider(issuer, {
  clients: [{ client_id: 'mcp-agent', client_secret: 'mcp-agent-secret-change-me', grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: scopes.join(' ') }],
  jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'example-key', alg: 'RS256', use: 'sig' }] },
  scopes,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => gateway,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: scopes.join(' '), accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
    },
  },
});
createServer(provider.callback()).listen(port, '127.0.0.1', () => console.log(`issuer ${issuer} (tokens for ${gateway})`));
