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

describe.skipIf(!redisAvailable || !postgresAvailable)('rate limits shared by two instances through redis', () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    db = await STORES[1]!.create();
    const env = { REDIS_URL, REDIS_CHANNEL_PREFIX: `test-${randomBytes(6).toString('hex')}`, RATE_LIMIT_PER_PRINCIPAL: '10' };
    a = await startTestGateway(STORES[1]!, env, db);
    b = await startTestGateway(STORES[1]!, env, db);
    await waitFor(async () => ((await (await fetch(`${a.url}/ready`)).json()) as { events: string }).events === 'redis', 'redis');
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('keeps the sum of both within the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await a.api('/tools')).status, (await b.api('/tools')).status);
    }
    const allowed = statuses.filter((s) => s === 200).length;
    // 10 per minute: a test shorter than 6 s refills at most one more.
    expect(allowed).toBeGreaterThanOrEqual(10);
    expect(allowed).toBeLessThanOrEqual(11);
    expect(statuses.filter((s) => s === 429).length).toBe(16 - allowed);
  });
});

