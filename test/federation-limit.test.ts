import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

// Many gateways registered at once (a bulk import, a start with a large registry) must not open
// every upstream at the same moment: the gateway connects a few at a time. The upstreams here are
// one real HTTP server that counts requests in flight and answers slowly.
describe('connecting to many gateways at once', () => {
  let upstream: TestHttp;
  let gw: TestGateway;
  let inFlight = 0;
  let peak = 0;

  beforeAll(async () => {
    upstream = await startHttp((_req, _body, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.statusCode = 503;
        res.end('not an MCP server');
      }, 100);
    });
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '3600000' });
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('connects at most 8 at a time, and still tries every one', async () => {
    const gateways = Array.from({ length: 40 }, (_, i) => ({ name: `many-${i}`, url: `${upstream.url}/mcp/${i}` }));
    const res = await gw.api('/import', { method: 'POST', body: { version: '2025-03-26', gateways } });
    expect(res.status, await res.clone().text()).toBe(200);
    await waitFor(async () => {
      const list = (await (await gw.api('/gateways?limit=100')).json()) as { reachable: boolean | null }[];
      return list.length === 40 && list.every((g) => g.reachable === false);
    }, 'every gateway to be tried', 30_000);
    expect(new Set(upstream.requests.map((r) => r.url.split('/')[2])).size).toBe(40);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(8);
  });
});
