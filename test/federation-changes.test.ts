import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { STORES } from './helpers/stores.js';
import { DYNAMIC } from './helpers/upstreams.js';

// Federation tells its listeners what discovery changed (the catalog is one), as Registry does:
// here against the SDK-built stdio fixture, discovered through POST /gateways/{id}/refresh.
describe('Federation.onChange', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '3600000' });
    const res = await gw.api('/gateways', { method: 'POST', body: { name: 'dyn', transport: 'stdio', command: process.execPath, args: [DYNAMIC] } });
    expect(res.status, await res.clone().text()).toBe(201);
  });
  afterAll(async () => {
    await gw?.close();
  });

  const refresh = async () => {
    const res = await gw.api('/gateways/dyn/refresh', { method: 'POST' });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as { tools: number };
  };

  it('calls a listener with each kind a discovery changed, and stops once it unsubscribes', async () => {
    const heard: string[] = [];
    const stays: string[] = [];
    const unsubscribe = gw.gateway.federation.onChange((kind) => heard.push(kind));
    gw.gateway.federation.onChange((kind) => stays.push(kind));

    const report = await refresh();
    expect(report.tools).toBeGreaterThan(0);
    expect(new Set(heard)).toEqual(new Set(['tools', 'prompts', 'resources']));

    unsubscribe();
    heard.length = 0;
    stays.length = 0;
    await refresh();
    // The other listener proves the discovery ran and told listeners; the unsubscribed one heard nothing.
    expect(new Set(stays)).toEqual(new Set(['tools', 'prompts', 'resources']));
    expect(heard).toEqual([]);
  });
});
