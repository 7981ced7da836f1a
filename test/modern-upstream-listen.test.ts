import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardHeaders } from '../src/protocol/revision-2026.js';
import { sseEvents } from '../src/protocol/sse.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, connectClient, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { stopChild } from './helpers/upstreams.js';

// A 2026-07-28-only upstream (the conformance fixture with --modern-only) has no session to send
// list_changed on: the gateway listens to it with subscriptions/listen, and its list changes lead
// to rediscovery as a 2025 upstream's notifications do.
const CONFORMANCE = fileURLToPath(new URL('./fixtures/conformance-upstream.mjs', import.meta.url));

describe('a 2026-07-28-only upstream: its list changes, heard over subscriptions/listen', () => {
  let gw: TestGateway;
  let upstream: ChildProcess;
  let port: string;
  /** The fixture's stdout: a `listen {filter}` line per subscriptions/listen the gateway sent it. */
  let listens = '';
  const lastListen = () => [...listens.matchAll(/^listen (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { resourceSubscriptions?: string[] }).at(-1);
  const trigger = (uri: string) => fetch(`http://127.0.0.1:${port}/trigger/resource-updated?uri=${encodeURIComponent(uri)}`, { method: 'POST' });

  beforeAll(async () => {
    upstream = spawn(process.execPath, [CONFORMANCE, '0', '--modern-only'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LISTEN: '1' } });
    upstream.stdout!.on('data', (c) => void (listens += String(c)));
    port = await new Promise<string>((resolve) => upstream.stdout!.on('data', (c) => /ready (\d+)/.test(String(c)) && resolve(/ready (\d+)/.exec(String(c))![1]!)));
    gw = await startTestGateway(STORES[0]!);
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'only26', url: `http://127.0.0.1:${port}/mcp` } })).status).toBe(201);
    const refreshed = await gw.api('/gateways/only26/refresh', { method: 'POST' });
    expect(refreshed.status, await refreshed.clone().text()).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    if (upstream) await stopChild(upstream);
  });

  const call = async (name: string) => {
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } }),
    });
    return res.text();
  };
  const rediscoveries = (kind: string) => gw.logs().split('\n').filter((l) => l.includes('upstream list changed; rediscovering') && l.includes('"gateway":"only26"') && l.includes(`"kind":"${kind}"`)).length;

  it('rediscovers when the upstream says its tools or prompts changed', async () => {
    expect(rediscoveries('tools')).toBe(0);
    expect(await call('only26__test_trigger_tool_change')).toContain('tools_list_changed published');
    await waitFor(() => rediscoveries('tools') >= 1, 'the tools rediscovery');
    expect(await call('only26__test_trigger_prompt_change')).toContain('prompts_list_changed published');
    await waitFor(() => rediscoveries('prompts') >= 1, 'the prompts rediscovery');
  });

  it('relays its resource updates to a 2025 client that subscribed, and to a 2026 listen stream that named the resource', async () => {
    const uri = 'test://watched-resource';
    const client = await connectClient(gw.url, '/mcp', '2025-11-25');
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' } };
    const body = { jsonrpc: '2.0', id: 'w-1', method: 'subscriptions/listen', params: { _meta: META, notifications: { resourceSubscriptions: [uri] } } };
    const abort = new AbortController();
    const frames: { method?: string; params?: Record<string, unknown> }[] = [];
    try {
      await client.subscribeResource({ uri });
      const res = await fetch(`${gw.url}/mcp`, {
        method: 'POST',
        headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(body) },
        body: JSON.stringify(body),
        signal: abort.signal,
      });
      void (async () => {
        for await (const { data } of sseEvents(res.body!)) if (data.trim()) frames.push(JSON.parse(data) as (typeof frames)[number]);
      })().catch(() => undefined);
      const ack = await waitFor(() => frames[0], 'the acknowledgement');
      expect(ack.params).toMatchObject({ notifications: { resourceSubscriptions: [uri] } });
      // The gateway reopens its upstream stream with the resource: trigger until an update comes through.
      await waitFor(async () => {
        await trigger(uri);
        await new Promise((r) => setTimeout(r, 200));
        return updates.includes(uri) && frames.some((f) => f.method === 'notifications/resources/updated') ? true : undefined;
      }, 'the resource update on both', 10_000);
      expect(frames.find((f) => f.method === 'notifications/resources/updated')!.params).toMatchObject({ uri, _meta: { 'io.modelcontextprotocol/subscriptionId': 'w-1' } });
      expect(lastListen()?.resourceSubscriptions).toEqual([uri]);
      // The 2026 stream closes, the 2025 client unsubscribes: the gateway listens for the resource no more.
      abort.abort();
      await client.unsubscribeResource({ uri });
      await waitFor(() => (lastListen()?.resourceSubscriptions === undefined ? true : undefined), 'a listen without the resource');
    } finally {
      abort.abort();
      await client.close();
    }
  });

  it('unsubscribes what a 2026 listen stream named once the stream closes', async () => {
    const uri = 'test://watched-resource';
    const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' } };
    const body = { jsonrpc: '2.0', id: 'w-2', method: 'subscriptions/listen', params: { _meta: META, notifications: { resourceSubscriptions: [uri] } } };
    const abort = new AbortController();
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(body) },
      body: JSON.stringify(body),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('acknowledged')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(`"resourceSubscriptions":["${uri}"]`);
    await waitFor(() => (lastListen()?.resourceSubscriptions?.includes(uri) ? true : undefined), 'the gateway listening for the resource');
    abort.abort();
    await waitFor(() => (lastListen()?.resourceSubscriptions === undefined ? true : undefined), 'the gateway no longer listening for it');
  });

  it('stops listening for a resource when the last session subscribed to it ends without unsubscribing', async () => {
    const uri = 'test://watched-resource';
    const client = await connectClient(gw.url, '/mcp', '2025-11-25');
    try {
      await client.subscribeResource({ uri });
      await waitFor(() => (lastListen()?.resourceSubscriptions?.includes(uri) ? true : undefined), 'the gateway listening for the resource');
      // The client ends its session (DELETE) and never unsubscribed.
      await (client.transport as StreamableHTTPClientTransport).terminateSession();
      await waitFor(() => (lastListen()?.resourceSubscriptions === undefined ? true : undefined), 'the gateway no longer listening for it');
    } finally {
      await client.close();
    }
  });

  it('listens again after the upstream restarts', async () => {
    await stopChild(upstream);
    upstream = spawn(process.execPath, [CONFORMANCE, port, '--modern-only'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => upstream.stdout!.on('data', (c) => /ready/.test(String(c)) && resolve()));
    const before = rediscoveries('tools');
    // The stream is reopened within the backoff (1 s, then 2 s…); a trigger before it is open is not heard, so try again.
    await waitFor(async () => {
      await call('only26__test_trigger_tool_change');
      await new Promise((r) => setTimeout(r, 300));
      return rediscoveries('tools') > before ? true : undefined;
    }, 'a rediscovery after the restart', 20_000);
  });
});
