import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundPolicy } from '../src/upstream/outbound-policy.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { connectClient, startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

// Only loopback traffic: the denied addresses are refused before any socket is opened.
const sqlite = STORES[0]!;

describe('OutboundPolicy', () => {
  it('denies link-local and cloud metadata by default, allows the rest', () => {
    const policy = new OutboundPolicy();
    for (const host of ['169.254.169.254', '169.254.0.1', 'fe80::1', '[fe80::1]', 'fd00:ec2::254', '100.100.100.200']) expect(policy.refusal(host), host).toMatch(/denies/);
    for (const host of ['127.0.0.1', '10.1.2.3', '::1', 'api.example.com']) expect(policy.refusal(host), host).toBeUndefined();
  });

  it('applies UPSTREAM_DENY CIDRs and host patterns, and UPSTREAM_ALLOW as the only permitted set', () => {
    const deny = new OutboundPolicy([], ['127.0.0.0/8', '*.internal']);
    expect(deny.refusal('127.0.0.5')).toMatch(/denies/);
    expect(deny.refusal('db.internal')).toMatch(/denies/);
    expect(deny.refusal('10.0.0.1')).toBeUndefined();
    const allow = new OutboundPolicy(['10.0.0.0/8'], []);
    expect(allow.refusal('10.9.9.9')).toBeUndefined();
    expect(allow.refusal('127.0.0.1')).toMatch(/allows only/);
    expect(new OutboundPolicy(['169.254.169.254'], []).refusal('169.254.169.254')).toBeUndefined();
  });
});

describe('outbound policy on a running gateway (UPSTREAM_DENY=127.0.0.0/8)', () => {
  let api: TestHttp;
  let gw: TestGateway;
  beforeAll(async () => {
    api = await startHttp((_req, _body, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    gw = await startTestGateway(sqlite, { UPSTREAM_DENY: '127.0.0.0/8', HEALTH_CHECK_INTERVAL_MS: '3600000' });
  });
  afterAll(async () => {
    await gw?.close();
    await api?.close();
  });

  it('refuses REST tools to a denied address, by IP literal, by a name resolving to it, and link-local by default', async () => {
    const port = new URL(api.url).port;
    for (const [name, url] of [
      ['by_ip', `http://127.0.0.1:${port}/x`],
      ['by_name', `http://localhost:${port}/x`],
      ['decimal', `http://2130706433:${port}/x`],
      ['metadata', 'http://169.254.169.254/latest/meta-data/'],
    ]) {
      expect((await gw.api('/tools', { method: 'POST', body: { name: name!, url: url! } })).status).toBe(201);
    }
    const client = await connectClient(gw.url, '/mcp', '2025-11-25');
    try {
      for (const name of ['by_ip', 'by_name', 'decimal', 'metadata']) {
        const result = await client.callTool({ name, arguments: {} });
        expect(result.isError, name).toBe(true);
        expect(JSON.stringify(result.content), name).toMatch(/outbound policy/);
      }
    } finally {
      await client.close();
    }
    expect(api.requests).toEqual([]);
  });

  it('never connects to a denied MCP gateway', async () => {
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'up', url: `${api.url}/mcp` } })).status).toBe(201);
    const gateway = await waitFor(async () => {
      const g = (await (await gw.api('/gateways/up')).json()) as { reachable: boolean | null; last_error: string | null };
      return g.reachable === false ? g : undefined;
    }, 'the gateway marked unreachable');
    expect(gateway.last_error).toMatch(/outbound policy/);
    expect(api.requests).toEqual([]);
  });

  it('refuses a refresh of an inactive gateway without connecting', async () => {
    const before = api.requests.length;
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'sleeping', url: `${api.url}/mcp`, is_active: false } })).status).toBe(201);
    const res = await gw.api('/gateways/sleeping/refresh', { method: 'POST' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { code: string }).code).toBe('GW_INACTIVE');
    expect(api.requests.length).toBe(before);
  });
});
