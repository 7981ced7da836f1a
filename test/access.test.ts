import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/cli/token.js';
import { allows, ROLES, ROUTE_RULES, type Permission, type Role } from '../src/http/permissions.js';
import { ADMIN, JWT_SECRET, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startHttp, type TestHttp } from './helpers/mcp.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ACCEPT = 'application/json, text/event-stream';

/** The route table in docs/access.md: `| \`METHOD\` | \`/path\` | permission |`. */
function documentedRules(): Record<string, string> {
  const doc = readFileSync(new URL('../docs/access.md', import.meta.url), 'utf8');
  return Object.fromEntries([...doc.matchAll(/^\| `([A-Z]+)` \| `([^`]+)` \| (\w+) \|/gm)].map((m) => [`${m[1]} ${m[2]}`, m[3]!]));
}

/** Seed both stores alike: tools in two virtual servers, a prompt and a resource each. */
async function seed(gw: TestGateway, api: TestHttp) {
  const create = async (kind: string, body: unknown) => {
    const res = await gw.api(`/${kind}`, { method: 'POST', body });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: string };
  };
  await create('tools', { name: 'a-echo', url: `${api.url}/a`, request_type: 'POST' });
  await create('tools', { name: 'b-secret', url: `${api.url}/b`, request_type: 'POST' });
  await create('prompts', { name: 'a-prompt', template: 'A' });
  await create('prompts', { name: 'b-prompt', template: 'B' });
  await create('resources', { uri: 'memo://a', text: 'A' });
  await create('resources', { uri: 'memo://b', text: 'B' });
  const a = await create('servers', { name: 'team-a', tools: ['a-echo'], prompts: ['a-prompt'], resources: ['memo://a'] });
  const b = await create('servers', { name: 'team-b', tools: ['b-secret'], prompts: ['b-prompt'], resources: ['memo://b'] });
  return { a: a.id, b: b.id };
}

async function storedToken(gw: TestGateway, body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const res = await gw.api('/tokens', { method: 'POST', body });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string; token: string };
}

/** One request to a route pattern, with harmless parameters; streams are cut once answered. */
async function callRoute(base: string, method: string, pattern: string, authorization?: string): Promise<{ status: number; code?: string }> {
  const path = pattern.replace(':id', 'nope-404').replace(':server', 'team-a').replace('*', 'mcp');
  const headers: Record<string, string> = { accept: ACCEPT };
  if (authorization) headers.authorization = authorization;
  let body: string | undefined;
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    headers['content-type'] = 'application/json';
    body = /\/(mcp|message)$/.test(path) ? JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) : '{}';
  }
  const abort = new AbortController();
  const res = await fetch(base + path + (path.endsWith('/message') ? '?sessionId=none' : ''), { method, headers, body, signal: abort.signal });
  let code: string | undefined;
  if ((res.headers.get('content-type') ?? '').includes('problem+json')) code = ((await res.json()) as { code?: string }).code;
  abort.abort();
  return { status: res.status, ...(code ? { code } : {}) };
}

describe('the route table', () => {
  it('is the one docs/access.md shows, in both directions', () => {
    const documented = documentedRules();
    const actual = Object.fromEntries(Object.entries(ROUTE_RULES).map(([k, v]) => [k, v.permission]));
    expect(documented).toEqual(actual);
  });
});

for (const store of STORES) {
  const available = store.name === 'sqlite' || postgresAvailable;
  describe.skipIf(!available)(`every route × every role on ${store.name}`, () => {
    let gw: TestGateway;
    let api: TestHttp;
    const credentials: Record<string, { role: Role; scoped: boolean; authorization: string }> = {};

    beforeAll(async () => {
      api = await startHttp((_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      gw = await startTestGateway(store);
      await seed(gw, api);
      credentials['basic admin'] = { role: 'admin', scoped: false, authorization: basic(ADMIN.user, ADMIN.password) };
      for (const role of ROLES) {
        credentials[`stored ${role}`] = { role, scoped: false, authorization: `Bearer ${(await storedToken(gw, { name: `m-${role}`, role })).token}` };
        credentials[`jwt ${role}`] = { role, scoped: false, authorization: `Bearer ${await createToken(JWT_SECRET, `jwt-${role}`, 600, undefined, { role })}` };
      }
      credentials['stored client of team-a'] = { role: 'client', scoped: true, authorization: `Bearer ${(await storedToken(gw, { name: 'm-scoped', role: 'client', servers: ['team-a'] })).token}` };
      credentials['jwt client of team-a'] = { role: 'client', scoped: true, authorization: `Bearer ${await createToken(JWT_SECRET, 'jwt-scoped', 600, undefined, { servers: ['team-a'] })}` };
      credentials['jwt without role'] = { role: 'admin', scoped: false, authorization: `Bearer ${await createToken(JWT_SECRET, 'legacy', 600)}` };
    });
    afterAll(async () => {
      await gw?.close();
      await api?.close();
    });

    const routes = Object.entries(ROUTE_RULES).map(([key, rule]) => [...key.split(' '), rule.permission] as [string, string, Permission]);

    it.each(routes)('%s %s (%s)', async (method, pattern, permission) => {
      const anonymous = await callRoute(gw.url, method, pattern);
      if (permission === 'public') expect(anonymous.status).not.toBe(401);
      else expect(anonymous).toEqual({ status: 401, code: 'AUTH_REQUIRED' });
      for (const [label, who] of Object.entries(credentials)) {
        const outcome = await callRoute(gw.url, method, pattern, who.authorization);
        const outsideScope = permission === 'mcp' && who.scoped && !pattern.startsWith('/servers/:server');
        const allowed = allows(who.role, permission) && !outsideScope;
        if (allowed) expect([401, 403, 429], `${label}: ${JSON.stringify(outcome)}`).not.toContain(outcome.status);
        else expect(outcome, label).toEqual({ status: 403, code: 'FORBIDDEN' });
      }
    });
  });
}

describe('a client token limited to one virtual server', () => {
  let gw: TestGateway;
  let api: TestHttp;
  let ids: { a: string; b: string };
  let token: string;
  const bearer = () => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    api = await startHttp((_req, body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ got: body })));
    gw = await startTestGateway(STORES[0]!);
    ids = await seed(gw, api);
    token = (await storedToken(gw, { name: 'agent', role: 'client', servers: ['team-a'] })).token;
  });
  afterAll(async () => {
    await gw?.close();
    await api?.close();
  });

  const rpc = async (path: string, method: string, params: unknown) => {
    const res = await fetch(gw.url + path, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json', accept: ACCEPT },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }),
    });
    return { status: res.status, body: await res.text() };
  };

  it('lists and calls only its server\'s tools, prompts and resources with the SDK client', async () => {
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/servers/team-a/mcp`), { requestInit: { headers: bearer() } }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a-echo']);
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['a-prompt']);
      expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['memo://a']);
      const result = await client.callTool({ name: 'a-echo', arguments: {} });
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it('reaches its server by id as well as by name', async () => {
    expect((await rpc(`/servers/${ids.a}/mcp`, 'ping', {})).status).toBe(200);
  });

  it('answers a call outside its server exactly as a call to something that does not exist', async () => {
    for (const [method, params, missing] of [
      ['tools/call', { name: 'b-secret', arguments: {} }, { name: 'zz-absent', arguments: {} }],
      ['prompts/get', { name: 'b-prompt' }, { name: 'zz-absent' }],
      ['resources/read', { uri: 'memo://b' }, { uri: 'zz-absent' }],
    ] as const) {
      const outside = await rpc('/servers/team-a/mcp', method, params);
      const absent = await rpc('/servers/team-a/mcp', method, missing);
      const key = 'name' in params ? params.name : params.uri;
      const absentKey = 'name' in missing ? missing.name : missing.uri;
      expect(outside.status).toBe(absent.status);
      expect(outside.body.replaceAll(key, 'X')).toBe(absent.body.replaceAll(absentKey, 'X'));
      expect(outside.body).not.toContain('"B"');
    }
  });

  it('gets 403 on /mcp, on another server (by name or id) and on a server that does not exist, alike', async () => {
    const answers = [];
    for (const path of ['/mcp', '/servers/team-b/mcp', `/servers/${ids.b}/mcp`, '/servers/no-such-server/mcp']) {
      const res = await rpc(path, 'tools/list', {});
      expect(res.status, path).toBe(403);
      answers.push(JSON.parse(res.body).code);
    }
    expect(new Set(answers)).toEqual(new Set(['FORBIDDEN']));
    const other = JSON.parse((await rpc('/servers/team-b/mcp', 'tools/list', {})).body) as { detail: string };
    const none = JSON.parse((await rpc('/servers/no-such-server/mcp', 'tools/list', {})).body) as { detail: string };
    expect(other.detail).toBe(none.detail);
    expect(other.detail).not.toContain('team-b');
  });

  it('gets 403 on the legacy SSE endpoints outside its server, and works on its own', async () => {
    for (const path of ['/sse', '/servers/team-b/sse', '/message?sessionId=x', '/servers/team-b/message?sessionId=x']) {
      const res = await fetch(gw.url + path, { method: path.includes('message') ? 'POST' : 'GET', headers: { ...bearer(), accept: 'text/event-stream' } });
      expect(res.status, path).toBe(403);
      await res.body?.cancel();
    }
    const client = new Client({ name: 'legacy', version: '1' }, { supportedProtocolVersions: ['2024-11-05'] });
    const authFetch = (input: string | URL, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...bearer() } });
    await client.connect(new SSEClientTransport(new URL(`${gw.url}/servers/team-a/sse`), { requestInit: { headers: bearer() }, eventSourceInit: { fetch: authFetch } } as never));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a-echo']);
    } finally {
      await client.close();
    }
  });

  it('reaches only its server through the stdio bridge', async () => {
    const connect = async (args: string[]) => {
      const client = new Client({ name: 'desktop', version: '1' });
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [MAIN, 'stdio', ...args],
          env: { PATH: process.env.PATH ?? '', MCPGATEWAY_URL: gw.url, MCPGATEWAY_BEARER_TOKEN: token },
          stderr: 'pipe',
        }),
      );
      return client;
    };
    const own = await connect(['--server', 'team-a']);
    try {
      expect((await own.listTools()).tools.map((t) => t.name)).toEqual(['a-echo']);
    } finally {
      await own.close();
    }
    await expect(connect(['--server', 'team-b'])).rejects.toThrow(/HTTP 403/);
    await expect(connect([])).rejects.toThrow(/HTTP 403/);
  });

  it('gets 403 on every Admin API route, and learns no names from it', async () => {
    for (const path of ['/tools', '/servers', `/servers/${ids.b}`, '/prompts', '/resources', '/gateways', '/export', '/tokens', '/audit', '/metrics']) {
      const res = await fetch(gw.url + path, { headers: bearer() });
      const text = await res.text();
      expect(res.status, path).toBe(403);
      expect(text).not.toContain('b-secret');
      expect(text).not.toContain('team-b');
    }
  });
});

