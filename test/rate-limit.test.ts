import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalLimiter } from '../src/services/rate-limit.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { REDIS_URL, redisStatus } from './helpers/redis.js';
import { postgresAvailable, STORES, type TestDatabase } from './helpers/stores.js';

const redisAvailable = (await redisStatus()).available;
const ACCEPT = 'application/json, text/event-stream';

describe('token buckets in process', () => {
  it('refills at the limit per minute and takes from every bucket or none', () => {
    const limiter = new LocalLimiter();
    const a = { key: 'a', limit: 2, scope: 'principal' };
    const b = { key: 'b', limit: 60, scope: 'tool' };
    const t0 = 1_000_000;
    expect(limiter.take([a, b], t0).waitMs).toBe(0);
    expect(limiter.take([a, b], t0).waitMs).toBe(0);
    const refused = limiter.take([a, b], t0);
    expect(refused).toEqual({ waitMs: 30_000, scope: 'principal' });
    // b lost nothing to the refused request: 58 of 60 left.
    for (let i = 0; i < 58; i++) expect(limiter.take([b], t0).waitMs).toBe(0);
    expect(limiter.take([b], t0).waitMs).toBe(1000);
    // Half a minute refills one token of a.
    expect(limiter.take([a], t0 + 30_000).waitMs).toBe(0);
    expect(limiter.take([a], t0 + 30_000).waitMs).toBeGreaterThan(0);
  });
});

describe('rate limits on HTTP and MCP', () => {
  let gw: TestGateway;
  let api: TestHttp;
  beforeAll(async () => {
    api = await startHttp((_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    gw = await startTestGateway(STORES[0]!, { RATE_LIMIT_PER_PRINCIPAL: '1000', RATE_LIMIT_PER_TOOL: '2' });
    for (const name of ['slow', 'fast']) expect((await gw.api('/tools', { method: 'POST', body: { name, url: `${api.url}/${name}` } })).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.close();
    await api?.close();
  });

  const call = (name: string, id: number) =>
    gw.api('/mcp', { method: 'POST', headers: { accept: ACCEPT }, body: { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } } });

  it('answers a spent tool limit with 429, Retry-After and a JSON-RPC error carrying the retry time', async () => {
    expect((await call('slow', 1)).status).toBe(200);
    expect((await call('slow', 2)).status).toBe(200);
    const refused = await call('slow', 3);
    expect(refused.status).toBe(429);
    const seconds = Number(refused.headers.get('retry-after'));
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32029, message: expect.stringMatching(/rate limit \(tool\) exceeded/), data: { retry_after_seconds: seconds, limit: 'tool' } },
    });
    // Another tool, and listing, are not limited by that bucket.
    expect((await call('fast', 4)).status).toBe(200);
    const list = await gw.api('/mcp', { method: 'POST', headers: { accept: ACCEPT }, body: { jsonrpc: '2.0', id: 5, method: 'tools/list' } });
    expect(list.status).toBe(200);
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/mcpgateway_rate_limited_total\{scope="tool"\} 1/);
  });
});

describe('a tool\'s and a virtual server\'s own rate_limit (no variables set)', () => {
  let gw: TestGateway;
  let api: TestHttp;
  beforeAll(async () => {
    api = await startHttp((_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    gw = await startTestGateway(STORES[0]!);
    expect((await gw.api('/tools', { method: 'POST', body: { name: 'limited', url: `${api.url}/limited`, rate_limit: 2 } })).status).toBe(201);
    expect((await gw.api('/tools', { method: 'POST', body: { name: 'free', url: `${api.url}/free` } })).status).toBe(201);
    const servers = [
      { name: 'renaming', tools: ['limited', 'free'], tool_overrides: { limited: { name: 'renamed' } } },
      { name: 'capped', tools: ['free'], rate_limit: 3 },
    ];
    for (const body of servers) expect((await gw.api('/servers', { method: 'POST', body })).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.close();
    await api?.close();
  });

  const rpc = (path: string, id: number, method: string, params?: unknown) =>
    gw.api(path, { method: 'POST', headers: { accept: ACCEPT }, body: { jsonrpc: '2.0', id, method, ...(params ? { params } : {}) } });
  const call = (path: string, name: string, id: number) => rpc(path, id, 'tools/call', { name, arguments: {} });

  it('refuses the third call of a tool with rate_limit 2 within a minute, under any served name, while another tool is unaffected', async () => {
    expect((await call('/mcp', 'limited', 1)).status).toBe(200);
    expect((await call('/mcp', 'limited', 2)).status).toBe(200);
    const refused = await call('/mcp', 'limited', 3);
    expect(refused.status).toBe(429);
    const seconds = Number(refused.headers.get('retry-after'));
    expect(seconds).toBeGreaterThanOrEqual(20);
    expect(await refused.json()).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32029, message: expect.stringMatching(/rate limit \(tool\) exceeded/), data: { retry_after_seconds: seconds, limit: 'tool' } },
    });
    expect((await call('/mcp', 'free', 4)).status).toBe(200);
    // The bucket is the stored tool's: a server serving it under another name shares it.
    const renamed = await call('/servers/renaming/mcp', 'renamed', 5);
    expect(renamed.status).toBe(429);
    expect(((await renamed.json()) as { error: { data: { limit: string } } }).error.data.limit).toBe('tool');
    expect((await call('/servers/renaming/mcp', 'free', 6)).status).toBe(200);
    // Another principal has buckets of its own.
    const token = (await (await gw.api('/tokens', { method: 'POST', body: { name: 'other', role: 'admin' } })).json()) as { token: string };
    const other = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, accept: ACCEPT, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'limited', arguments: {} } }),
    });
    expect(other.status).toBe(200);
    // Clearing the field lifts the limit at once (the catalog is rebuilt on change).
    expect((await gw.api('/tools/limited', { method: 'PATCH', body: { rate_limit: null } })).status).toBe(200);
    expect((await call('/mcp', 'limited', 8)).status).toBe(200);
  });

  it('limits every MCP request to a server with rate_limit 3 per principal, and only there', async () => {
    expect((await rpc('/servers/capped/mcp', 1, 'tools/list')).status).toBe(200);
    expect((await call('/servers/capped/mcp', 'free', 2)).status).toBe(200);
    expect((await rpc('/servers/capped/mcp', 3, 'ping')).status).toBe(200);
    const refused = await rpc('/servers/capped/mcp', 4, 'tools/list');
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: number; data: { limit: string } } }).error).toMatchObject({ code: -32029, data: { limit: 'server' } });
    expect((await rpc('/mcp', 5, 'tools/list')).status).toBe(200);
    expect((await rpc('/servers/renaming/mcp', 6, 'tools/list')).status).toBe(200);
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/mcpgateway_rate_limited_total\{scope="tool"\} 2/);
    expect(metrics).toMatch(/mcpgateway_rate_limited_total\{scope="server"\} 1/);
  });

  it('takes an integer of at least 1 or null, and says where otherwise', async () => {
    for (const bad of [0, 2.5, '5']) {
      const res = await gw.api('/tools/free', { method: 'PATCH', body: { rate_limit: bad } });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain('$.rate_limit');
    }
    const read = (await (await gw.api('/servers/capped')).json()) as { rate_limit: unknown };
    expect(read.rate_limit).toBe(3);
    expect(((await (await gw.api('/tools/free')).json()) as { rate_limit: unknown }).rate_limit).toBeNull();
  });
});

