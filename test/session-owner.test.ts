import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { STORES } from './helpers/stores.js';

// A client session (legacy SSE, or Streamable HTTP's Mcp-Session-Id) belongs to the principal that
// opened it: another principal holding its id is answered as if the session did not exist.
const basic = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
const ACCEPT = 'application/json, text/event-stream';
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

let gw: TestGateway;
let other: string;

beforeAll(async () => {
  gw = await startTestGateway(STORES[0]!);
  const res = await gw.api('/tokens', { method: 'POST', body: { name: 'someone-else', role: 'editor' } });
  expect(res.status).toBe(201);
  other = `Bearer ${((await res.json()) as { token: string }).token}`;
});
afterAll(async () => {
  await gw?.close();
});

const post = (path: string, authorization: string, body: unknown, session?: string) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization, accept: ACCEPT, 'content-type': 'application/json', ...(session ? { 'mcp-session-id': session } : {}) },
    body: JSON.stringify(body),
  });

describe('client sessions belong to the principal that opened them', () => {
  it('refuses a legacy /message for another principal as an unknown session, and serves its owner', async () => {
    const abort = new AbortController();
    const stream = await fetch(`${gw.url}/sse`, { headers: { authorization: basic, accept: 'text/event-stream' }, signal: abort.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes('sessionId=')) text += new TextDecoder().decode((await reader.read()).value);
    const endpoint = /data: (\S+)/.exec(text)![1]!;
    try {
      const foreign = await post(endpoint, other, INIT);
      expect(foreign.status).toBe(404);
      const unknown = await post('/message?sessionId=nope', other, INIT);
      expect(await foreign.text()).toBe(await unknown.text());
      expect((await post(endpoint, basic, INIT)).status).toBe(202);
    } finally {
      abort.abort();
    }
  });

  it('does not let another principal end or use a Streamable HTTP session', async () => {
    const opened = await post('/mcp', basic, INIT);
    expect(opened.status).toBe(200);
    const id = opened.headers.get('mcp-session-id');
    expect(id).toBeTruthy();
    const ended = await fetch(`${gw.url}/mcp`, { method: 'DELETE', headers: { authorization: other, 'mcp-session-id': id! } });
    expect(ended.status).toBe(405);
    // Still the owner's: it ends with 204, and then it is gone (404).
    const own = await fetch(`${gw.url}/mcp`, { method: 'DELETE', headers: { authorization: basic, 'mcp-session-id': id! } });
    expect(own.status).toBe(204);
    expect((await post('/mcp', basic, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, id!)).status).toBe(404);
  });
});
