import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonTooDeep } from '../src/upstream/limits.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, connectClient, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { EVERYTHING, startEverything, type HttpUpstream } from './helpers/upstreams.js';

const sqlite = STORES[0]!;
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const mcpPost = (gw: TestGateway, body: string, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}/mcp`, { method: 'POST', headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });

describe('jsonTooDeep', () => {
  it('counts arrays and objects, skips strings and escapes, never recurses', () => {
    expect(jsonTooDeep('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(jsonTooDeep('{"a":[{"b":1}]}', 2)).toBe(true);
    expect(jsonTooDeep('{"a":"[[[[[[\\"[[[["}', 1)).toBe(false);
    expect(jsonTooDeep(deep(1_000_000), 128)).toBe(true);
  });
});

describe('bounds on a running gateway', () => {
  let gw: TestGateway;
  let upstream: HttpUpstream;
  let client: Client;
  beforeAll(async () => {
    upstream = await startEverything('streamableHttp');
    gw = await startTestGateway(sqlite, { MAX_RESPONSE_BYTES: '60000', MCP_MAX_BATCH: '5', PROMPT_MAX_RENDER_BYTES: '100000', HEALTH_CHECK_INTERVAL_MS: '3600000' });
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'ev', url: `http://127.0.0.1:${upstream.port}/mcp` } })).status).toBe(201);
    await waitFor(async () => (await gw.api('/tools/ev__echo')).status === 200, 'ev__echo discovered');
    client = await connectClient(gw.url, '/mcp', '2025-11-25');
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
    await upstream?.stop();
  });

  it('refuses bodies nested ~7,700 deep on every write route and POST /import with 400 BODY_TOO_DEEP, never 500', async () => {
    await gw.api('/tools', { method: 'POST', body: { name: 'target', url: 'http://127.0.0.1:9/x' } });
    const nested = `{"name":"x","url":"http://127.0.0.1:9/x","description":${deep(7700)}}`;
    const routes: [string, string, string?][] = [
      ['POST', '/tools'],
      ['PUT', '/tools/target'],
      ['PATCH', '/tools/target', 'application/merge-patch+json'],
      ['POST', '/gateways'],
      ['POST', '/servers'],
      ['POST', '/prompts'],
      ['POST', '/resources'],
      ['POST', '/import'],
    ];
    for (const [method, path, type] of routes) {
      const res = await gw.api(path, { method, raw: nested, headers: { 'content-type': type ?? 'application/json' } });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(((await res.json()) as { code: string }).code).toBe('BODY_TOO_DEEP');
    }
    const names = ((await (await gw.api('/tools?limit=1000')).json()) as { name: string }[]).map((t) => t.name);
    expect(names).toContain('target');
    expect(names).not.toContain('x');
  });

  it('refuses a deep MCP message and a batch over MCP_MAX_BATCH with coded JSON-RPC errors', async () => {
    const tooDeep = await mcpPost(gw, `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":${deep(7700)}}}`);
    expect(tooDeep.status).toBe(400);
    expect(((await tooDeep.json()) as { error: { data: { code: string } } }).error.data.code).toBe('BODY_TOO_DEEP');
    const batch = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })));
    const big = await mcpPost(gw, batch(6));
    expect(big.status).toBe(400);
    expect(((await big.json()) as { error: { data: { code: string } } }).error.data.code).toBe('BATCH_TOO_LARGE');
    const ok = await mcpPost(gw, batch(5));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as unknown[]).length).toBe(5);
  });

  it('stops a prompt render past PROMPT_MAX_RENDER_BYTES with PROMPT_RENDER_TOO_LARGE', async () => {
    const template = '{% for a in (1..1000) %}{% for b in (1..1000) %}xxxxxxxxxxxxxxxx{% endfor %}{% endfor %}';
    expect((await gw.api('/prompts', { method: 'POST', body: { name: 'bomb', template } })).status).toBe(201);
    expect((await gw.api('/prompts', { method: 'POST', body: { name: 'small', template: 'hello' } })).status).toBe(201);
    const started = Date.now();
    const error = await client.getPrompt({ name: 'bomb', arguments: {} }).then(
      () => undefined,
      (e: unknown) => e as { message: string; data?: { code?: string } },
    );
    expect(error?.message).toContain('PROMPT_MAX_RENDER_BYTES');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await client.getPrompt({ name: 'small', arguments: {} })).messages[0]!.content).toMatchObject({ text: 'hello' });
  });

  it('refuses an MCP upstream reply over MAX_RESPONSE_BYTES and keeps serving small ones', async () => {
    const huge = await client.callTool({ name: 'ev__echo', arguments: { message: 'y'.repeat(200_000) } }).then(
      (r) => JSON.stringify(r),
      (e: unknown) => String((e as Error).message),
    );
    expect(huge).toContain('MAX_RESPONSE_BYTES');
    expect(huge.length).toBeLessThan(10_000);
    const small = await client.callTool({ name: 'ev__echo', arguments: { message: 'hi' } });
    expect(JSON.stringify(small.content)).toContain('hi');
  });

  it('fails a stdio call whose reply line is over MAX_RESPONSE_BYTES with the coded error, then serves again on a fresh process', async () => {
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'evio', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] } })).status).toBe(201);
    await waitFor(async () => (await gw.api('/tools/evio__echo')).status === 200, 'evio__echo discovered');
    const huge = await client.callTool({ name: 'evio__echo', arguments: { message: 'z'.repeat(200_000) } }).then(
      (r) => JSON.stringify(r),
      (e: unknown) => String((e as Error).message),
    );
    expect(huge).toContain('MAX_RESPONSE_BYTES');
    expect(huge).toContain('UPSTREAM_REPLY_TOO_LARGE');
    expect(huge.length).toBeLessThan(10_000);
    await waitFor(async () => {
      const small = await client.callTool({ name: 'evio__echo', arguments: { message: 'again' } }).catch(() => undefined);
      return JSON.stringify(small?.content ?? '').includes('again');
    }, 'the stdio gateway serves again');
  }, 120_000);
});
