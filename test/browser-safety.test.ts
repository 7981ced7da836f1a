import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

const sqlite = STORES[0]!;
const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
const post = (gw: TestGateway, path: string, body: string, headers: Record<string, string>) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { ...AUTH_HEADERS, accept: 'application/json, text/event-stream', ...headers }, body });
const dataCode = async (res: Response) => ((await res.json()) as { error?: { data?: { code?: string } } }).error?.data?.code;

describe('browser-safe MCP endpoints', () => {
  let gw: TestGateway;
  let open: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(sqlite, { MCP_ALLOWED_ORIGINS: 'https://inspector.example' });
    // The loopback Host/Origin check off (ALLOWED_HOSTS=*): the MCP Origin rule still holds.
    open = await startTestGateway(sqlite, { ALLOWED_HOSTS: '*', MCP_ALLOWED_ORIGINS: 'https://inspector.example' });
  });
  afterAll(async () => {
    await gw?.close();
    await open?.close();
  });

  it('accepts only application/json bodies on /mcp and /message (no text/plain or form "simple requests")', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await post(open, '/mcp', CALL, { 'content-type': type });
      expect(res.status, type).toBe(415);
      expect(await dataCode(res)).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    const legacy = await post(open, '/message?sessionId=nope', CALL, { 'content-type': 'text/plain' });
    expect(legacy.status).toBe(415);
    const ok = await post(open, '/mcp', CALL, { 'content-type': 'application/json; charset=utf-8' });
    expect(ok.status).toBe(200);
  });

  it('refuses a foreign Origin on every bind address, allows the gateway\'s own and the listed ones', async () => {
    const evil = await post(open, '/mcp', CALL, { 'content-type': 'application/json', origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(await dataCode(evil)).toBe('HOST_NOT_ALLOWED');
    const own = await post(open, '/mcp', CALL, { 'content-type': 'application/json', origin: open.url });
    expect(own.status).toBe(200);
    const listed = await post(open, '/mcp', CALL, { 'content-type': 'application/json', origin: 'https://inspector.example' });
    expect(listed.status).toBe(200);
    const tricky = await post(open, '/mcp', CALL, { 'content-type': 'application/json', origin: `${open.url}@evil.example` });
    expect(tricky.status).toBe(403);
  });

  it('parses Host exactly: localhost:80@evil.example is not localhost', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(gw.url);
      const req = request({ host: u.hostname, port: u.port, path: '/health', headers: { host: 'localhost:80@evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect([400, 403]).toContain(status);
  });
});
