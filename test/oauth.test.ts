import { Client, ClientCredentialsProvider, StreamableHTTPClientTransport, UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/client';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startHttp, type TestHttp } from './helpers/mcp.js';
import { startIssuer, type TestIssuer } from './helpers/oidc.js';
import { STORES } from './helpers/stores.js';

const ACCEPT = 'application/json, text/event-stream';

// The gateway as an OAuth 2.1 resource server, against a real OpenID provider (oidc-provider)
// started here on loopback, and the MCP SDK client doing discovery and the token request itself.
describe('OAuth 2.1 resource server', () => {
  let idp: TestIssuer;
  let other: TestIssuer;
  let gw: TestGateway;
  let upstream: TestHttp;

  beforeAll(async () => {
    idp = await startIssuer();
    other = await startIssuer();
    upstream = await startHttp((_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    gw = await startTestGateway(STORES[0]!, { OAUTH_ISSUER: idp.issuer });
    idp.setDefaultResource(gw.url);
    other.setDefaultResource(gw.url);
    expect((await gw.api('/tools', { method: 'POST', body: { name: 'hello', url: `${upstream.url}/hello`, request_type: 'POST' } })).status).toBe(201);
    expect((await gw.api('/tools', { method: 'POST', body: { name: 'other-tool', url: `${upstream.url}/other`, request_type: 'POST' } })).status).toBe(201);
    expect((await gw.api('/servers', { method: 'POST', body: { name: 'team', tools: ['hello'] } })).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await idp?.close();
    await other?.close();
  });

  const mcp = (path: string, token?: string) =>
    fetch(gw.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });

  const bearerChallenge = (res: Response) => (res.headers.get('www-authenticate') ?? '').split(/,\s*(?=Bearer )/).find((c) => c.startsWith('Bearer')) ?? '';

  it('answers 401 with a Bearer challenge naming the protected-resource metadata and the scope', async () => {
    const res = await mcp('/mcp');
    expect(res.status).toBe(401);
    const challenge = bearerChallenge(res);
    expect(challenge).toContain(`resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`);
    expect(challenge).toContain('scope="mcp"');
    const server = bearerChallenge(await mcp('/servers/team/mcp'));
    expect(server).toContain(`resource_metadata="${gw.url}/.well-known/oauth-protected-resource/servers/team/mcp"`);
  });

  it('serves RFC 9728 metadata for the gateway, /mcp and a virtual server, without credentials', async () => {
    for (const path of ['', '/mcp', '/servers/team/mcp']) {
      const res = await fetch(`${gw.url}/.well-known/oauth-protected-resource${path}`);
      expect(res.status, path).toBe(200);
      expect(await res.json()).toMatchObject({ resource: gw.url, authorization_servers: [idp.issuer], scopes_supported: expect.arrayContaining(['mcp']), bearer_methods_supported: ['header'] });
    }
    expect((await fetch(`${gw.url}/.well-known/oauth-protected-resource/tools`)).status).toBe(404);
    // The gateway is no authorization server.
    expect((await fetch(`${gw.url}/.well-known/oauth-authorization-server`)).status).toBe(404);
  });

  it('lets the SDK client discover the issuer, get a token by client credentials, list and call tools; the token never goes upstream', async () => {
    const provider = new ClientCredentialsProvider({ clientId: idp.client.id, clientSecret: idp.client.secret, scope: 'mcp', expectedIssuer: idp.issuer });
    const client = new Client({ name: 'oauth-agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { authProvider: provider }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['hello', 'other-tool']);
      const result = await client.callTool({ name: 'hello', arguments: {} });
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    const token = provider.tokens()?.access_token;
    expect(token).toBeTruthy();
    const seen = upstream.requests.filter((r) => r.url === '/hello');
    expect(seen.length).toBeGreaterThan(0);
    for (const r of seen) {
      expect(r.headers.authorization).toBeUndefined();
      expect(JSON.stringify(r)).not.toContain(token!);
    }
  });

  it('lets the SDK client sign a user in by authorization code with PKCE, driven through the provider\'s pages', async () => {
    let authorizationUrl: URL | undefined;
    let verifier = '';
    let tokens: Awaited<ReturnType<OAuthClientProvider['tokens']>>;
    const provider: OAuthClientProvider = {
      get redirectUrl() {
        return idp.publicClient.redirectUri;
      },
      get clientMetadata() {
        return { client_name: 'desktop', redirect_uris: [idp.publicClient.redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none', scope: 'mcp' };
      },
      clientInformation: () => ({ client_id: idp.publicClient.id, issuer: idp.issuer }),
      tokens: () => tokens,
      saveTokens: (t) => void (tokens = t),
      redirectToAuthorization: (url) => void (authorizationUrl = url),
      saveCodeVerifier: (v) => void (verifier = v),
      codeVerifier: () => verifier,
    };
    const url = new URL(`${gw.url}/servers/team/mcp`);
    const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
    await expect(new Client({ name: 'desktop', version: '1' }).connect(first)).rejects.toThrow(UnauthorizedError);
    expect(authorizationUrl?.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl?.searchParams.get('resource')).toBe(gw.url);
    const callback = await idp.signIn(authorizationUrl!, 'alice');
    expect(callback.get('code')).toBeTruthy();
    await first.finishAuth(callback);
    const client = new Client({ name: 'desktop', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['hello']);
      expect((await client.callTool({ name: 'hello', arguments: {} })).isError).toBeFalsy();
    } finally {
      await client.close();
    }
    const claims = JSON.parse(Buffer.from(tokens!.access_token.split('.')[1]!, 'base64url').toString()) as { sub: string; aud: string };
    expect(claims).toMatchObject({ sub: 'alice', aud: gw.url });
  });

  it('accepts a token with the mcp scope on /mcp and on a virtual server', async () => {
    const token = await idp.token({ scope: 'mcp', resource: gw.url });
    expect((await mcp('/mcp', token)).status).toBe(200);
    expect((await mcp('/servers/team/mcp', token)).status).toBe(200);
  });

  it('answers 403 insufficient_scope, naming the scope, to a token without the needed one', async () => {
    const viewer = await idp.token({ scope: 'mcpgateway:viewer', resource: gw.url });
    const res = await mcp('/mcp', viewer);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('INSUFFICIENT_SCOPE');
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="mcp"');
    // The viewer scope does read configuration; writing needs the editor scope.
    expect((await fetch(`${gw.url}/tools`, { headers: { authorization: `Bearer ${viewer}` } })).status).toBe(200);
    const write = await fetch(`${gw.url}/tools`, { method: 'POST', headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' }, body: '{}' });
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toContain('scope="mcpgateway:editor"');
  });

  describe('refuses with 401 invalid_token', () => {
    const sign = async (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => {
      const key = await importJWK(idp.privateJwk, 'RS256');
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ scope: 'mcp', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: idp.privateJwk.kid!, ...header })
        .setIssuer(String(claims.iss ?? idp.issuer))
        .setAudience(String(claims.aud ?? gw.url))
        .setIssuedAt(now - 60)
        .setExpirationTime(Number(claims.exp ?? now + 300))
        .sign(key);
    };
    const unsigned = (payload: Record<string, unknown>) =>
      `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;

    const cases: [string, () => Promise<string>][] = [
      ['a token for another resource (wrong audience)', () => idp.token({ scope: 'mcp', resource: 'http://127.0.0.1:9/another-api' })],
      ['a token from another issuer', () => other.token({ scope: 'mcp', resource: gw.url })],
      ['a token naming another issuer, signed with the right key', () => sign({ iss: 'http://127.0.0.1:9/not-the-issuer' })],
      ['an expired token', () => sign({ exp: Math.floor(Date.now() / 1000) - 120 })],
      ['alg none', async () => unsigned({ iss: idp.issuer, aud: gw.url, scope: 'mcp', exp: Math.floor(Date.now() / 1000) + 300 })],
      [
        'HS256 signed with the issuer\'s public key (HS/RS confusion)',
        async () => {
          const now = Math.floor(Date.now() / 1000);
          return new SignJWT({ scope: 'mcp' })
            .setProtectedHeader({ alg: 'HS256', kid: idp.privateJwk.kid! })
            .setIssuer(idp.issuer)
            .setAudience(gw.url)
            .setExpirationTime(now + 300)
            .sign(new TextEncoder().encode(idp.publicPem));
        },
      ],
      ['a tampered signature', async () => {
        const good = await idp.token({ scope: 'mcp', resource: gw.url });
        const [h, p] = good.split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
        return `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'mcp mcpgateway:admin' })).toString('base64url')}.${good.split('.')[2]}`;
      }],
    ];

    it.each(cases)('%s', async (_label, make) => {
      const token = await make();
      const res = await mcp('/mcp', token);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('AUTH_INVALID');
      const challenge = bearerChallenge(res);
      expect(challenge).toContain('error="invalid_token"');
      expect(challenge).toContain('resource_metadata=');
    });

    it('a control: the same signer with the right claims is accepted', async () => {
      expect((await mcp('/mcp', await sign({}))).status).toBe(200);
    });
  });

  it('maps a servers claim to a client limited to those servers', async () => {
    const key = await importJWK(idp.privateJwk, 'RS256');
    const token = await new SignJWT({ scope: 'mcp', mcp_servers: ['team'] })
      .setProtectedHeader({ alg: 'RS256', kid: idp.privateJwk.kid! })
      .setIssuer(idp.issuer)
      .setAudience(gw.url)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
      .sign(key);
    expect((await mcp('/servers/team/mcp', token)).status).toBe(200);
    expect((await mcp('/mcp', token)).status).toBe(403);
  });
});