describe('a per-principal limit on the Admin API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!, { RATE_LIMIT_PER_PRINCIPAL: '3' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('answers 429 RATE_LIMITED with Retry-After to that principal only', async () => {
    const token = (await (await gw.api('/tokens', { method: 'POST', body: { name: 'other', role: 'viewer' } })).json()) as { token: string };
    // The admin has spent one request (the token creation).
    expect((await gw.api('/tools')).status).toBe(200);
    expect((await gw.api('/tools')).status).toBe(200);
    const refused = await gw.api('/tools');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { code: string }).code).toBe('RATE_LIMITED');
    expect((await fetch(`${gw.url}/tools`, { headers: { authorization: `Bearer ${token.token}` } })).status).toBe(200);
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  });
});

/** Two instances on one PostgreSQL database sharing buckets through Redis, started for a describe block. */
function twoInstances(limits: Record<string, string>): { a: TestGateway; b: TestGateway } {
  const pair = {} as { a: TestGateway; b: TestGateway };
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await STORES[1]!.create();
    const env = { REDIS_URL, REDIS_CHANNEL_PREFIX: `test-${randomBytes(6).toString('hex')}`, ...limits };
    pair.a = await startTestGateway(STORES[1]!, env, db);
    pair.b = await startTestGateway(STORES[1]!, env, db);
    for (const gw of [pair.a, pair.b]) await waitFor(async () => ((await (await fetch(`${gw.url}/ready`)).json()) as { events: string }).events === 'redis', 'redis');
  });
  afterAll(async () => {
    await pair.a?.close();
    await pair.b?.close();
    await db?.drop();
  });
  return pair;
}

describe.skipIf(!redisAvailable || !postgresAvailable)('rate limits shared by two instances through redis', () => {
  const pair = twoInstances({ RATE_LIMIT_PER_PRINCIPAL: '10' });

  it('keeps the sum of both within the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await pair.a.api('/tools')).status, (await pair.b.api('/tools')).status);
    }
    const allowed = statuses.filter((s) => s === 200).length;
    // 10 per minute: a test shorter than 6 s refills at most one more.
    expect(allowed).toBeGreaterThanOrEqual(10);
    expect(allowed).toBeLessThanOrEqual(11);
    expect(statuses.filter((s) => s === 429).length).toBe(16 - allowed);
  });
});

describe.skipIf(!redisAvailable || !postgresAvailable)('a tool\'s own rate_limit shared by two instances through redis', () => {
  const pair = twoInstances({});

  it('keeps both within the tool\'s limit', async () => {
    const api = await startHttp((_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    try {
      expect((await pair.a.api('/tools', { method: 'POST', body: { name: 'shared-limit', url: `${api.url}/x`, rate_limit: 3 } })).status).toBe(201);
      const list = async (gw: TestGateway) =>
        (await (await gw.api('/mcp', { method: 'POST', headers: { accept: ACCEPT }, body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } })).text()).includes('shared-limit');
      await waitFor(async () => (await list(pair.b)) && (await list(pair.a)), 'the tool on both');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        for (const gw of [pair.a, pair.b]) {
          const res = await gw.api('/mcp', { method: 'POST', headers: { accept: ACCEPT }, body: { jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'shared-limit', arguments: {} } } });
          statuses.push(res.status);
        }
      }
      // 3 per minute: a test shorter than 20 s refills none.
      expect(statuses.filter((s) => s === 200).length).toBe(3);
      expect(statuses.filter((s) => s === 429).length).toBe(3);
    } finally {
      await api.close();
    }
  });
});
