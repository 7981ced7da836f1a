import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/cli/token.js';
import { JWT_SECRET, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { connectClient, startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { EVERYTHING } from './helpers/upstreams.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

type Tool = { name: string; title?: string; description?: string; inputSchema: { properties?: Record<string, { default?: unknown }>; required?: string[] }; annotations?: Record<string, unknown> };

const CURATED = {
  name: 'curated',
  tools: ['every__get-*', 'every__echo'],
  exclude_tools: ['every__get-env', 'every__get-resource-*', 'every__get-roots-list'],
  tool_tags: ['read-only'],
  tool_overrides: {
    every__echo: {
      name: 'say',
      title: 'Say the house greeting',
      description: 'Repeats the greeting this server fixes.',
      annotations: { readOnlyHint: true },
      arguments: { message: { value: 'pinned hello' } },
    },
    api_get_item: { arguments: { id: { default: '42' } } },
  },
};

// The curated tool set of one virtual server, through real SDK clients on all three transports,
// with server-everything over stdio and a REST API recorded by a local HTTP server.
describe('curated virtual servers', () => {
  let gw: TestGateway;
  let api: TestHttp;

  const post = async (path: string, body: unknown) => {
    const res = await gw.api(path, { method: 'POST', body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    api = await startHttp((req, body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, body: body ? JSON.parse(body) : null }));
    });
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '3600000' });
    expect((await post('/gateways', { name: 'every', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] })).status).toBe(201);
    for (const [name, tag] of [
      ['api_get_item', 'read-only'],
      ['api_list_items', 'read-only'],
      ['api_delete_item', 'write'],
    ] as const) {
      const tool = {
        name,
        tags: [tag],
        description: `${name} of the test API`,
        url: `${api.url}/items/{id}`,
        request_type: 'GET',
        input_schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      };
      expect((await post('/tools', tool)).status).toBe(201);
    }
    await waitFor(async () => (await gw.api('/tools/every__echo')).status === 200, 'discovery of server-everything');
    const created = await post('/servers', CURATED);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  });
  afterAll(async () => {
    await gw?.close();
    await api?.close();
  });

  const EXPECTED = ['api_get_item', 'api_list_items', 'every__get-annotated-message', 'every__get-structured-content', 'every__get-sum', 'every__get-tiny-image', 'say'];

  it('shows the resolved selection in the server GET (globs, tags, excludes, renames)', async () => {
    const server = (await (await gw.api('/servers/curated')).json()) as Record<string, unknown>;
    expect(server.resolved_tools).toEqual(EXPECTED);
    expect(server.curation_problems).toEqual([]);
    expect(server.missing_refs).toEqual({ tools: [], prompts: [], resources: [] });
  });

  const transports = [
    ['Streamable HTTP', () => connectClient(gw.url, '/servers/curated/mcp', '2025-11-25')],
    ['legacy SSE', () => connectClient(gw.url, '/servers/curated/mcp', '2024-11-05')],
    [
      'the stdio bridge',
      async () => {
        const client = new Client({ name: 'desktop', version: '1' });
        await client.connect(
          new StdioClientTransport({
            command: process.execPath,
            args: [MAIN, 'stdio', '--server', 'curated'],
            env: { PATH: process.env.PATH ?? '', MCPGATEWAY_URL: gw.url, MCPGATEWAY_BEARER_TOKEN: await createToken(JWT_SECRET, 'desktop', 600) },
            stderr: 'pipe',
          }),
        );
        return client;
      },
    ],
  ] as const;

  describe.each(transports)('over %s', (_name, connect) => {
    let client: Client;
    beforeAll(async () => {
      client = await connect();
    });
    afterAll(async () => {
      await client?.close();
    });

    it('lists exactly the curated tools, with the overrides applied', async () => {
      const { tools } = (await client.listTools()) as unknown as { tools: Tool[] };
      expect(tools.map((t) => t.name)).toEqual(EXPECTED);
      const say = tools.find((t) => t.name === 'say')!;
      expect(say.title).toBe('Say the house greeting');
      expect(say.description).toBe('Repeats the greeting this server fixes.');
      expect(say.annotations).toMatchObject({ readOnlyHint: true });
      expect(say.inputSchema.properties ?? {}).not.toHaveProperty('message');
      expect(say.inputSchema.required ?? []).not.toContain('message');
      const get = tools.find((t) => t.name === 'api_get_item')!;
      expect(get.inputSchema.properties!.id!.default).toBe('42');
      expect(get.inputSchema.required ?? []).not.toContain('id');
    });

    it('calls a renamed tool with its pinned argument', async () => {
      const result = await client.callTool({ name: 'say', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'Echo: pinned hello' }]);
    });

    it('refuses a client that tries to override a pinned argument', async () => {
      await expect(client.callTool({ name: 'say', arguments: { message: 'mine' } })).rejects.toThrow(/fixed by this server/);
    });

    it('fills a defaulted argument, and lets the client choose another value', async () => {
      const byDefault = (await client.callTool({ name: 'api_get_item', arguments: {} })) as { structuredContent?: unknown; content: { text: string }[] };
      expect(byDefault.content[0]!.text).toContain('/items/42');
      const chosen = (await client.callTool({ name: 'api_get_item', arguments: { id: '7' } })) as { content: { text: string }[] };
      expect(chosen.content[0]!.text).toContain('/items/7');
    });

    it('does not serve what the selection leaves out, under either name', async () => {
      await expect(client.callTool({ name: 'every__echo', arguments: { message: 'x' } })).rejects.toThrow(/unknown tool/);
      await expect(client.callTool({ name: 'api_delete_item', arguments: { id: '1' } })).rejects.toThrow(/unknown tool/);
    });
  });

  it('leaves the stored tool and /mcp untouched', async () => {
    const stored = (await (await gw.api('/tools/every__echo')).json()) as Record<string, unknown>;
    expect(stored.description).not.toBe('Repeats the greeting this server fixes.');
    const client = await connectClient(gw.url, '/mcp', '2025-11-25');
    try {
      const { tools } = (await client.listTools()) as unknown as { tools: Tool[] };
      const echo = tools.find((t) => t.name === 'every__echo')!;
      expect(echo.inputSchema.properties).toHaveProperty('message');
      expect(tools.some((t) => t.name === 'say')).toBe(false);
      const result = await client.callTool({ name: 'every__echo', arguments: { message: 'free' } });
      expect(result.content).toEqual([{ type: 'text', text: 'Echo: free' }]);
    } finally {
      await client.close();
    }
  });

  it('refuses a selection larger than max_tools with SERVER_TOOL_LIMIT, and writes nothing', async () => {
    const res = await post('/servers', { name: 'capped', tools: ['every__*'], max_tools: 3 });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('SERVER_TOOL_LIMIT');
    expect((res.body.errors as { path: string }[])[0]!.path).toBe('$.max_tools');
    expect((await gw.api('/servers/capped')).status).toBe(404);
  });

  it('refuses two tools served under one name with SERVER_TOOL_NAME_CONFLICT', async () => {
    const res = await post('/servers', { name: 'clash', tools: ['api_*'], tool_overrides: { api_get_item: { name: 'api_list_items' } } });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('SERVER_TOOL_NAME_CONFLICT');
    expect(String(res.body.detail)).toContain('api_list_items');
  });

  it('refuses an override name over 64 characters, and a pin of an argument the tool lacks', async () => {
    const long = await post('/servers', { name: 'long', tools: ['api_get_item'], tool_overrides: { api_get_item: { name: `a${'b'.repeat(64)}` } } });
    expect(long.status).toBe(422);
    const unknown = await post('/servers', { name: 'nosuch', tools: ['api_get_item'], tool_overrides: { api_get_item: { arguments: { nope: { value: 1 } } } } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('SERVER_TOOL_ARGUMENT_UNKNOWN');
    const both = await post('/servers', { name: 'both', tools: ['api_get_item'], tool_overrides: { api_get_item: { arguments: { id: { value: '1', default: '2' } } } } });
    expect(both.status).toBe(422);
    expect(both.body.code).toBe('VALIDATION_FAILED');
  });

  it('refuses a selector that is neither a name nor a glob', async () => {
    const res = await post('/servers', { name: 'badglob', tools: ['no spaces please'] });
    expect(res.status).toBe(422);
    expect((res.body.errors as { path: string }[])[0]!.path).toBe('$.tools[0]');
  });

  it('follows the catalog: a new tool matching a glob joins the server', async () => {
    expect((await post('/tools', { name: 'api_list_more', tags: ['read-only'], url: `${api.url}/more` })).status).toBe(201);
    const client = await connectClient(gw.url, '/servers/curated/mcp', '2025-11-25');
    try {
      await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 'api_list_more'), 'the new tool', 5000);
    } finally {
      await client.close();
    }
    await gw.api('/tools/api_list_more', { method: 'DELETE' });
  });

  it('keeps the overrides through export and import into another gateway', async () => {
    const doc = (await (await gw.api('/export')).json()) as { servers: Record<string, unknown>[] };
    const exported = doc.servers.find((s) => s.name === 'curated')!;
    expect(exported.tool_overrides).toEqual(CURATED.tool_overrides);
    expect(exported).not.toHaveProperty('resolved_tools');
    const other = await startTestGateway(STORES[0]!);
    try {
      const res = await other.api('/import', { method: 'POST', body: doc });
      expect(res.status, await res.clone().text()).toBe(200);
      const server = (await (await other.api('/servers/curated')).json()) as Record<string, unknown>;
      expect(server.tool_overrides).toEqual(CURATED.tool_overrides);
      expect(server.exclude_tools).toEqual(CURATED.exclude_tools);
      expect(server.tool_tags).toEqual(['read-only']);
      await waitFor(async () => (await other.api('/tools/every__echo')).status === 200, 'discovery on the other gateway');
      const resolved = (await (await other.api('/servers/curated')).json()) as Record<string, unknown>;
      expect(resolved.resolved_tools).toEqual(EXPECTED);
      const again = await other.api('/import', { method: 'POST', body: doc });
      const report = (await again.json()) as { items: { kind: string; key: string; outcome: string }[] };
      expect(report.items.find((i) => i.kind === 'servers' && i.key === 'curated')?.outcome).toBe('unchanged');
    } finally {
      await other.close();
    }
  });
});
