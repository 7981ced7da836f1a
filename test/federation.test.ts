import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { connectClient, REVISIONS, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { DYNAMIC, EVERYTHING, MEMORY, startEverything, type HttpUpstream } from './helpers/upstreams.js';

type Json = Record<string, unknown>;

// Federation against real upstream MCP servers from npm: server-everything over Streamable HTTP,
// SSE and stdio, server-memory over stdio, and an SDK-built stdio fixture with dynamic tools.
describe('federation', () => {
  let gw: TestGateway;
  let http: HttpUpstream;
  let sse: HttpUpstream;

  const json = async (res: Response) => (await res.json()) as Json;
  const createGateway = async (body: Json) => {
    const res = await gw.api('/gateways', { method: 'POST', body });
    expect(res.status, await res.clone().text()).toBe(201);
    const refreshed = await gw.api(`/gateways/${String(body.name)}/refresh`, { method: 'POST' });
    expect(refreshed.status, await refreshed.clone().text()).toBe(200);
    return json(refreshed);
  };

  beforeAll(async () => {
    [http, sse] = await Promise.all([startEverything('streamableHttp'), startEverything('sse')]);
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '200' });
    await createGateway({ name: 'ev', url: `http://127.0.0.1:${http.port}/mcp`, auth_token: 'upstream-secret-token', auth_type: 'bearer' });
    await createGateway({ name: 'evsse', url: `http://127.0.0.1:${sse.port}/sse`, transport: 'sse' });
    await createGateway({ name: 'evstdio', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] });
    await createGateway({ name: 'memory', transport: 'stdio', command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: `${gw.db.url.replace(/^sqlite:/, '')}.memory.jsonl` } });
    await createGateway({ name: 'dyn', transport: 'stdio', command: process.execPath, args: [DYNAMIC] });
    const server = await gw.api('/servers', { method: 'POST', body: { name: 'agents', tools: ['ev__echo', 'memory__read_graph'], prompts: ['ev__simple-prompt'] } });
    expect(server.status).toBe(201);
  });
  afterAll(async () => {
    await gw?.close();
    await http?.stop();
    await sse?.stop();
  });

  it('stores discovered tools as MCP tools named {gateway}__{tool}', async () => {
    const tool = await json(await gw.api('/tools/ev__echo'));
    expect(tool).toMatchObject({ integration_type: 'MCP', gateway: 'ev', original_name: 'echo' });
    const gateway = await json(await gw.api('/gateways/ev'));
    expect(gateway).toMatchObject({ reachable: true, last_error: null });
    expect(gateway.capabilities).toMatchObject({ tools: {} });
    expect(typeof gateway.last_seen).toBe('string');
  });

  it('refuses hand edits of a discovered tool except is_active and tags', async () => {
    const res = await gw.api('/tools/ev__echo', { method: 'PATCH', body: { description: 'mine now' } });
    expect(res.status).toBe(409);
  });

  describe.each(REVISIONS)('through protocol %s', (revision) => {
    let client: Client;
    let scoped: Client;
    beforeAll(async () => {
      client = await connectClient(gw.url, '/mcp', revision);
      scoped = await connectClient(gw.url, '/servers/agents/mcp', revision);
    });
    afterAll(async () => {
      await client?.close();
      await scoped?.close();
    });

    it('lists federated tools from every transport', async () => {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const name of ['ev__echo', 'evsse__echo', 'evstdio__echo', 'memory__read_graph', 'dyn__echo']) expect(names).toContain(name);
    });

    it('calls echo on each upstream', async () => {
      for (const name of ['ev__echo', 'evsse__echo', 'evstdio__echo']) {
        const result = await client.callTool({ name, arguments: { message: `hello ${revision}` } });
        expect(JSON.stringify(result.content)).toContain(`hello ${revision}`);
      }
    });

    it('serves a virtual server with federated tools and prompts only', async () => {
      const { tools } = await scoped.listTools();
      expect(tools.map((t) => t.name)).toEqual(['ev__echo', 'memory__read_graph']);
      const prompt = await scoped.getPrompt({ name: 'ev__simple-prompt', arguments: {} });
      expect(prompt.messages.length).toBeGreaterThan(0);
    });

    it('reads a federated resource and a resource through a template', async () => {
      const { resources } = await client.listResources();
      const first = resources.find((r) => r.uri.startsWith('demo://resource/static/'));
      expect(first).toBeDefined();
      const read = await client.readResource({ uri: first!.uri });
      expect(read.contents[0]!.uri).toBe(first!.uri);
      const templated = await client.readResource({ uri: 'demo://resource/dynamic/text/7' });
      expect(templated.contents.length).toBe(1);
    });
  });

  it('calls server-memory over stdio', async () => {
    const client = await connectClient(gw.url, '/mcp', '2025-11-25');
    try {
      const created = await client.callTool({ name: 'memory__create_entities', arguments: { entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote programs'] }] } });
      expect(created.isError).toBeFalsy();
      const graph = await client.callTool({ name: 'memory__read_graph', arguments: {} });
      expect(JSON.stringify(graph)).toContain('Ada');
    } finally {
      await client.close();
    }
  });

  it('relays upstream progress notifications to the caller', async () => {
    const client = await connectClient(gw.url, '/mcp', '2025-11-25');
    try {
      const progress: number[] = [];
      const result = await client.callTool(
        { name: 'ev__trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
        { onprogress: (p) => progress.push(p.progress) },
      );
      expect(result.isError).toBeFalsy();
      expect(progress.length).toBeGreaterThanOrEqual(2);
    } finally {
      await client.close();
    }
  });

  it('names a 100-character tool within 64 characters, deterministically, keeping original_name', async () => {
    const tools = (await json(await gw.api('/tools?limit=1000'))) as unknown as Json[];
    const long = tools.find((t) => t.original_name === 't'.repeat(100));
    expect(long).toBeDefined();
    const name = String(long!.name);
    expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(name).toMatch(/^dyn__t+_[0-9a-f]{8}$/);
    const client = await connectClient(gw.url, '/mcp', '2025-11-25');
    try {
      const result = await client.callTool({ name, arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'long name works' }]);
    } finally {
      await client.close();
    }
  });

  it('keeps both tools visible when two gateways expose the same name without a prefix', async () => {
    const first = await createGateway({ name: 'plain1', transport: 'stdio', command: process.execPath, args: [DYNAMIC], name_prefix: '' });
    expect(first.collisions).toEqual([]);
    const second = await createGateway({ name: 'plain2', transport: 'stdio', command: process.execPath, args: [DYNAMIC], name_prefix: '' });
    const collisions = second.collisions as { original_name: string; wanted: string; name: string }[];
    expect(collisions.map((c) => c.original_name)).toContain('echo');
    const renamed = collisions.find((c) => c.original_name === 'echo')!.name;
    expect(renamed).toMatch(/^echo_[0-9a-f]{8}$/);
    const echo = await json(await gw.api('/tools/echo'));
    const other = await json(await gw.api(`/tools/${renamed}`));
    expect([echo.gateway, other.gateway].sort()).toEqual(['plain1', 'plain2']);
    await gw.api('/gateways/plain1', { method: 'DELETE' });
    await gw.api('/gateways/plain2', { method: 'DELETE' });
    // Removal follows the gateway's delete event.
    await waitFor(async () => (await gw.api('/tools/echo')).status === 404, 'the deleted gateways\' tools to go');
  });

  it('rediscovers on the upstream\'s list_changed and tells connected clients', async () => {
    const client = await connectClient(gw.url, '/mcp', '2025-11-25');
    let notified = false;
    client.setNotificationHandler('notifications/tools/list_changed', () => {
      notified = true;
    });
    try {
      await client.callTool({ name: 'dyn__add_tool', arguments: { name: 'fresh' } });
      await waitFor(async () => (await gw.api('/tools/dyn__fresh')).status === 200, 'the added tool to be discovered');
      await waitFor(() => notified, 'tools/list_changed to reach the client');
      const result = await client.callTool({ name: 'dyn__fresh', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'fresh ran' }]);
    } finally {
      await client.close();
    }
  });
});
