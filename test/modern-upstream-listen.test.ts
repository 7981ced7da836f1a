import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { stopChild } from './helpers/upstreams.js';

// A 2026-07-28-only upstream (the conformance fixture with --modern-only) has no session to send
// list_changed on: the gateway listens to it with subscriptions/listen, and its list changes lead
// to rediscovery as a 2025 upstream's notifications do.
const CONFORMANCE = fileURLToPath(new URL('./fixtures/conformance-upstream.mjs', import.meta.url));

describe('a 2026-07-28-only upstream: its list changes, heard over subscriptions/listen', () => {
  let gw: TestGateway;
  let upstream: ChildProcess;

  beforeAll(async () => {
    upstream = spawn(process.execPath, [CONFORMANCE, '0', '--modern-only'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve) => upstream.stdout!.on('data', (c) => /ready (\d+)/.test(String(c)) && resolve(/ready (\d+)/.exec(String(c))![1]!)));
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

  it('listens again after the upstream restarts', async () => {
    const port = /127\.0\.0\.1:(\d+)/.exec(JSON.stringify(await (await gw.api('/gateways/only26')).json()))![1]!;
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
