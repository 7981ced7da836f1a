import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHeaderValue, encodeHeaderValue, gateLogs, isModernVersion, standardHeaders, versionDate } from '../src/protocol/revision-2026.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { MEMORY, stopChild } from './helpers/upstreams.js';

// MCP 2026-07-28 on the gateway's /mcp, request by request over raw HTTP: the revision's ladder
// (per-request _meta, the standard headers), its status codes and error codes next to the 2025
// ones, subscriptions/listen, and what a 2026 upstream receives (the caller's own _meta).

const FIXTURE = fileURLToPath(new URL('./fixtures/conformance-upstream.mjs', import.meta.url));
const V = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' } };

describe('protocol revision 2026-07-28 on /mcp', () => {
  let gw: TestGateway;
  let fixture: ChildProcess;

  beforeAll(async () => {
    fixture = spawn(process.execPath, [FIXTURE, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve) => fixture.stdout!.on('data', (c) => /ready (\d+)/.test(String(c)) && resolve(/ready (\d+)/.exec(String(c))![1]!)));
    gw = await startTestGateway(STORES[0]!);
    const created = await gw.api('/gateways', { method: 'POST', body: { name: 'fx', url: `http://127.0.0.1:${port}/mcp`, name_prefix: '' } });
    expect(created.status, await created.clone().text()).toBe(201);
    const refreshed = await gw.api('/gateways/fx/refresh', { method: 'POST' });
    expect(refreshed.status, await refreshed.clone().text()).toBe(200);
  });
  afterAll(async () => {
    await gw?.close();
    if (fixture) await stopChild(fixture);
  });

  /** POST one request; `headers` replaces the standard ones the body implies. */
  async function rpc(method: string, params: Record<string, unknown>, headers?: Record<string, string>) {
    const body = { jsonrpc: '2.0', id: 7, method, params };
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(headers ?? standardHeaders(body)) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { id: unknown; result?: Record<string, unknown>; error?: { code: number; message: string; data?: Record<string, unknown> } } };
  }

  it('compares protocol versions as dates: v999.0.0 and unknown dates get -32022 with the supported list, HTTP 400', async () => {
    for (const version of ['v999.0.0', '2026-13-01', '2099-01-01']) {
      const meta = { ...META, 'io.modelcontextprotocol/protocolVersion': version };
      const { status, body } = await rpc('tools/list', { _meta: meta }, { 'mcp-protocol-version': version, 'mcp-method': 'tools/list' });
      expect(status, version).toBe(400);
      expect(body.id).toBe(7);
      expect(body.error).toMatchObject({ code: -32022, data: { supported: [V], requested: version } });
    }
    expect(isModernVersion('v999.0.0')).toBe(false);
    expect(isModernVersion('2026-07-28')).toBe(true);
    expect(versionDate('2026-02-30')).toBeUndefined();
  });

  it('refuses an incomplete _meta with -32602 and headers that disagree with the body with -32020, HTTP 400', async () => {
    const noCaps = await rpc('tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': V } });
    expect([noCaps.status, noCaps.body.error?.code]).toEqual([400, -32602]);
    const noMeta = await rpc('tools/list', {}, { 'mcp-protocol-version': V, 'mcp-method': 'tools/list' });
    expect([noMeta.status, noMeta.body.error?.code]).toEqual([400, -32602]);
    const cases: Record<string, string>[] = [
      { 'mcp-protocol-version': '2025-11-25', 'mcp-method': 'tools/list' },
      { 'mcp-protocol-version': V, 'mcp-method': 'prompts/list' },
      { 'mcp-protocol-version': V },
    ];
    for (const headers of cases) {
      const { status, body } = await rpc('tools/list', { _meta: META }, headers);
      expect([status, body.error?.code], JSON.stringify(headers)).toEqual([400, -32020]);
    }
    const wrongName = await rpc('tools/call', { _meta: META, name: 'echo_meta', arguments: {} }, { 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'other' });
    expect([wrongName.status, wrongName.body.error?.code]).toEqual([400, -32020]);
    const encoded = await rpc('tools/call', { _meta: META, name: 'echo_meta', arguments: {} }, { 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': encodeHeaderValue('échø') });
    expect([encoded.status, encoded.body.error?.code]).toEqual([400, -32020]);
    expect(decodeHeaderValue(encodeHeaderValue('échø'))).toBe('échø');
    expect(decodeHeaderValue('=?base64?SGVs!!!bG8=?=')).toBeUndefined();
  });

  it('checks Mcp-Param-* headers against the arguments a tool mirrors into them (x-mcp-header), -32020 with HTTP 400', async () => {
    const call = (region: string | undefined, header: string | undefined) => {
      const body = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { _meta: META, name: 'test_x_mcp_header', arguments: region === undefined ? {} : { region } } };
      return rpc('tools/call', body.params, { ...standardHeaders(body), ...(header === undefined ? {} : { 'mcp-param-region': header }) });
    };
    const ok = await call('eu-west', 'eu-west');
    expect([ok.status, (ok.body.result?.content as { text: string }[])[0]!.text]).toEqual([200, 'region=eu-west']);
    const encoded = await call('zürich', encodeHeaderValue('zürich'));
    expect([encoded.status, encoded.body.result?.resultType]).toEqual([200, 'complete']);
    for (const [region, header] of [['eu-west', undefined], ['eu-west', 'us-east'], ['Hello', '=?base64?SGVsbG8?='], [undefined, 'eu-west']] as const) {
      const { status, body } = await call(region, header);
      expect([status, body.error?.code], `${region} / ${header}`).toEqual([400, -32020]);
    }
    const none = await call(undefined, undefined);
    expect(none.status).toBe(200);
  });

  it('answers 2025-only methods with 404 and -32601 on a 2026 request, and still serves them to 2025 clients', async () => {
    for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe']) {
      const { status, body } = await rpc(method, { _meta: META, level: 'info', uri: 'test://static-text' });
      expect([status, body.error?.code], method).toEqual([404, -32601]);
    }
    const unknown = await rpc('no/such', { _meta: META });
    expect([unknown.status, unknown.body.error?.code]).toEqual([404, -32601]);
    const ping = await rpc('ping', {}, {});
    expect([ping.status, ping.body.result]).toEqual([200, {}]);
  });

  it('says resource-not-found as each revision does: -32602 for 2026, -32002 for 2025, both in-band', async () => {
    const modern = await rpc('resources/read', { _meta: META, uri: 'test://missing' });
    expect([modern.status, modern.body.error?.code, modern.body.error?.data?.uri]).toEqual([200, -32602, 'test://missing']);
    const legacy = await rpc('resources/read', { uri: 'test://missing' }, {});
    expect([legacy.status, legacy.body.error?.code]).toEqual([200, -32002]);
  });

  it("puts resultType on every result and passes the caller's own _meta (capabilities, trace context) to a 2026 upstream", async () => {
    const caps = { elicitation: { form: {} }, roots: {} };
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const meta = { ...META, 'io.modelcontextprotocol/clientCapabilities': caps, traceparent };
    const { status, body } = await rpc('tools/call', { _meta: meta, name: 'echo_meta', arguments: {} });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.result?.resultType).toBe('complete');
    const seen = JSON.parse((body.result!.content as { text: string }[])[0]!.text) as { envelope: Record<string, unknown>; meta: Record<string, unknown> };
    expect(seen.envelope['io.modelcontextprotocol/clientCapabilities'], JSON.stringify(seen)).toEqual(caps);
    expect(seen.meta.traceparent).toBe(traceparent);
    // A 2025 caller's trace context reaches the upstream too (over its 2025 session).
    const legacy = await rpc('tools/call', { _meta: { traceparent }, name: 'echo_meta', arguments: {} }, {});
    const legacySeen = JSON.parse((legacy.body.result!.content as { text: string }[])[0]!.text) as { meta: Record<string, unknown> };
    expect(legacySeen.meta.traceparent).toBe(traceparent);
    const list = await rpc('tools/list', { _meta: META });
    expect(list.body.result).toMatchObject({ resultType: 'complete', cacheScope: expect.any(String), ttlMs: expect.any(Number) });
  });

  it('relays an input_required round and its request state untouched, and the retry that answers it', async () => {
    // A client that did not declare elicitation gets the upstream's -32021 as it is, with HTTP 400.
    const undeclared = await rpc('tools/call', { _meta: META, name: 'test_input_required_result_request_state', arguments: {} });
    expect([undeclared.status, undeclared.body.error?.code, undeclared.body.error?.data]).toEqual([400, -32021, { requiredCapabilities: { elicitation: { form: {} } } }]);
    const meta = { ...META, 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } };
    const first = await rpc('tools/call', { _meta: meta, name: 'test_input_required_result_request_state', arguments: {} });
    expect(first.body.result, JSON.stringify(first.body)).toMatchObject({ resultType: 'input_required', inputRequests: { confirm: { method: 'elicitation/create' } } });
    const state = first.body.result!.requestState as string;
    expect(typeof state).toBe('string');
    const inputResponses = { confirm: { action: 'accept', content: { ok: true } } };
    const done = await rpc('tools/call', { _meta: meta, name: 'test_input_required_result_request_state', arguments: {}, inputResponses, requestState: state });
    expect(done.body.result).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: expect.stringContaining('state-ok') }] });
    // A tampered state is refused by the upstream that minted it.
    const tampered = await rpc('tools/call', { _meta: meta, name: 'test_input_required_result_request_state', arguments: {}, inputResponses, requestState: `${state.slice(0, -2)}xx` });
    expect(tampered.body.error?.code).toBe(-32602);
  });

  it('serves a 2026 client through a 2025-only stdio upstream over the gateway\'s 2025 session', async () => {
    const env = { MEMORY_FILE_PATH: `${gw.db.url.replace(/^sqlite:/, '')}.memory.jsonl` };
    const created = await gw.api('/gateways', { method: 'POST', body: { name: 'mem', transport: 'stdio', command: process.execPath, args: [MEMORY], env } });
    expect(created.status, await created.clone().text()).toBe(201);
    expect((await gw.api('/gateways/mem/refresh', { method: 'POST' })).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const { status, body } = await rpc('tools/call', { _meta: META, name: 'mem__read_graph', arguments: {} });
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.result).toMatchObject({ resultType: 'complete', content: [{ type: 'text' }] });
    }
    expect((await gw.api('/gateways/mem', { method: 'DELETE' })).status).toBe(204);
  });

  it('opens subscriptions/listen with an acknowledgement that names the honoured filter and the subscription', async () => {
    const body = { jsonrpc: '2.0', id: 'sub-1', method: 'subscriptions/listen', params: { _meta: META, notifications: { toolsListChanged: true, bogus: true } } };
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(body) },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const frame = JSON.parse(/data: (.*)/.exec(text)![1]!) as { method: string; params: Record<string, unknown> };
    expect(frame).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 'sub-1' }, notifications: { toolsListChanged: true } },
    });
  });

  it('passes a 2026 caller only the log messages at or above its per-request level, none without one', () => {
    const seen: string[] = [];
    const sink = (method: string, params: unknown) => seen.push(`${method}:${(params as { level?: string }).level ?? ''}`);
    const gated = gateLogs({ 'io.modelcontextprotocol/logLevel': 'warning' }, sink);
    for (const level of ['debug', 'info', 'warning', 'error']) gated('notifications/message', { level, data: 'x' });
    gated('notifications/progress', { progress: 1 });
    expect(seen).toEqual(['notifications/message:warning', 'notifications/message:error', 'notifications/progress:']);
    seen.length = 0;
    gateLogs({}, sink)('notifications/message', { level: 'emergency' });
    expect(seen).toEqual([]);
  });
});
