import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardHeaders } from '../src/protocol/revision-2026.js';
import { sseEvents } from '../src/protocol/sse.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { startEverything, type HttpUpstream } from './helpers/upstreams.js';

// 2026-07-28 has no resources/subscribe: a client names the resources it wants updates for in
// subscriptions/listen (`notifications.resourceSubscriptions`), and the updates come on that stream
// stamped with the subscription id. Through the gateway, in front of server-everything (a 2025
// upstream over Streamable HTTP, whose `toggle-subscriber-updates` sends updates every 5 s for what
// its session subscribed to), raw 2026-07-28 HTTP as a client sends it.
const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' } };
const SUBSCRIPTION = 'io.modelcontextprotocol/subscriptionId';

type Frame = { method?: string; params?: Record<string, unknown>; error?: { code: number; message: string } };

describe('subscriptions/listen resourceSubscriptions (2026-07-28)', () => {
  let gw: TestGateway;
  let ev: HttpUpstream;
  let uri: string;

  const post = (id: string | number, method: string, params: Record<string, unknown>, signal?: AbortSignal) => {
    const body = { jsonrpc: '2.0', id, method, params: { _meta: META, ...params } };
    return fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(body) },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  };

  /** Open a listen stream; its frames are collected as they arrive. */
  const listen = async (id: string, notifications: Record<string, unknown>) => {
    const abort = new AbortController();
    const res = await post(id, 'subscriptions/listen', { notifications }, abort.signal);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const frames: Frame[] = [];
    const reading = (async () => {
      for await (const { data } of sseEvents(res.body!)) if (data.trim()) frames.push(JSON.parse(data) as Frame);
    })().catch(() => undefined);
    return { frames, close: () => abort.abort(), reading };
  };

  beforeAll(async () => {
    ev = await startEverything('streamableHttp');
    gw = await startTestGateway(STORES[0]!);
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'ev', url: `http://127.0.0.1:${ev.port}/mcp` } })).status).toBe(201);
    // The gateway's own resource: served, but nothing ever sends updates of it.
    expect((await gw.api('/resources', { method: 'POST', body: { uri: 'memo://local-note', text: 'kept here' } })).status).toBe(201);
    uri = await waitFor(async () => {
      const res = await post(1, 'resources/list', {});
      const list = ((await res.json()) as { result?: { resources: { uri: string }[] } }).result?.resources ?? [];
      return list.find((r) => r.uri.startsWith('demo://resource/static/'))?.uri;
    }, 'a static resource of server-everything');
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await ev?.stop();
  });

  it('acknowledges the resources whose updates can come, then delivers their updates on the stream, stamped with the subscription', async () => {
    const watching = await listen('watch-1', { resourceSubscriptions: [uri, 'demo://no/such/resource', 'memo://local-note'] });
    const other = await listen('other-1', { toolsListChanged: true });
    try {
      const ack = await waitFor(() => watching.frames[0], 'the acknowledgement');
      expect(ack).toEqual({
        jsonrpc: '2.0',
        method: 'notifications/subscriptions/acknowledged',
        params: { _meta: { [SUBSCRIPTION]: 'watch-1' }, notifications: { resourceSubscriptions: [uri] } },
      });
      await waitFor(() => other.frames[0], 'the other acknowledgement');
      // The updates are those of the upstream session the 2026 requests use (the shared one).
      const toggled = await post(2, 'tools/call', { name: 'ev__toggle-subscriber-updates', arguments: {} });
      expect(JSON.stringify(await toggled.json())).toContain('Started simulated resource updated notifications');
      const update = await waitFor(() => watching.frames.find((f) => f.method === 'notifications/resources/updated'), 'the resource update', 12_000);
      expect(update.params).toMatchObject({ uri, _meta: { [SUBSCRIPTION]: 'watch-1' } });
      // A stream that did not name the resource hears nothing of it.
      expect(other.frames.filter((f) => f.method === 'notifications/resources/updated')).toEqual([]);
      await post(3, 'tools/call', { name: 'ev__toggle-subscriber-updates', arguments: {} });
    } finally {
      watching.close();
      other.close();
    }
  });

  it('ends a stream that asked for nothing it can honour right after the acknowledgement', async () => {
    const res = await post('none-1', 'subscriptions/listen', { notifications: { resourceSubscriptions: ['demo://no/such/resource'] } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('notifications/subscriptions/acknowledged');
    expect(text).toContain('"resourceSubscriptions":[]');
  });

  it('refuses resourceSubscriptions that are not a list of URIs with -32602 and HTTP 400, naming the field', async () => {
    for (const bad of ['demo://x', [42], Array.from({ length: 1001 }, (_, i) => `demo://r/${i}`), ['']]) {
      const res = await post('bad', 'subscriptions/listen', { notifications: { resourceSubscriptions: bad } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Frame & { id: unknown };
      expect(body.error?.code).toBe(-32602);
      expect(body.error?.message).toContain('notifications.resourceSubscriptions');
      expect(body.id).toBe('bad');
    }
  });
});
