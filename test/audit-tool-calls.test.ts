import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../src/services/audit.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startHttp, type TestHttp } from './helpers/mcp.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

// AUDIT_TOOL_CALLS: a real SDK client with a stored token calls REST tools on a real HTTP API
// through the gateway; each call becomes one audit event with its actor, tool, outcome and
// duration, never its arguments. Without the setting no call is recorded.
const ARG_SECRET = 'argument-value-that-must-never-be-audited';

async function clientWith(url: string, token: string, legacy = false): Promise<Client> {
  const headers = { authorization: `Bearer ${token}` };
  if (legacy) {
    // 2024-11-05 over the legacy SSE endpoint, the gateway's other MCP transport.
    const client = new Client({ name: 'audit-test', version: '1' }, { supportedProtocolVersions: ['2024-11-05'] });
    const withToken = (input: string | URL, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } });
    await client.connect(new SSEClientTransport(new URL(`${url}/sse`), { requestInit: { headers }, eventSourceInit: { fetch: withToken } } as never));
    return client;
  }
  const client = new Client({ name: 'audit-test', version: '1' }, { supportedProtocolVersions: ['2025-11-25'] });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  return client;
}

for (const store of STORES) {
  const available = store.name === 'sqlite' || postgresAvailable;
  describe.skipIf(!available)(`tool calls in the audit trail on ${store.name}`, () => {
    let api: TestHttp;
    let on: TestGateway;
    let off: TestGateway;
    let token: { id: string; token: string };

    const setUp = async (gw: TestGateway) => {
      for (const [name, path] of [['echo-ok', '/ok'], ['echo-fail', '/fail']] as const) {
        const res = await gw.api('/tools', { method: 'POST', body: { name, url: `${api.url}${path}`, request_type: 'POST' } });
        expect(res.status, await res.clone().text()).toBe(201);
      }
      const res = await gw.api('/tokens', { method: 'POST', body: { name: 'calling-agent', role: 'client' } });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; token: string };
    };
    const callEvents = async (gw: TestGateway) => (await (await gw.api('/audit?kind=tool_calls&limit=10000')).json()) as AuditEvent[];

    beforeAll(async () => {
      api = await startHttp((req, _body, res) => {
        res.statusCode = req.url === '/fail' ? 500 : 200;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: req.url !== '/fail' }));
      });
      on = await startTestGateway(store, { AUDIT_TOOL_CALLS: 'true' });
      off = await startTestGateway(store);
      token = await setUp(on);
      const offToken = await setUp(off);
      for (const [gw, t] of [[on, token.token], [off, offToken.token]] as const) {
        const client = await clientWith(gw.url, t);
        try {
          for (let i = 0; i < 4; i++) expect((await client.callTool({ name: 'echo-ok', arguments: { secret: ARG_SECRET, i } })).isError).toBeFalsy();
          expect((await client.callTool({ name: 'echo-fail', arguments: { secret: ARG_SECRET } })).isError).toBe(true);
        } finally {
          await client.close();
        }
      }
      const legacy = await clientWith(on.url, token.token, true);
      try {
        expect((await legacy.callTool({ name: 'echo-ok', arguments: { secret: ARG_SECRET, via: 'sse' } })).isError).toBeFalsy();
      } finally {
        await legacy.close();
      }
    });
    afterAll(async () => {
      await on?.close();
      await off?.close();
      await api?.close();
    });

    it('records each call once (Streamable HTTP and legacy SSE) with its actor, tool, outcome and duration', async () => {
      const events = await callEvents(on);
      expect(events).toHaveLength(6);
      for (const e of events) {
        expect(e).toMatchObject({ action: 'call', kind: 'tool_calls', actor_subject: 'calling-agent', actor_method: 'token', actor_token_id: token.id, source: '127.0.0.1', object_id: null, count: 1 });
        expect(e.request_id).toBeTruthy();
        expect(typeof e.duration_ms).toBe('number');
        expect(e.duration_ms).toBeGreaterThanOrEqual(0);
      }
      expect(events.filter((e) => e.object_name === 'echo-ok').map((e) => e.outcome)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      expect(events.filter((e) => e.object_name === 'echo-fail').map((e) => e.outcome)).toEqual(['failed:TOOL_ERROR']);
    });

    it('never records arguments', async () => {
      expect(api.requests.filter((r) => r.body.includes(ARG_SECRET))).toHaveLength(11);
      const all = await (await on.api('/audit?limit=10000')).text();
      expect(all).not.toContain(ARG_SECRET);
      expect(all).not.toContain(token.token);
    });

    it('records no call without AUDIT_TOOL_CALLS', async () => {
      expect(await callEvents(off)).toEqual([]);
      expect((await (await off.api('/audit?kind=tokens')).json()) as AuditEvent[]).toHaveLength(1);
    });
  });
}
