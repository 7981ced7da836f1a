import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, connectClient, REVISIONS, startHttp, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

// Serving MCP from the catalog: REST tools, prompts and stored resources, on /mcp and on a virtual
// server, through the official SDK client for every protocol revision.
describe('MCP serving', () => {
  let gw: TestGateway;
  let api: TestHttp;

  beforeAll(async () => {
    api = await startHttp((req, body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body: body ? JSON.parse(body) : null, data: { echo: body ? JSON.parse(body).text : null } }));
    });
    gw = await startTestGateway(STORES[0]!, { MCP_PAGE_SIZE: '2' });
    const create = async (kind: string, body: unknown) => {
      const res = await gw.api(`/${kind}`, { method: 'POST', body });
      expect(res.status, await res.clone().text()).toBe(201);
    };
    await create('tools', {
      name: 'echo',
      description: 'Echo text back',
      url: `${api.url}/echo`,
      request_type: 'POST',
      input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      response_path: '$.data.echo',
    });
    await create('tools', { name: 'lookup', url: `${api.url}/items/{id}` });
    await create('tools', { name: 'other', url: `${api.url}/other` });
    await create('prompts', {
      name: 'greet',
      description: 'Say hello',
      template: 'Hello {{ who }}, you are {{ age | plus: 1 }} next year.',
      input_schema: { type: 'object', properties: { who: { type: 'string', description: 'whom to greet' }, age: { type: 'integer' } }, required: ['who'] },
    });
    await create('resources', { uri: 'memo://notes/one', text: 'first note', mime_type: 'text/plain' });
    await create('resources', { uri: 'memo://notes/bin', blob: Buffer.from('binary').toString('base64') });
    await create('servers', { name: 'team', tools: ['echo', 'not-yet'], prompts: ['greet'], resources: ['memo://notes/one'] });
  });
  afterAll(async () => {
    await gw?.close();
    await api?.close();
  });

  describe.each(REVISIONS)('protocol %s', (revision) => {
    let client: Client;
    let server: Client;
    beforeAll(async () => {
      client = await connectClient(gw.url, '/mcp', revision);
      server = await connectClient(gw.url, '/servers/team/mcp', revision);
    });
    afterAll(async () => {
      await client?.close();
      await server?.close();
    });

    it('lists every active tool on /mcp, across pages', async () => {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['echo', 'lookup', 'other']);
      expect(tools[0]!.inputSchema).toMatchObject({ type: 'object', required: ['text'] });
    });

    it('lists only the virtual server\'s tools, ignoring a missing reference', async () => {
      const { tools } = await server.listTools();
      expect(tools.map((t) => t.name)).toEqual(['echo']);
    });

    it('calls the echo REST tool', async () => {
      const result = await server.callTool({ name: 'echo', arguments: { text: `hi ${revision}` } });
      expect(result.isError).toBeFalsy();
      expect(result.content).toEqual([{ type: 'text', text: `hi ${revision}` }]);
    });

    it('renders a prompt with validated arguments', async () => {
      const { prompts } = await server.listPrompts();
      expect(prompts).toEqual([
        expect.objectContaining({ name: 'greet', arguments: [{ name: 'who', description: 'whom to greet', required: true }, { name: 'age', required: false }] }),
      ]);
      const result = await server.getPrompt({ name: 'greet', arguments: { who: 'Ada', age: '36' } });
      expect(result.messages[0]!.content).toEqual({ type: 'text', text: 'Hello Ada, you are 37 next year.' });
    });

    it('reads stored text and blob resources', async () => {
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toEqual(['memo://notes/bin', 'memo://notes/one']);
      const text = await server.readResource({ uri: 'memo://notes/one' });
      expect(text.contents).toEqual([{ uri: 'memo://notes/one', mimeType: 'text/plain', text: 'first note' }]);
      const blob = await client.readResource({ uri: 'memo://notes/bin' });
      expect(blob.contents).toEqual([{ uri: 'memo://notes/bin', blob: Buffer.from('binary').toString('base64') }]);
    });

    // 2026-07-28 has no ping (the SDK refuses to send it); the 2025 family and 2024-11-05 do.
    if (revision !== '2026-07-28') {
      it('answers ping', async () => {
        await expect(client.ping()).resolves.toBeDefined();
      });
    }
  });

  describe('raw JSON-RPC', () => {
    const post = (body: string, path = '/mcp', headers: Record<string, string> = {}) =>
      fetch(gw.url + path, { method: 'POST', headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });

    it('answers malformed JSON with a parse error, not a crash', async () => {
      const res = await post('{"jsonrpc":');
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    });

    it('answers a message that is not JSON-RPC with invalid request', async () => {
      const res = await post('[1]');
      expect(await res.json()).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: -32600 }) })]);
    });

    it('answers an unknown method with method not found', async () => {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'nope/nothing' }));
      expect(await res.json()).toMatchObject({ id: 7, error: { code: -32601 } });
    });

    it('answers a bad cursor and an unknown tool with invalid params', async () => {
      const bad = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { cursor: 'garbage' } }));
      expect(await bad.json()).toMatchObject({ error: { code: -32602 } });
      const unknown = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'ghost', arguments: {} } }));
      expect(await unknown.json()).toMatchObject({ error: { code: -32602, message: 'unknown tool "ghost"' } });
    });

    it('rejects prompt arguments that do not match the input schema', async () => {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'prompts/get', params: { name: 'greet', arguments: {} } }));
      const body = (await res.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(-32602);
      expect(body.error.message).toMatch(/arguments for prompt "greet" are invalid/);
    });

    it('answers a batch and accepts notifications with 202', async () => {
      const batch = await post(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', method: 'notifications/initialized' }]));
      expect(await batch.json()).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }]);
      const note = await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      expect(note.status).toBe(202);
    });

    it('answers 404 for an unknown virtual server and 405 for DELETE', async () => {
      expect((await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), '/servers/ghost/mcp')).status).toBe(404);
      const del = await fetch(`${gw.url}/mcp`, { method: 'DELETE', headers: AUTH_HEADERS });
      expect(del.status).toBe(405);
    });

    it('answers 404 to a request with a session the client ended (DELETE), and still serves requests without one', async () => {
      const init = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }));
      const session = init.headers.get('mcp-session-id')!;
      expect(session).toBeTruthy();
      expect((await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }), '/mcp', { 'mcp-session-id': session })).status).toBe(200);
      expect((await fetch(`${gw.url}/mcp`, { method: 'DELETE', headers: { ...AUTH_HEADERS, 'mcp-session-id': session } })).status).toBe(204);
      expect((await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }), '/mcp', { 'mcp-session-id': session })).status).toBe(404);
      expect((await post(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'ping' }))).status).toBe(200);
    });

    it('requires credentials on /mcp and /sse', async () => {
      expect((await fetch(`${gw.url}/mcp`, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await fetch(`${gw.url}/sse`)).status).toBe(401);
    });

    it('keeps a template from reading files or running code', async () => {
      await gw.api('/prompts', { method: 'POST', body: { name: 'sneaky', template: "{% include '/etc/passwd' %}{{ 'x' | constructor }}" } });
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'prompts/get', params: { name: 'sneaky' } }));
      const body = (await res.json()) as { error?: { message: string }; result?: unknown };
      expect(body.error?.message).toMatch(/sneaky/);
      expect(JSON.stringify(body)).not.toContain('root:');
    });
  });
});
