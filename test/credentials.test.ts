import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthCipher } from '../src/crypto/auth-value.js';
import type { CredentialRef } from '../src/domain/entities.js';
import { UpstreamCredentials } from '../src/upstream/credentials.js';
import { RestExecutor, type RestServer, type RestTool } from '../src/upstream/rest-executor.js';
import { restTool } from './helpers/rest-tool.js';

// One table of every auth_type, each sent by a real REST call to a loopback API that records what it got.
const cipher = new AuthCipher('credential-table-secret-0123456789abcdef');
let api: Server;
let base = '';
const seen: { headers: IncomingHttpHeaders; url: string }[] = [];
let tokenCalls = 0;

beforeAll(async () => {
  api = createServer((req, res) => {
    if (req.url === '/token') {
      tokenCalls++;
      let body = '';
      req.on('data', (c) => (body += String(c)));
      req.on('end', () => {
        const ok = req.headers.authorization === `Basic ${Buffer.from('cid:csecret').toString('base64')}` && body.includes('grant_type=client_credentials');
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ok ? { access_token: 'tok-from-endpoint', token_type: 'Bearer', expires_in: 3600 } : { error: 'invalid_client' }));
      });
      return;
    }
    seen.push({ headers: req.headers, url: req.url ?? '' });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => api.close(r));
});

const tool = (auth: Partial<RestTool>): RestTool => restTool(auth);
const server = (auth: Partial<RestServer> = {}): RestServer => ({ name: 's', url: base, headers: {}, auth_type: 'none', auth_value: null, ...auth });
const stored = (auth_type: RestTool['auth_type'], payload: Record<string, unknown>) => ({ auth_type, auth_value: cipher.encrypt(payload) });
const oauthPayload = () => ({ token_url: `${base}/token`, client_id: 'cid', client_secret: 'csecret' });
const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
const ENV = { TOK: 'env-token', USER: 'u', PASS: 'p', KEY: 'k-123', CID: 'cid', CSECRET: 'csecret' };

const CASES: { name: string; tool: () => Partial<RestTool>; server?: () => Partial<RestServer>; expect: (h: IncomingHttpHeaders, url: string) => void }[] = [
  { name: 'none', tool: () => ({}), expect: (h) => expect(h.authorization).toBeUndefined() },
  { name: 'basic (stored)', tool: () => stored('basic', { Authorization: basic }), expect: (h) => expect(h.authorization).toBe(basic) },
  { name: 'bearer (stored)', tool: () => stored('bearer', { Authorization: 'Bearer stored-tok' }), expect: (h) => expect(h.authorization).toBe('Bearer stored-tok') },
  { name: 'headers (stored)', tool: () => stored('headers', { 'X-Api-Key': 'hk', 'X-Other': 'o' }), expect: (h) => expect([h['x-api-key'], h['x-other']]).toEqual(['hk', 'o']) },
  { name: 'oauth2 (stored, the former hole)', tool: () => stored('oauth2', oauthPayload()), expect: (h) => expect(h.authorization).toBe('Bearer tok-from-endpoint') },
  { name: 'server bearer (stored on the server)', tool: () => ({}), server: () => stored('bearer', { Authorization: 'Bearer srv' }), expect: (h) => expect(h.authorization).toBe('Bearer srv') },
  { name: 'server oauth2 (stored on the server)', tool: () => ({}), server: () => stored('oauth2', oauthPayload()), expect: (h) => expect(h.authorization).toBe('Bearer tok-from-endpoint') },
  { name: "tool's own wins over the server's", tool: () => stored('bearer', { Authorization: 'Bearer mine' }), server: () => stored('bearer', { Authorization: 'Bearer srv' }), expect: (h) => expect(h.authorization).toBe('Bearer mine') },
  { name: 'auth_ref bearer (env)', tool: () => ({ auth_ref: { type: 'bearer', key: 'env:TOK' } as CredentialRef }), expect: (h) => expect(h.authorization).toBe('Bearer env-token') },
  { name: 'auth_ref basic (env)', tool: () => ({ auth_ref: { type: 'basic', username: 'env:USER', password: 'env:PASS' } as CredentialRef }), expect: (h) => expect(h.authorization).toBe(basic) },
  { name: 'auth_ref api_key in header (env)', tool: () => ({ auth_ref: { type: 'api_key', in: 'header', name: 'X-Key', key: 'env:KEY' } as CredentialRef }), expect: (h) => expect(h['x-key']).toBe('k-123') },
  { name: 'auth_ref api_key in query (env)', tool: () => ({ auth_ref: { type: 'api_key', in: 'query', name: 'key', key: 'env:KEY' } as CredentialRef }), expect: (_h, url) => expect(url).toBe('/x?key=k-123') },
  {
    name: 'auth_ref oauth2 (env)',
    tool: () => ({ auth_ref: { type: 'oauth2', flow: 'client_credentials', token_url: `${base}/token`, client_id: 'env:CID', client_secret: 'env:CSECRET', scopes: [] } as CredentialRef }),
    expect: (h) => expect(h.authorization).toBe('Bearer tok-from-endpoint'),
  },
];

describe('one credential resolver: every auth_type on a real REST call', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const executor = new RestExecutor(cipher, { defaultTimeoutMs: 5000, maxResponseBytes: 1 << 20, env: ENV });
      try {
        seen.length = 0;
        const result = await executor.call(tool(c.tool()), server(c.server?.() ?? {}), {});
        expect(result.isError, JSON.stringify(result)).toBeFalsy();
        expect(seen).toHaveLength(1);
        c.expect(seen[0]!.headers, seen[0]!.url);
      } finally {
        await executor.close();
      }
    });
  }

  it('fetches an oauth2 token once and reuses it until it expires', async () => {
    const executor = new RestExecutor(cipher, { defaultTimeoutMs: 5000, maxResponseBytes: 1 << 20 });
    try {
      const before = tokenCalls;
      const t = tool(stored('oauth2', oauthPayload()));
      for (let i = 0; i < 3; i++) expect((await executor.call(t, server(), {})).isError).toBeFalsy();
      expect(tokenCalls - before).toBe(1);
    } finally {
      await executor.close();
    }
  });

  it('reports a refused token request as a tool error naming the endpoint, never the secret', async () => {
    const executor = new RestExecutor(cipher, { defaultTimeoutMs: 5000, maxResponseBytes: 1 << 20 });
    try {
      const result = await executor.call(tool(stored('oauth2', { ...oauthPayload(), client_secret: 'wrong-secret-value' })), server(), {});
      expect(result.isError).toBe(true);
      expect(result.content[0]!.text).toContain('/token');
      expect(result.content[0]!.text).not.toContain('wrong-secret-value');
    } finally {
      await executor.close();
    }
  });

  it('gives gateways fixed headers, or a token callback for oauth2', async () => {
    const creds = new UpstreamCredentials(cipher);
    expect(creds.gateway({ name: 'g', auth_type: 'none', auth_value: null }).headers).toEqual({});
    expect(creds.gateway({ name: 'g', ...stored('headers', { 'X-Api-Key': 'hk' }) }).headers).toEqual({ 'X-Api-Key': 'hk' });
    const oauth = creds.gateway({ name: 'g', transport: 'streamablehttp', ...stored('oauth2', oauthPayload()) });
    expect(await oauth.bearer!()).toBe('tok-from-endpoint');
    expect(() => creds.gateway({ name: 'g', transport: 'stdio', ...stored('oauth2', oauthPayload()) })).toThrow(/not stdio/);
  });
});
