import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage, RawId } from '../src/protocol/jsonrpc.js';
import { standardHeaders } from '../src/protocol/revision-2026.js';
import { ADMIN, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { stopChild } from './helpers/upstreams.js';

// JSON-RPC ids come back as the client wrote them (issue 10, item 8), big integers past 2^53,
// negative and exponent forms included: on /mcp (2025 and 2026-07-28 requests, JSON and SSE
// replies), on legacy SSE /message, and through `mcpgateway stdio`. JSON.parse alone turns
// 12345678901234567890123 into 1.2345678901234568e+22.

const FIXTURE = fileURLToPath(new URL('./fixtures/conformance-upstream.mjs', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const IDS = ['12345678901234567890123', '-12345678901234567890123', '1e3', '-2.5E+300', '9007199254740993', '-0', '10.0'];
const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' } };

/** A request as text with `id` spliced in raw (JSON.stringify cannot write it). */
const withId = (id: string, message: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', id: 0, ...message }).replace('"id":0', `"id":${id}`);
/** The raw id of a reply: the token after its top-level "id". */
const idOf = (reply: string) => /^\{"jsonrpc":"2\.0","id":([^,]+),/.exec(reply)?.[1];

describe('parseMessage', () => {
  it('keeps number ids as written when JSON.parse would change them, and only the messages\' own ids', () => {
    const one = parseMessage('{"params":{"id":1e3},"id" : 12345678901234567890123,"jsonrpc":"2.0"}') as { id: unknown; params: { id: unknown } };
    expect(one.id).toEqual(new RawId('12345678901234567890123', 12345678901234567890123));
    expect(one.params.id).toBe(1000);
    expect((parseMessage('{"id":7,"method":"ping"}') as { id: unknown }).id).toBe(7);
    const batch = parseMessage('[1, {"id":"x"}, {"a":[{"id":5e0}],"id":1E2}, {"id":-0}]') as { id?: unknown }[];
    expect(batch[2]!.id).toEqual(new RawId('1E2', 100));
    expect(batch[3]!.id).toEqual(new RawId('-0', -0));
    expect(batch[1]!.id).toBe('x');
    // Strings ending in escaped backslashes or quotes, and a later key written with an escape (JSON.parse keeps the last).
    expect((parseMessage(String.raw`{"a":"x\\","b":"\"id\":1","id":1e3}`) as { id: unknown }).id).toEqual(new RawId('1e3', 1000));
    expect((parseMessage(String.raw`{"id":1e3,"p":{"x":"\\"},"\u0069d":2e0}`) as { id: unknown }).id).toEqual(new RawId('2e0', 2));
  });
});

describe('request ids are echoed byte for byte', () => {
  let gw: TestGateway;
  let fixture: ChildProcess;
  beforeAll(async () => {
    fixture = spawn(process.execPath, [FIXTURE, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve) => fixture.stdout!.on('data', (c) => /ready (\d+)/.test(String(c)) && resolve(/ready (\d+)/.exec(String(c))![1]!)));
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '3600000' });
    const created = await gw.api('/gateways', { method: 'POST', body: { name: 'fx', url: `http://127.0.0.1:${port}/mcp`, name_prefix: '' } });
    expect(created.status, await created.clone().text()).toBe(201);
    expect((await gw.api('/gateways/fx/refresh', { method: 'POST' })).status).toBe(200);
  });
  afterAll(async () => {
    await gw?.close();
    if (fixture) await stopChild(fixture);
  });

  const post = (body: string, accept = 'application/json', headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/mcp`, { method: 'POST', headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept, ...headers }, body });
  /** The last `data:` payload of an SSE reply (the response follows the notifications). */
  const lastData = (text: string) => text.split('\n').filter((l) => l.startsWith('data: ')).pop()?.slice(6) ?? '';

  it.each(IDS)('/mcp, 2025 request, JSON reply: id %s', async (id) => {
    const res = await post(withId(id, { method: 'tools/list' }));
    const text = await res.text();
    expect(res.status, text.slice(0, 200)).toBe(200);
    expect(idOf(text)).toBe(id);
    expect(text).toContain('"tools"');
    // An error reply keeps it too.
    expect(idOf(await (await post(withId(id, { method: 'no/such' }))).text())).toBe(id);
  });

  it('/mcp, 2025 request, SSE reply and batches: ids as sent', async () => {
    const id = IDS[0]!;
    const res = await post(withId(id, { method: 'tools/call', params: { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'p' } } }), 'application/json, text/event-stream');
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reply = lastData(await res.text());
    expect(idOf(reply)).toBe(id);
    expect(reply).toContain('"result"');
    const batch = await (await post(`[${withId(IDS[0]!, { method: 'ping' })},${withId(IDS[2]!, { method: 'ping' })}]`)).text();
    expect(batch).toBe(`[{"jsonrpc":"2.0","id":${IDS[0]},"result":{}},{"jsonrpc":"2.0","id":${IDS[2]},"result":{}}]`);
  });

  it.each(IDS.slice(0, 3))('/mcp, 2026-07-28 request, JSON and SSE replies: id %s', async (id) => {
    const list = { method: 'tools/list', params: { _meta: META } };
    const res = await post(withId(id, list), 'application/json, text/event-stream', standardHeaders({ jsonrpc: '2.0', id: 1, ...list }));
    const text = await res.text();
    expect(res.status, text.slice(0, 200)).toBe(200);
    expect(idOf(text.startsWith('{') ? text : lastData(text))).toBe(id);
    const call = { method: 'tools/call', params: { _meta: { ...META, progressToken: 'p' }, name: 'test_tool_with_progress', arguments: {} } };
    const streamed = await post(withId(id, call), 'application/json, text/event-stream', standardHeaders({ jsonrpc: '2.0', id: 1, ...call }));
    const body = await streamed.text();
    expect(streamed.headers.get('content-type'), body.slice(0, 200)).toContain('text/event-stream');
    expect(idOf(lastData(body))).toBe(id);
    // A request refused by the 2026-07-28 ladder (headers that disagree) keeps it too.
    const refused = await post(withId(id, list), 'application/json', { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'prompts/list' });
    expect(refused.status).toBe(400);
    expect(idOf(await refused.text())).toBe(id);
  });

  it('legacy SSE /message: the reply on the stream carries the id as sent', async () => {
    const abort = new AbortController();
    const stream = await fetch(`${gw.url}/sse`, { headers: { ...AUTH_HEADERS, accept: 'text/event-stream' }, signal: abort.signal });
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (done: () => boolean) => {
      const deadline = Date.now() + 5_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`not on the stream within 5 s: ${text.slice(-300)}`);
        const chunk = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), 500))]);
        if (chunk?.value) text += decoder.decode(chunk.value, { stream: true });
      }
    };
    try {
      await until(() => text.includes('sessionId='));
      const endpoint = /data: (\S+)/.exec(text)![1]!;
      for (const id of IDS) {
        const res = await fetch(`${gw.url}${endpoint}`, { method: 'POST', headers: { ...AUTH_HEADERS, 'content-type': 'application/json' }, body: withId(id, { method: 'tools/list' }) });
        expect(res.status).toBe(202);
        await until(() => text.includes(`"id":${id},`));
        expect(text).toContain(`data: {"jsonrpc":"2.0","id":${id},"result":`);
      }
    } finally {
      abort.abort();
    }
  });

  it('mcpgateway stdio: replies carry the ids as sent', async () => {
    const child = spawn(process.execPath, [MAIN, 'stdio'], {
      env: { PATH: process.env.PATH ?? '', MCPGATEWAY_URL: gw.url, MCPGATEWAY_BASIC_AUTH: `${ADMIN.user}:${ADMIN.password}` },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += String(c)));
    try {
      const init = { method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
      child.stdin!.write(`${withId(IDS[0]!, init)}\n`);
      for (const id of IDS.slice(1)) child.stdin!.write(`${withId(id, { method: 'tools/list' })}\n`);
      const list = { method: 'tools/list', params: { _meta: META } };
      child.stdin!.write(`${withId('77777777777777777777777', list)}\n`);
      const started = Date.now();
      const lines = () => out.split('\n').filter((l) => l.startsWith('{'));
      while (lines().length < IDS.length + 1 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
      const ids = lines().map(idOf);
      expect(ids.sort()).toEqual([...IDS, '77777777777777777777777'].sort());
    } finally {
      child.stdin!.end();
      await stopChild(child);
    }
  }, 30_000);
});
