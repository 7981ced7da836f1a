import type { ServerResponse } from 'node:http';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardHeaders } from '../src/protocol/revision-2026.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, connectClient, startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

// An upstream may frame its event streams any way the SSE grammar allows: bare CR line ends, a
// message spread over several data: lines, chunks cut inside a UTF-8 character. The gateway reads
// them all through its one codec (src/protocol/sse.ts). The upstream here is written by hand so it
// can send what the SDK servers never do.

const V = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' } };

type Message = { id?: unknown; method?: string; params?: { protocolVersion?: string; _meta?: Record<string, unknown> } };

const json = (res: ServerResponse, id: unknown, result: unknown) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id, result }));
};

/** Write an event stream in two chunks, cut inside the first multibyte character. */
async function stream(res: ServerResponse, text: string): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const bytes = Buffer.from(text);
  const cut = bytes.indexOf(Buffer.from('✓')) + 1;
  res.write(bytes.subarray(0, cut));
  await new Promise((r) => setTimeout(r, 50));
  res.end(bytes.subarray(cut));
}

async function upstreamAnswer(body: string, res: ServerResponse): Promise<void> {
  const m = JSON.parse(body || 'null') as Message | null;
  if (!m || m.id === undefined) return void res.writeHead(202).end();
  const id = JSON.stringify(m.id);
  if (m.method === 'initialize') return json(res, m.id, { protocolVersion: m.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'framing', version: '1' } });
  if (m.method === 'tools/list') return json(res, m.id, { tools: [{ name: 'framed', inputSchema: { type: 'object' } }] });
  // The discover answer spread over two data: lines (joined by a line feed, it is one JSON text).
  if (m.method === 'server/discover') return stream(res, `event: message\ndata: {"jsonrpc":"2.0","id":${id},\ndata: "result":{"supportedVersions":["${V}"],"capabilities":{"tools":{}},"note":"✓"}}\n\n`);
  if (m.method === 'tools/call') {
    const era = String(m.params?._meta?.['io.modelcontextprotocol/protocolVersion'] ?? '2025');
    // Bare CR line ends throughout, a comment first, the response over two data: lines.
    return stream(res, `: priming\r\revent: message\rdata: {"jsonrpc":"2.0","id":${id},\rdata: "result":{"content":[{"type":"text","text":"${era} héllo ✓"}]}}\r\r`);
  }
  return json(res, m.id, {});
}

describe('event streams from an upstream, framed any way SSE allows', () => {
  let upstream: TestHttp;
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    upstream = await startHttp((_req, body, res) => void upstreamAnswer(body, res));
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '3600000' });
    const created = await gw.api('/gateways', { method: 'POST', body: { name: 'sf', url: `${upstream.url}/mcp` } });
    expect(created.status, await created.clone().text()).toBe(201);
    await waitFor(async () => (await gw.api('/tools/sf__framed')).status === 200, 'sf__framed discovered');
    client = await connectClient(gw.url, '/mcp', '2025-11-25');
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await gw?.close();
    await upstream?.close();
  });

  it('relays a tools/call reply streamed with bare CR line ends, over two data lines, cut inside a character', async () => {
    const result = await client.callTool({ name: 'sf__framed', arguments: {} });
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: '2025 héllo ✓' }]);
  });

  it('finds 2026-07-28 in a server/discover answer streamed over two data lines, and relays a 2026-07-28 call as it is', async () => {
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: META, name: 'sf__framed', arguments: {} } };
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(body) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    const reply = JSON.parse(text) as { result?: { content?: { text?: string }[] } };
    expect(reply.result?.content?.[0]?.text, text.slice(0, 300)).toBe(`${V} héllo ✓`);
  });
});
