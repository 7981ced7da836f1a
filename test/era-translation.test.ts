import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Http } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardHeaders } from '../src/protocol/revision-2026.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { stopChild } from './helpers/upstreams.js';

// Era translation (issue 9, item 3), with real upstreams and raw 2026-07-28 HTTP requests: a
// 2026-07-28 client calling tools of a 2025-only upstream (the SDK 1.x fixture, over stdio, legacy
// SSE and Streamable HTTP) whose tools ask the client mid-call gets those requests as input_required
// rounds, and the same upstream call completes on its retries.

const ASKING = fileURLToPath(new URL('./fixtures/asking-upstream.mjs', import.meta.url));
const CONFORMANCE = fileURLToPath(new URL('./fixtures/conformance-upstream.mjs', import.meta.url));
const V = '2026-07-28';
const ALL = { sampling: {}, elicitation: { form: {} }, roots: {} };
const SAMPLED = (text: string) => ({ role: 'assistant', content: { type: 'text', text }, model: 'test-model', stopReason: 'endTurn' });

type Reply = { status: number; result?: Record<string, unknown>; error?: { code: number; message: string; data?: Record<string, unknown> } };
type InputRequests = Record<string, { method: string; params: Record<string, unknown> }>;

describe('era translation: a 2026-07-28 client, a 2025-only upstream that asks mid-call', () => {
  let gw: TestGateway;
  let http: ChildProcess;
  let other: string;
  let id = 0;

  beforeAll(async () => {
    http = spawn(process.execPath, [ASKING, '--http', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve) => http.stdout!.on('data', (c) => /ready (\d+)/.test(String(c)) && resolve(/ready (\d+)/.exec(String(c))![1]!)));
    gw = await startTestGateway(STORES[0]!);
    const gateways = [
      { name: 'askstdio', transport: 'stdio', command: process.execPath, args: [ASKING] },
      { name: 'askhttp', url: `http://127.0.0.1:${port}/mcp` },
      { name: 'asksse', transport: 'sse', url: `http://127.0.0.1:${port}/sse` },
      { name: 'askshort', transport: 'stdio', command: process.execPath, args: [ASKING], timeout_ms: 1500 },
    ];
    for (const body of gateways) {
      const created = await gw.api('/gateways', { method: 'POST', body });
      expect(created.status, await created.clone().text()).toBe(201);
      const refreshed = await gw.api(`/gateways/${body.name}/refresh`, { method: 'POST' });
      expect(refreshed.status, await refreshed.clone().text()).toBe(200);
    }
    const token = await gw.api('/tokens', { method: 'POST', body: { name: 'someone-else', role: 'editor' } });
    expect(token.status).toBe(201);
    other = `Bearer ${((await token.json()) as { token: string }).token}`;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    if (http) await stopChild(http);
  });

  /** One 2026-07-28 tools/call over raw HTTP. */
  async function call(name: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}, capabilities: Record<string, unknown> = ALL, authorization?: string): Promise<Reply> {
    const body = { jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name, arguments: args, ...extra, _meta: { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': capabilities } } };
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, ...(authorization ? { authorization } : {}), 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(body) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    const json = String(res.headers.get('content-type')).includes('event-stream') ? text.split('\n').filter((l) => l.startsWith('data:')).at(-1)!.slice(5) : text;
    const message = JSON.parse(json) as { id: number; result?: Record<string, unknown>; error?: Reply['error'] };
    expect(message.id).toBe(body.id);
    return { status: res.status, ...(message.result ? { result: message.result } : {}), ...(message.error ? { error: message.error } : {}) };
  }

  const inputs = (reply: Reply): InputRequests => {
    expect(reply.result, JSON.stringify(reply)).toMatchObject({ resultType: 'input_required' });
    expect(typeof reply.result!.requestState).toBe('string');
    return reply.result!.inputRequests as InputRequests;
  };
  const textOf = (reply: Reply): string => {
    expect(reply.result, JSON.stringify(reply)).toMatchObject({ resultType: 'complete' });
    return (reply.result!.content as { text: string }[])[0]!.text;
  };

  it.each(['askstdio', 'askhttp', 'asksse'])('%s: three rounds in a row (elicitation, sampling, roots) complete the one upstream call', async (gateway) => {
    const tool = `${gateway}__ask_all`;
    const args = { topic: 'tea' };
    const first = await call(tool, args);
    const asked1 = inputs(first);
    const [key1] = Object.keys(asked1);
    expect(Object.keys(asked1)).toHaveLength(1);
    expect(asked1[key1!]).toMatchObject({ method: 'elicitation/create', params: { message: 'Your name, for tea?' } });

    const second = await call(tool, args, { inputResponses: { [key1!]: { action: 'accept', content: { name: 'Ada' } } }, requestState: first.result!.requestState });
    const asked2 = inputs(second);
    expect(Object.values(asked2)).toMatchObject([{ method: 'sampling/createMessage', params: { maxTokens: 20 } }]);
    expect(second.result!.requestState).not.toBe(first.result!.requestState);

    const third = await call(tool, args, { inputResponses: { [Object.keys(asked2)[0]!]: SAMPLED('tea is nice') }, requestState: second.result!.requestState });
    const asked3 = inputs(third);
    expect(Object.values(asked3)).toMatchObject([{ method: 'roots/list' }]);

    // The state of an earlier round is stale now.
    const stale = await call(tool, args, { inputResponses: { [key1!]: { action: 'accept', content: { name: 'Eve' } } }, requestState: first.result!.requestState });
    expect(stale.error).toMatchObject({ code: -32602, data: { requestState: 'stale' } });

    const done = await call(tool, args, { inputResponses: { [Object.keys(asked3)[0]!]: { roots: [{ uri: 'file:///tmp/tea', name: 'tea' }] } }, requestState: third.result!.requestState });
    expect(textOf(done)).toBe('name=Ada; sample=tea is nice; roots=file:///tmp/tea');
    // Answered: its state opens nothing any more.
    const again = await call(tool, args, { inputResponses: {}, requestState: third.result!.requestState });
    expect(again.error).toMatchObject({ code: -32602, data: { requestState: 'unknown' } });
    expect(again.error!.message).toMatch(/another instance/);
  });

  it('two requests the upstream sends at once go out in one round; a missing response is asked again', async () => {
    const first = await call('askstdio__ask_twice', {});
    const asked = inputs(first);
    const keys = Object.keys(asked);
    expect(keys).toHaveLength(2);
    expect(Object.values(asked).map((a) => a.method)).toEqual(['sampling/createMessage', 'sampling/createMessage']);
    const texts = Object.fromEntries(keys.map((k) => [k, SAMPLED(`${(asked[k]!.params.messages as { content: { text: string } }[])[0]!.content.text}-answer`)]));
    // Only one answered: the other comes back as the round's one request.
    const partial = await call('askstdio__ask_twice', {}, { inputResponses: { [keys[0]!]: texts[keys[0]!] }, requestState: first.result!.requestState });
    expect(Object.keys(inputs(partial))).toEqual([keys[1]]);
    const done = await call('askstdio__ask_twice', {}, { inputResponses: { [keys[1]!]: texts[keys[1]!] }, requestState: partial.result!.requestState });
    expect(textOf(done)).toBe('first=first-answer; second=second-answer');
  });

  it('a tampered or foreign requestState, or one for another call, is refused with -32602; the round stays open for the right one', async () => {
    const first = await call('askhttp__ask_all', { topic: 'cake' });
    const [key] = Object.keys(inputs(first));
    const state = String(first.result!.requestState);
    const response = { inputResponses: { [key!]: { action: 'accept', content: { name: 'Ada' } } } };
    const [prefix, payload, mac] = state.split('.');
    const flipped = `${prefix}.${payload}.${mac!.slice(0, -2)}${mac!.endsWith('AA') ? 'BB' : 'AA'}`;
    const forged = `${prefix}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), s: 9 })).toString('base64url')}.${mac}`;
    for (const bad of [`${state}-TAMPERED`, flipped, forged, 'not-a-state', `${state.slice(0, -1)}`]) {
      const reply = await call('askhttp__ask_all', { topic: 'cake' }, { ...response, requestState: bad });
      expect(reply.error, bad).toMatchObject({ code: -32602, data: { requestState: 'tampered' } });
      expect(reply.error!.message).toMatch(/integrity/);
    }
    const foreign = await call('askhttp__ask_all', { topic: 'cake' }, { ...response, requestState: state }, ALL, other);
    expect(foreign.error).toMatchObject({ code: -32602, data: { requestState: 'foreign' } });
    expect(foreign.error!.message).toMatch(/another caller/);
    const otherCall = await call('askhttp__ask_all', { topic: 'pie' }, { ...response, requestState: state });
    expect(otherCall.error).toMatchObject({ code: -32602, data: { requestState: 'other_call' } });
    const notString = await call('askhttp__ask_all', { topic: 'cake' }, { ...response, requestState: 42 });
    expect(notString.error).toMatchObject({ code: -32602 });
    // None of these touched the round: the right state still answers it.
    const next = await call('askhttp__ask_all', { topic: 'cake' }, { ...response, requestState: state });
    const asked = inputs(next);
    expect(Object.values(asked)).toMatchObject([{ method: 'sampling/createMessage' }]);
    const roots = await call('askhttp__ask_all', { topic: 'cake' }, { inputResponses: { [Object.keys(asked)[0]!]: SAMPLED('cake!') }, requestState: next.result!.requestState });
    const done = await call('askhttp__ask_all', { topic: 'cake' }, { inputResponses: { [Object.keys(inputs(roots))[0]!]: { roots: [] } }, requestState: roots.result!.requestState });
    expect(textOf(done)).toBe('name=Ada; sample=cake!; roots=');
  });

  it('a round nobody answers expires after the call timeout: the upstream request gets an error and a late retry is refused', async () => {
    const first = await call('askshort__ask_sampling', {});
    const [key] = Object.keys(inputs(first));
    await new Promise((r) => setTimeout(r, 2_000));
    const late = await call('askshort__ask_sampling', {}, { inputResponses: { [key!]: SAMPLED('too late') }, requestState: first.result!.requestState });
    expect(late.error).toMatchObject({ code: -32602, data: { requestState: 'expired' } });
    expect(late.error!.message).toMatch(/expired/);
    expect(textOf(await call('askshort__last_outcome', {}))).toMatch(/^error .*(input round expired|call ended before the client answered)/);
  });

  it('a client that did not declare sampling is not asked: the upstream hears no and the tool reports it', async () => {
    const reply = await call('askstdio__ask_sampling', {}, {}, { elicitation: { form: {} } });
    expect(textOf(reply)).toMatch(/^sampling failed: .*did not declare/);
    expect(reply.result!.isError).toBe(true);
    // Only sampling declared: the tool's first request (elicitation) is refused upstream, never asked.
    const samplingOnly = await call('askhttp__ask_all', { topic: 'tea' }, {}, { sampling: {} });
    expect(textOf(samplingOnly)).toMatch(/did not declare/);
    expect(samplingOnly.result!.isError).toBe(true);
  });

  it('a tool that asks nothing completes at once, and no round stays open', async () => {
    expect(textOf(await call('askhttp__last_outcome', {}))).toMatch(/^(answer|error|none)/);
    expect(gw.gateway.federation.rounds.size).toBe(0);
  });

  it('at most 16 rounds wait per caller: the 17th call that asks is refused, the others still complete', async () => {
    const open = await Promise.all(Array.from({ length: 16 }, () => call('askhttp__ask_sampling', {}, {}, ALL, other)));
    for (const reply of open) inputs(reply);
    expect(gw.gateway.federation.rounds.size).toBe(16);
    const refused = await call('askhttp__ask_sampling', {}, {}, ALL, other);
    expect(refused.error).toMatchObject({ code: -32602 });
    expect(refused.error!.message).toMatch(/too many pending input rounds/);
    // Another caller is not held back by this one's rounds.
    const mine = await call('askhttp__ask_sampling', {});
    const [key] = Object.keys(inputs(mine));
    expect(textOf(await call('askhttp__ask_sampling', {}, { inputResponses: { [key!]: SAMPLED('mine') }, requestState: mine.result!.requestState }))).toBe('sampled=mine');
    const done = await Promise.all(
      open.map((reply) => call('askhttp__ask_sampling', {}, { inputResponses: { [Object.keys(inputs(reply))[0]!]: SAMPLED('ok') }, requestState: reply.result!.requestState }, ALL, other)),
    );
    for (const reply of done) expect(textOf(reply)).toBe('sampled=ok');
    expect(gw.gateway.federation.rounds.size).toBe(0);
  });
});

// The other way: a 2025 client (the SDK 1.x Client, with a session and handlers) calling tools of a
// 2026-07-28-only upstream (the conformance fixture with --modern-only: initialize refused) whose
// tools answer input_required: the gateway asks the client on its stream and retries upstream.
describe('era translation: a 2025 client, a 2026-07-28-only upstream that answers input_required', () => {
  let gw: TestGateway;
  let upstream: ChildProcess;
  const seen: string[] = [];

  beforeAll(async () => {
    upstream = spawn(process.execPath, [CONFORMANCE, '0', '--modern-only'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve) => upstream.stdout!.on('data', (c) => /ready (\d+)/.test(String(c)) && resolve(/ready (\d+)/.exec(String(c))![1]!)));
    gw = await startTestGateway(STORES[0]!);
    const created = await gw.api('/gateways', { method: 'POST', body: { name: 'only26', url: `http://127.0.0.1:${port}/mcp` } });
    expect(created.status, await created.clone().text()).toBe(201);
    const refreshed = await gw.api('/gateways/only26/refresh', { method: 'POST' });
    expect(refreshed.status, await refreshed.clone().text()).toBe(200);
    expect(((await refreshed.json()) as { tools: number }).tools).toBeGreaterThan(10);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    if (upstream) await stopChild(upstream);
  });

  async function client(capabilities: Record<string, unknown>): Promise<V1Client> {
    const c = new V1Client({ name: 'era-2025', version: '1' }, { capabilities });
    if (capabilities.elicitation) {
      c.setRequestHandler(ElicitRequestSchema, async (request) => {
        seen.push(`elicit ${request.params.message}`);
        if (/color/.test(request.params.message)) return { action: 'accept', content: { color: 'blue' } };
        if (/confirm/i.test(request.params.message)) return { action: 'accept', content: { ok: true } };
        if (/context/.test(request.params.message)) return { action: 'accept', content: { context: 'the tea room' } };
        return { action: 'accept', content: { name: 'Ada' } };
      });
    }
    if (capabilities.sampling) {
      c.setRequestHandler(CreateMessageRequestSchema, async () => {
        seen.push('sample');
        return SAMPLED('Bonjour') as never;
      });
    }
    if (capabilities.roots) c.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///tmp/era', name: 'era' }] }));
    await c.connect(new V1Http(new URL(`${gw.url}/mcp`), { requestInit: { headers: AUTH_HEADERS } }));
    return c;
  }
  const textOf = (result: unknown) => ((result as { content: { text: string }[] }).content[0]!.text);

  it('one round, several rounds, several requests in one round, and the upstream\'s requestState, all as server-to-client requests', async () => {
    const c = await client({ elicitation: {}, sampling: {}, roots: {} });
    try {
      seen.length = 0;
      const one = await c.callTool({ name: 'only26__test_input_required_result_elicitation', arguments: {} }, CallToolResultSchema);
      expect(textOf(one)).toBe('Hello, Ada!');
      expect(one).not.toHaveProperty('resultType');
      expect(seen).toEqual(['elicit What is your name?']);
      const multi = await c.callTool({ name: 'only26__test_input_required_result_multi_round', arguments: {} }, CallToolResultSchema);
      expect(textOf(multi)).toBe('Multi-round complete: Ada likes blue');
      const all = await c.callTool({ name: 'only26__test_input_required_result_multiple_inputs', arguments: {} }, CallToolResultSchema);
      expect(textOf(all)).toBe('Bonjour Ada: 1 root(s) visible');
      // The upstream verifies its own sealed state: it arrived untouched.
      const state = await c.callTool({ name: 'only26__test_input_required_result_request_state', arguments: {} }, CallToolResultSchema);
      expect(textOf(state)).toBe('state-ok: requestState verified and confirmation received');
      const prompt = await c.getPrompt({ name: 'only26__test_input_required_result_prompt', arguments: {} });
      expect((prompt.messages[0]!.content as { text: string }).text).toBe('Use the following context: the tea room');
      // A tool that asks nothing: a plain result.
      expect(textOf(await c.callTool({ name: 'only26__test_simple_text', arguments: {} }, CallToolResultSchema))).toMatch(/simple/i);
    } finally {
      await c.close();
    }
  });

  it('progress under the client\'s token, and log messages at the level it set, reach the 2025 client', async () => {
    const c = await client({});
    try {
      const progress: number[] = [];
      await c.callTool({ name: 'only26__test_tool_with_progress', arguments: {} }, CallToolResultSchema, { onprogress: (p) => progress.push(p.progress) });
      expect(progress).toEqual([0, 50, 100]);
      const logs: string[] = [];
      c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(`${n.params.level} ${String(n.params.data)}`));
      await c.setLoggingLevel('info');
      await c.callTool({ name: 'only26__test_tool_with_logging', arguments: {} }, CallToolResultSchema);
      expect(logs.length).toBeGreaterThanOrEqual(3);
      expect(logs[0]).toMatch(/^info /);
    } finally {
      await c.close();
    }
  });

  it('a client that did not declare the capability is not asked: the call fails with -32021 naming it', async () => {
    const c = await client({ sampling: {} });
    try {
      seen.length = 0;
      const failed = await c.callTool({ name: 'only26__test_input_required_result_elicitation', arguments: {} }, CallToolResultSchema).then(
        () => undefined,
        (error: unknown) => error as { code?: number; message: string },
      );
      expect(failed, 'the call must fail').toBeDefined();
      expect(failed!.code).toBe(-32021);
      expect(failed!.message).toMatch(/elicitation/);
      expect(seen).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('a 2026-07-28 client of the same upstream still gets its input_required rounds untouched', async () => {
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'only26__test_input_required_result_elicitation', arguments: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': ALL } } };
    const res = await fetch(`${gw.url}/mcp`, { method: 'POST', headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(body) }, body: JSON.stringify(body) });
    const reply = (await res.json()) as { result: Record<string, unknown> };
    expect(reply.result).toMatchObject({ resultType: 'input_required', inputRequests: { user_name: { method: 'elicitation/create' } } });
  });
});
