import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { startEverything, type HttpUpstream } from './helpers/upstreams.js';

const RELAY = fileURLToPath(new URL('./fixtures/relay-upstream.mjs', import.meta.url));

// No client sees another's upstream session: with STDIO_UPSTREAM_SESSIONS=per-client each client
// session gets its own stdio process (state kept in the process), stateful Streamable HTTP
// upstreams one upstream session each; UPSTREAM_SESSION_MAX bounds the pool per gateway.
describe('upstream sessions are isolated per client session', () => {
  let gw: TestGateway;
  let http: HttpUpstream;
  const clients: Client[] = [];

  const connect = async () => {
    const client = new Client({ name: 'iso', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: AUTH_HEADERS } }));
    clients.push(client);
    return client;
  };
  const said = (result: unknown) => ((result as { content: { text: string }[] }).content[0]!.text);
  const metric = async (pattern: RegExp) => {
    const text = await (await gw.api('/metrics')).text();
    const match = pattern.exec(text);
    return match ? Number(match[1]) : 0;
  };

  beforeAll(async () => {
    http = await startEverything('streamableHttp');
    gw = await startTestGateway(STORES[0]!, { STDIO_UPSTREAM_SESSIONS: 'per-client', UPSTREAM_SESSION_MAX: '2' });
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'fx', transport: 'stdio', command: process.execPath, args: [RELAY] } })).status).toBe(201);
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'ev', url: `http://127.0.0.1:${http.port}/mcp` } })).status).toBe(201);
    await waitFor(async () => ((await gw.api('/tools/fx__recall')).status === 200 && (await gw.api('/tools/ev__echo')).status === 200 ? true : undefined), 'tools');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await gw?.close();
    await http?.stop();
  });

  it('keeps one client\'s session state from another (stdio, one process per client session)', async () => {
    const a = await connect();
    const b = await connect();
    expect(said(await a.callTool({ name: 'fx__remember', arguments: { value: 'alpha' } }))).toBe('remembered alpha');
    expect(said(await b.callTool({ name: 'fx__recall', arguments: {} }))).toBe('null');
    await b.callTool({ name: 'fx__remember', arguments: { value: 'beta' } });
    expect(said(await a.callTool({ name: 'fx__recall', arguments: {} }))).toBe('alpha');
    expect(said(await b.callTool({ name: 'fx__recall', arguments: {} }))).toBe('beta');
    // A request without a session is served by the shared process, which saw neither.
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fx__recall', arguments: {} } }),
    });
    expect(JSON.stringify(await res.json())).toContain('"text":"null"');
    expect(await metric(/mcpgateway_upstream_sessions\{gateway="fx"\} (\d+)/)).toBe(2);
  });

  it('gives each client session its own upstream session on a stateful Streamable HTTP upstream', async () => {
    const before = await metric(/mcpgateway_upstream_session_events_total\{gateway="ev",event="opened"\} (\d+)/);
    const [c, d] = [await connect(), await connect()];
    for (const client of [c, d, c, d]) await client.callTool({ name: 'ev__echo', arguments: { message: 'hi' } });
    expect(await metric(/mcpgateway_upstream_session_events_total\{gateway="ev",event="opened"\} (\d+)/)).toBe(before + 2);
    expect(await metric(/mcpgateway_upstream_sessions\{gateway="ev"\} (\d+)/)).toBeLessThanOrEqual(2);
  });

  it('holds UPSTREAM_SESSION_MAX: the idlest session makes room, and a full pool of busy sessions refuses', async () => {
    const e = await connect();
    const f = await connect();
    const abort = new AbortController();
    const busy = [e, f].map((client) => client.callTool({ name: 'fx__wait_for_cancel', arguments: {} }, { signal: abort.signal }).catch(() => undefined));
    await waitFor(async () => ((await metric(/mcpgateway_upstream_session_events_total\{gateway="fx",event="idle_closed"\} (\d+)/)) >= 2 ? true : undefined), 'two idle sessions closed to make room');
    const g = await connect();
    const refused = await g.callTool({ name: 'fx__recall', arguments: {} }).then(
      (r) => JSON.stringify(r),
      (error: unknown) => String(error),
    );
    expect(refused).toMatch(/UPSTREAM_SESSION_MAX/);
    expect(await metric(/mcpgateway_upstream_session_events_total\{gateway="fx",event="refused"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(await metric(/mcpgateway_upstream_sessions\{gateway="fx"\} (\d+)/)).toBe(2);
    abort.abort();
    await Promise.all(busy);
  });

  it('closes a client\'s upstream session when the client ends its session', async () => {
    const h = await connect();
    const before = await metric(/mcpgateway_upstream_session_events_total\{gateway="ev",event="opened"\} (\d+)/);
    await h.callTool({ name: 'ev__echo', arguments: { message: 'bye' } });
    expect(await metric(/mcpgateway_upstream_session_events_total\{gateway="ev",event="opened"\} (\d+)/)).toBe(before + 1);
    const open = await metric(/mcpgateway_upstream_sessions\{gateway="ev"\} (\d+)/);
    await (h.transport as StreamableHTTPClientTransport).terminateSession();
    await waitFor(async () => ((await metric(/mcpgateway_upstream_sessions\{gateway="ev"\} (\d+)/)) === open - 1 ? true : undefined), 'the upstream session closed');
  });
});
