import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { connectClient, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { EVERYTHING } from './helpers/upstreams.js';

type Json = Record<string, unknown>;
const TEMPLATE = 'demo://resource/dynamic/text/{resourceId}';

// What the upstream says reaches the client as it said it: tool fields the gateway does not manage
// (execution…), instructions per endpoint, one entry per resource template, templates only on the
// virtual servers that name them, and missing_refs that know federated prompts and resources.
// Two real server-everything processes over stdio, federated as "eva" and "evb".
describe('the relay preserves what upstreams say', () => {
  let gw: TestGateway;
  let all: Client;
  let desk: Client;
  let tpl: Client;
  let reports: Json[];
  let staticUri: string;

  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!);
    reports = [];
    for (const name of ['eva', 'evb']) {
      expect((await gw.api('/gateways', { method: 'POST', body: { name, transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] } })).status).toBe(201);
      // server-everything registers its conditional tools after initialization (tools/list_changed).
      await waitFor(async () => ((await (await gw.api(`/tools/${name}__trigger-sampling-request`)).status === 200 ? true : undefined)), `${name} conditional tools`);
      const refreshed = await gw.api(`/gateways/${name}/refresh`, { method: 'POST' });
      expect(refreshed.status).toBe(200);
      reports.push((await refreshed.json()) as Json);
    }
    all = await connectClient(gw.url, '/mcp', '2025-11-25');
    const { resources } = await all.listResources();
    staticUri = resources.find((r) => r.uri.startsWith('demo://resource/static/'))!.uri;
    expect((await gw.api('/servers', { method: 'POST', body: { name: 'desk', tools: ['eva__echo'] } })).status).toBe(201);
    expect((await gw.api('/servers', { method: 'POST', body: { name: 'tpl', tools: [], prompts: ['eva__simple-prompt'], resources: [TEMPLATE, staticUri] } })).status).toBe(201);
    desk = await connectClient(gw.url, '/servers/desk/mcp', '2025-11-25');
    tpl = await connectClient(gw.url, '/servers/tpl/mcp', '2025-11-25');
  }, 60_000);
  afterAll(async () => {
    await Promise.all([all?.close(), desk?.close(), tpl?.close()]);
    await gw?.close();
  });

  it('passes tool fields it does not manage (execution) on verbatim', async () => {
    const { tools } = await all.listTools();
    const echo = tools.find((t) => t.name === 'eva__echo') as Json | undefined;
    expect(echo?.execution).toEqual({ taskSupport: 'forbidden' });
  });

  it('hides a task-only tool, with the reason in the discovery report', async () => {
    const { tools } = await all.listTools();
    expect(tools.map((t) => t.name)).not.toContain('eva__simulate-research-query');
    expect(tools.map((t) => t.name)).toContain('eva__echo');
    expect(reports[0]!.hidden).toEqual([{ original_name: 'simulate-research-query', reason: expect.stringMatching(/taskSupport is "required"/) }]);
  });

  it('merges upstream instructions per endpoint instead of replacing them', async () => {
    const everything = /Everything Server/;
    const global = all.getInstructions() ?? '';
    expect(global).toMatch(/^MCP Gateway/);
    expect(global).toContain('## eva\n');
    expect(global).toContain('## evb\n');
    expect(global.split('Everything Server').length - 1).toBeGreaterThanOrEqual(2);
    const scoped = desk.getInstructions() ?? '';
    expect(scoped).toMatch(everything);
    expect(scoped).toContain('## eva\n');
    expect(scoped).not.toContain('## evb');
  });

  it('lists each resource template once', async () => {
    const { resourceTemplates } = await all.listResourceTemplates();
    const uris = resourceTemplates.map((t) => t.uriTemplate);
    expect(uris).toContain(TEMPLATE);
    expect(uris.length).toBe(new Set(uris).size);
  });

  it('shows templates only on the virtual servers that name them', async () => {
    expect((await desk.listResourceTemplates()).resourceTemplates).toEqual([]);
    await expect(desk.readResource({ uri: 'demo://resource/dynamic/text/3' })).rejects.toThrow(/not found/);
    expect((await tpl.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toEqual([TEMPLATE]);
    const read = await tpl.readResource({ uri: 'demo://resource/dynamic/text/3' });
    expect(read.contents[0]!.uri).toBe('demo://resource/dynamic/text/3');
  });

  it('does not report federated prompts, resources and templates a server serves as missing', async () => {
    const server = (await (await gw.api('/servers/tpl')).json()) as Json;
    expect(server.missing_refs).toEqual({ tools: [], prompts: [], resources: [] });
    expect((await tpl.listPrompts()).prompts.map((p) => p.name)).toEqual(['eva__simple-prompt']);
    expect((await tpl.listResources()).resources.map((r) => r.uri)).toEqual([staticUri]);
    const ghost = await gw.api('/servers', { method: 'POST', body: { name: 'ghost', prompts: ['eva__no-such-prompt'] } });
    expect(((await ghost.json()) as Json).missing_refs).toEqual({ tools: [], prompts: ['eva__no-such-prompt'], resources: [] });
  });
});
