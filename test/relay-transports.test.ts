import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { EVERYTHING, startConformanceFixture, startEverything, type HttpUpstream } from './helpers/upstreams.js';

const RELAY = fileURLToPath(new URL('./fixtures/relay-upstream.mjs', import.meta.url));
type Json = Record<string, unknown>;

/** An SDK client that declares sampling and elicitation and answers both. */
async function capableClient(url: string): Promise<Client> {
  const client = new Client({ name: 'capable', version: '1' }, { capabilities: { sampling: {}, elicitation: { form: {} } } });
  client.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', content: { type: 'text', text: 'sampled-by-client' }, model: 'test-model', stopReason: 'endTurn' }));
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada Lovelace' } }));
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: AUTH_HEADERS } }));
  return client;
}

const text = (result: unknown) => JSON.stringify((result as { content?: unknown }).content ?? result);

// Every upstream transport relays the same: server-everything over Streamable HTTP, legacy SSE and
// stdio behind the gateway, a real SDK client in front. Before, stdio and SSE upstreams answered
// sampling and elicitation with -32601 and lost the last progress notification.
describe('every upstream transport relays the same', () => {
  let gw: TestGateway;
  let http: HttpUpstream;
  let sse: HttpUpstream;
  let conformance: HttpUpstream;
  let client: Client;

  beforeAll(async () => {
    [http, sse, conformance] = await Promise.all([startEverything('streamableHttp'), startEverything('sse'), startConformanceFixture()]);
    gw = await startTestGateway(STORES[0]!);
    const gateways: Json[] = [
      { name: 'ev', url: `http://127.0.0.1:${http.port}/mcp` },
      { name: 'evsse', url: `http://127.0.0.1:${sse.port}/sse`, transport: 'sse' },
      { name: 'evstdio', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] },
      { name: 'fx', transport: 'stdio', command: process.execPath, args: [RELAY], timeout_ms: 400 },
      { name: 'cf', url: `http://127.0.0.1:${conformance.port}/mcp`, timeout_ms: 400 },
    ];
    for (const body of gateways) expect((await gw.api('/gateways', { method: 'POST', body })).status).toBe(201);
    for (const name of ['ev', 'evsse', 'evstdio']) {
      await waitFor(async () => ((await gw.api(`/tools/${name}__trigger-sampling-request`)).status === 200 ? true : undefined), `${name} conditional tools`);
    }
    for (const name of ['fx', 'cf']) await waitFor(async () => ((await gw.api(`/tools/${name}__wait_for_cancel`)).status === 200 ? true : undefined), `${name} tools`);
    client = await capableClient(`${gw.url}/mcp`);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await gw?.close();
    await http?.stop();
    await sse?.stop();
    await conformance?.stop();
  });

  describe.each(['ev', 'evsse', 'evstdio'])('upstream %s', (gateway) => {
    it('relays sampling to the calling client', async () => {
      const result = await client.callTool({ name: `${gateway}__trigger-sampling-request`, arguments: { prompt: 'hello', maxTokens: 10 } });
      expect(result.isError).toBeFalsy();
      expect(text(result)).toContain('sampled-by-client');
    });

    it('relays elicitation to the calling client', async () => {
      const result = await client.callTool({ name: `${gateway}__trigger-elicitation-request`, arguments: {} });
      expect(result.isError).toBeFalsy();
      expect(text(result)).toContain('Ada Lovelace');
    });

    it('delivers every progress notification, the last one too, before the result', async () => {
      const counts = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const seen: number[] = [];
          const result = await client.callTool({ name: `${gateway}__trigger-long-running-operation`, arguments: { duration: 0.06, steps: 3 } }, { onprogress: (p) => seen.push(p.progress) });
          expect(result.isError).toBeFalsy();
          return seen;
        }),
      );
      for (const seen of counts) expect(seen).toEqual([1, 2, 3]);
    });
  });

  describe.each(['ev', 'evsse', 'evstdio'])('a client that declared nothing, upstream %s', (gateway) => {
    it('is never sent sampling or elicitation: the upstream gets an error instead', async () => {
      const headers = { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const init = await fetch(`${gw.url}/mcp`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bare', version: '1' } } }),
      });
      const session = init.headers.get('mcp-session-id');
      expect(session).toBeTruthy();
      await init.text();
      for (const tool of ['trigger-sampling-request', 'trigger-elicitation-request']) {
        const res = await fetch(`${gw.url}/mcp`, {
          method: 'POST',
          headers: { ...headers, 'mcp-session-id': session!, 'mcp-protocol-version': '2025-11-25' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: `${gateway}__${tool}`, arguments: { prompt: 'x', maxTokens: 5 } } }),
        });
        const body = await res.text();
        expect(body).not.toMatch(/"method":"(sampling\/createMessage|elicitation\/create)"/);
        expect(body).toMatch(/did not declare/);
        expect(body).toMatch(/"isError":true|"error"/);
      }
    });
  });

  // server-everything over Streamable HTTP asks for roots on its standalone stream, outside the call: not relayed (docs/mcp.md).
  it.each(['evstdio'])('relays roots/list during a call to a client that declared roots (%s)', async (gateway) => {
    const rooted = new Client({ name: 'rooted', version: '1' }, { capabilities: { roots: { listChanged: true } } });
    rooted.setRequestHandler('roots/list', async () => ({ roots: [{ uri: 'file:///work/project', name: 'project' }] }));
    await rooted.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: AUTH_HEADERS } }));
    try {
      await waitFor(async () => ((await gw.api(`/tools/${gateway}__get-roots-list`)).status === 200 ? true : undefined), 'the roots tool');
      const result = await rooted.callTool({ name: `${gateway}__get-roots-list`, arguments: {} });
      expect(text(result)).toContain('file:///work/project');
    } finally {
      await rooted.close();
    }
  });

  // Identical resource URIs from three upstreams: the first one's wins, so each runs alone.
  describe.each(['evstdio', 'evsse', 'ev'])('out of band, upstream %s', (gateway) => {
    const others = () => ['ev', 'evsse', 'evstdio'].filter((g) => g !== gateway);
    beforeAll(async () => {
      for (const g of others()) expect((await gw.api(`/gateways/${g}`, { method: 'PATCH', body: { is_active: false } })).status).toBe(200);
      await waitFor(async () => ((await gw.api(`/tools/${gateway}__toggle-subscriber-updates`)).status === 200 && (await client.listTools()).tools.every((t) => !others().some((g) => t.name.startsWith(`${g}__`))) && (await client.listResources()).resources.some((r) => r.uri.startsWith('demo://resource/static/')) ? true : undefined), 'only one upstream');
    });
    afterAll(async () => {
      for (const g of others()) await gw.api(`/gateways/${g}`, { method: 'PATCH', body: { is_active: true } });
    });

    it('delivers notifications/resources/updated to the subscribed session and log messages after logging/setLevel', async () => {
      const subscriber = await capableClient(`${gw.url}/mcp`);
      const bystander = await capableClient(`${gw.url}/mcp`);
      const updates: string[] = [];
      const logs: string[] = [];
      const elsewhere: string[] = [];
      subscriber.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
      subscriber.setNotificationHandler('notifications/message', (n) => void logs.push(JSON.stringify(n.params.data)));
      bystander.setNotificationHandler('notifications/resources/updated', (n) => void elsewhere.push(n.params.uri));
      try {
        const { resources } = await subscriber.listResources();
        const uri = resources.find((r) => r.uri.startsWith('demo://resource/static/'))!.uri;
        await subscriber.setLoggingLevel('debug');
        await subscriber.subscribeResource({ uri });
        await subscriber.callTool({ name: `${gateway}__toggle-subscriber-updates`, arguments: {} });
        await waitFor(() => (updates.includes(uri) ? true : undefined), 'the resource update', 8_000);
        await waitFor(() => (logs.some((l) => l.includes('Subscribe')) ? true : undefined), 'the log message', 8_000);
        expect(elsewhere).toEqual([]);
        await subscriber.callTool({ name: `${gateway}__toggle-subscriber-updates`, arguments: {} });
      } finally {
        await subscriber.close();
        await bystander.close();
      }
    });
  });

  it.each(['fx', 'cf'])('cancels a timed-out call upstream (notifications/cancelled; fx over stdio, cf over Streamable HTTP): %s', async (gateway) => {
    await expect(client.callTool({ name: `${gateway}__wait_for_cancel`, arguments: {} })).rejects.toThrow(/within 400 ms/);
    const count = await waitFor(async () => {
      const result = await client.callTool({ name: `${gateway}__cancelled_count`, arguments: {} });
      const n = Number(JSON.parse(text(result))[0].text);
      return n >= 1 ? n : undefined;
    }, 'the upstream saw the cancellation', 5_000);
    expect(count).toBe(1);
  });

  it('cancels upstream when the client cancels (stdio)', async () => {
    const before = Number(JSON.parse(text(await client.callTool({ name: 'fx__cancelled_count', arguments: {} })))[0].text);
    const abort = new AbortController();
    const call = client.callTool({ name: 'fx__wait_for_cancel', arguments: {} }, { signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    await expect(call).rejects.toThrow();
    await waitFor(async () => {
      const n = Number(JSON.parse(text(await client.callTool({ name: 'fx__cancelled_count', arguments: {} })))[0].text);
      return n > before ? true : undefined;
    }, 'the upstream saw the cancellation', 5_000);
  });
});
