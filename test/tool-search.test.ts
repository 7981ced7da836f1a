import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_TOOL, FIND_TOOL } from '../src/mcp/tool-search.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { connectClient, startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { EVERYTHING } from './helpers/upstreams.js';

type Hit = { name: string; description: string; inputSchema: { properties?: Record<string, unknown> } };

// Search mode on a virtual server and on /mcp, through the SDK client, with server-everything over
// stdio and REST tools answered by a local HTTP server.
describe('tool search mode', () => {
  let gw: TestGateway;
  let api: TestHttp;
  let client: Client;

  const find = async (c: Client, query: string, limit?: number) => {
    const result = (await c.callTool({ name: FIND_TOOL, arguments: limit ? { query, limit } : { query } })) as { structuredContent: { tools: Hit[] } };
    return result.structuredContent.tools;
  };

  beforeAll(async () => {
    api = await startHttp((req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '3600000', TOOL_SEARCH_THRESHOLD: '5' });
    const gateway = await gw.api('/gateways', { method: 'POST', body: { name: 'every', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] } });
    expect(gateway.status).toBe(201);
    await waitFor(async () => (await gw.api('/tools/every__get-sum')).status === 200, 'discovery of server-everything');
    for (const [name, description] of [
      ['weather_forecast', 'Forecast the weather for a city over the next days'],
      ['invoice_create', 'Bill a customer: create an invoice for an amount'],
    ]) {
      const tool = { name, description, url: `${api.url}/${name}?city={city}`, input_schema: { type: 'object', properties: { city: { type: 'string', description: 'city name' }, units: { type: 'string' } } } };
      expect((await gw.api('/tools', { method: 'POST', body: tool })).status).toBe(201);
    }
    const server = {
      name: 'finder',
      tools: ['every__*', 'weather_*', 'invoice_*'],
      tool_exposure: 'pinned+search',
      pinned_tools: ['every__echo'],
      tool_overrides: { weather_forecast: { arguments: { units: { value: 'metric' } } } },
    };
    const res = await gw.api('/servers', { method: 'POST', body: server });
    expect(res.status, await res.clone().text()).toBe(201);
    client = await connectClient(gw.url, '/servers/finder/mcp', '2025-11-25');
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
    await api?.close();
  });

  it('lists the two meta-tools and the pinned tools only', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([FIND_TOOL, CALL_TOOL, 'every__echo']);
  });

  it('finds tools by what they do, each hit with its name, description and input schema', async () => {
    const hits = await find(client, 'what will the weather be in Paris');
    expect(hits[0]!.name).toBe('weather_forecast');
    expect(hits[0]!.description).toContain('Forecast');
    // The hit shows the schema this server serves: the pinned argument is gone.
    expect(Object.keys(hits[0]!.inputSchema.properties ?? {})).toEqual(['city']);
    expect((await find(client, 'add two numbers', 3)).map((h) => h.name)).toContain('every__get-sum');
  });

  it('calls a found tool through the call meta-tool, as a direct call would', async () => {
    const viaMeta = await client.callTool({ name: CALL_TOOL, arguments: { name: 'every__get-sum', arguments: { a: 2, b: 3 } } });
    const direct = await client.callTool({ name: 'every__get-sum', arguments: { a: 2, b: 3 } });
    expect(viaMeta).toEqual(direct);
    expect(JSON.stringify(viaMeta.content)).toContain('5');
  });

  it('applies pinned arguments through the call meta-tool, and refuses to override them', async () => {
    const result = (await client.callTool({ name: CALL_TOOL, arguments: { name: 'weather_forecast', arguments: { city: 'Oslo' } } })) as { content: { text: string }[] };
    // The fixed value reaches the API although the client never saw the argument.
    expect(api.requests.at(-1)!.url).toBe('/weather_forecast?city=Oslo&units=metric');
    expect(result.content[0]!.text).toContain('units=metric');
    await expect(client.callTool({ name: CALL_TOOL, arguments: { name: 'weather_forecast', arguments: { city: 'Oslo', units: 'imperial' } } })).rejects.toThrow(/fixed by this server/);
  });

  it('refuses tools outside the server, and meta-tools calling meta-tools', async () => {
    await expect(client.callTool({ name: CALL_TOOL, arguments: { name: 'nope', arguments: {} } })).rejects.toThrow(/unknown tool/);
    await expect(client.callTool({ name: CALL_TOOL, arguments: { name: CALL_TOOL, arguments: { name: 'every__echo' } } })).rejects.toThrow(/unknown tool/);
    await expect(client.callTool({ name: FIND_TOOL, arguments: { query: '' } })).rejects.toThrow(/non-empty string/);
    await expect(client.callTool({ name: FIND_TOOL, arguments: { query: 'x', limit: 500 } })).rejects.toThrow(/limit/);
  });

  it('finds a tool added to the catalog within a second', async () => {
    const tool = { name: 'invoice_refund', description: 'Refund a paid invoice to the customer', url: `${api.url}/refund` };
    expect((await gw.api('/tools', { method: 'POST', body: tool })).status).toBe(201);
    const started = Date.now();
    let found = false;
    while (!found && Date.now() - started < 1000) {
      found = (await find(client, 'refund a paid invoice', 1))[0]?.name === 'invoice_refund';
    }
    expect(found).toBe(true);
  });

  it('serves /mcp in search mode past TOOL_SEARCH_THRESHOLD, with direct calls still answered', async () => {
    const global = await connectClient(gw.url, '/mcp', '2026-07-28');
    try {
      const { tools } = await global.listTools();
      expect(tools.map((t) => t.name)).toEqual([FIND_TOOL, CALL_TOOL]);
      expect((await find(global, 'forecast the weather'))[0]!.name).toBe('weather_forecast');
      const echo = await global.callTool({ name: 'every__echo', arguments: { message: 'still direct' } });
      expect(echo.content).toEqual([{ type: 'text', text: 'Echo: still direct' }]);
    } finally {
      await global.close();
    }
  });

  it('lists every tool on a server whose tool_exposure is all (the default)', async () => {
    const res = await gw.api('/servers', { method: 'POST', body: { name: 'plain', tools: ['weather_*'] } });
    expect(res.status).toBe(201);
    const plain = await connectClient(gw.url, '/servers/plain/mcp', '2025-11-25');
    try {
      expect((await plain.listTools()).tools.map((t) => t.name)).toEqual(['weather_forecast']);
    } finally {
      await plain.close();
    }
  });
});
