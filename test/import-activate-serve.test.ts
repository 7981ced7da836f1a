import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activate, applyPlan } from '../src/importers/planner/apply.js';
import { planSource } from '../src/importers/planner/preview.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { connectClient, startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

// The whole safe-import path with real parts: a Postman collection pointing at an HTTP API this
// test runs, planned, applied as disabled drafts, one draft approved and activated into the
// capability folder a running gateway watches, then called by an MCP client.
describe('import apply → activate → served', () => {
  let api: TestHttp;
  let gw: TestGateway;
  let client: Client;
  let dir: string;
  let manifestPath: string;

  beforeAll(async () => {
    api = await startHttp((req, _body, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ order: { id: decodeURIComponent((req.url ?? '').split('/').pop()!), status: 'shipped' } }));
    });
    dir = mkdtempSync(join(tmpdir(), 'mcpgw-activate-'));
    const collection = readFileSync(join(process.cwd(), 'examples/import/postman-v21.json'), 'utf8').replace('https://api.shop.example.com/v1', `${api.url}/v1`);
    writeFileSync(join(dir, 'orders.json'), collection);
    process.env.ORDERS_TOKEN = 'orders-token-for-the-test';
    const plan = await planSource({ kind: 'postman', file: join(dir, 'orders.json') });
    manifestPath = applyPlan(plan, join(dir, 'drafts')).manifestPath;
    gw = await startTestGateway(STORES[0]!, { CAPABILITY_DIRS: join(dir, 'capabilities') });
    client = await connectClient(gw.url, '/mcp', '2025-11-25');
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.ORDERS_TOKEN;
  });

  it('serves no draft before activation', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('get_order');
    expect(names).not.toContain('list_orders');
  });

  it('serves exactly the activated draft, which calls the API with its env: credential', async () => {
    activate(manifestPath, { drafts: ['get_order'], approve: true, capabilityDir: join(dir, 'capabilities'), actor: 'test' });
    await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 'get_order'), 'get_order to be served');
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('list_orders');

    const result = await client.callTool({ name: 'get_order', arguments: { orderId: 'ord 7/x' } });
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(result.content)).toContain('shipped');
    const request = api.requests.at(-1)!;
    expect(request.url).toBe('/v1/orders/ord%207%2Fx');
    expect(request.headers.authorization).toBe('Bearer orders-token-for-the-test');
  });
});