describe('stored tokens', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('shows the secret once, with the mcpgw_ prefix and 32 random bytes, and keeps only a hash', async () => {
    const created = await storedToken(gw, { name: 'ci', role: 'viewer', expires_in: '30d' });
    expect(created.token).toMatch(/^mcpgw_[A-Za-z0-9_-]{43}$/);
    const listed = await (await gw.api('/tokens')).text();
    expect(listed).not.toContain(created.token);
    expect(listed).not.toContain(created.token.slice(12));
    const one = (await (await gw.api(`/tokens/${created.id}`)).json()) as Record<string, unknown>;
    expect(one).toMatchObject({ name: 'ci', role: 'viewer', created_by: ADMIN.user, revoked_at: null, servers: null });
    expect(Date.parse(String(one.expires_at)) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(one).not.toHaveProperty('token');
    expect(one).not.toHaveProperty('hash');
  });

  it('refuses bad input with field errors and a taken name with 409', async () => {
    const res = await gw.api('/tokens', { method: 'POST', body: { name: 'bad name', role: 'root', servers: ['x'], expires_in: 'forever', extra: 1 } });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { code: string; errors: { path: string }[] };
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors.map((e) => e.path).sort()).toEqual(['$.expires_in', '$.extra', '$.name', '$.role', '$.servers']);
    await storedToken(gw, { name: 'taken', role: 'client' });
    const again = await gw.api('/tokens', { method: 'POST', body: { name: 'taken', role: 'client' } });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe('TOKEN_NAME_EXISTS');
    expect((await gw.api('/tokens/nope', { method: 'DELETE' })).status).toBe(404);
  });

  it('stops working at once when revoked, and when expired', async () => {
    const { id, token } = await storedToken(gw, { name: 'short', role: 'viewer' });
    const call = () => fetch(`${gw.url}/tools`, { headers: { authorization: `Bearer ${token}` } });
    expect((await call()).status).toBe(200);
    expect((await gw.api(`/tokens/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await call()).status).toBe(401);
    const expiring = await storedToken(gw, { name: 'expiring', role: 'viewer', expires_at: new Date(Date.now() + 1500).toISOString() });
    const callExpiring = () => fetch(`${gw.url}/tools`, { headers: { authorization: `Bearer ${expiring.token}` } });
    expect((await callExpiring()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2700));
    expect((await callExpiring()).status).toBe(401);
  });

  it('records last_used_at lazily (written on flush, not on every call)', async () => {
    const { id, token } = await storedToken(gw, { name: 'used', role: 'viewer' });
    expect((await fetch(`${gw.url}/tools`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(((await (await gw.api(`/tokens/${id}`)).json()) as { last_used_at: unknown }).last_used_at).toBeNull();
    await gw.gateway.tokens.flush();
    const after = ((await (await gw.api(`/tokens/${id}`)).json()) as { last_used_at: string }).last_used_at;
    expect(Date.now() - Date.parse(after)).toBeLessThan(10_000);
  });

  it('refuses a JWT with an unknown role or servers on a non-client role', async () => {
    for (const claims of [{ role: 'root' }, { role: 'admin', servers: ['a'] }, { servers: [] }, { servers: 'team-a' }]) {
      const jwt = await createToken(JWT_SECRET, 'x', 600, undefined, claims as never);
      expect((await fetch(`${gw.url}/tools`, { headers: { authorization: `Bearer ${jwt}` } })).status, JSON.stringify(claims)).toBe(401);
    }
  });
});

describe('failed sign-in throttle', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!, { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SECONDS: '60' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const from = (address: string) => new Agent({ localAddress: address });
  // undici's own fetch honours a dispatcher bound to another loopback source address.
  const call = (authorization: string, dispatcher?: Agent) => undiciFetch(`${gw.url}/tools`, { headers: { authorization }, ...(dispatcher ? { dispatcher } : {}) });

  it('answers 429 with Retry-After per address and per user, without slowing a credential already accepted', async () => {
    const good = basic(ADMIN.user, ADMIN.password);
    expect((await call(good)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await call(basic(ADMIN.user, `wrong-${i}`))).status).toBe(401);
    const throttled = await call(basic(ADMIN.user, 'wrong-again'));
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await throttled.json()) as { code: string }).code).toBe('AUTH_THROTTLED');
    // The credential that already worked is not slowed.
    expect((await call(good)).status).toBe(200);
    // Another address: the user "admin" is throttled there too, another user is not.
    const other = from('127.0.0.2');
    try {
      expect((await call(basic(ADMIN.user, 'wrong-x'), other)).status).toBe(429);
      expect((await call(basic('bob', 'wrong-x'), other)).status).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe('OAuth discovery paths before OAuth is configured', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it.each(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-authorization-server'])(
    '%s answers 404 without credentials, not 401',
    async (path) => {
      const res = await fetch(gw.url + path);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('ROUTE_NOT_FOUND');
    },
  );
});

describe('trial mode (loopback, no credentials configured)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!, { BASIC_AUTH_USER: '', BASIC_AUTH_PASSWORD: '', JWT_SECRET_KEY: '' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('treats the anonymous caller as admin, and honours a stored token presented anyway', async () => {
    expect((await fetch(`${gw.url}/tools`)).status).toBe(200);
    expect((await fetch(`${gw.url}/audit`)).status).toBe(200);
    const res = await fetch(`${gw.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'trial-agent', role: 'client', servers: ['x'] }) });
    expect(res.status).toBe(201);
    const { token, created_by } = (await res.json()) as { token: string; created_by: string };
    expect(created_by).toBe('anonymous');
    expect((await fetch(`${gw.url}/tools`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
  });
});
