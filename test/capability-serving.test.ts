import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCapability } from '../src/capabilities/file.js';
import { capabilitySchema } from '../src/capabilities/schema.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { connectClient, startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

// Capability files are served over MCP through the same REST executor as stored REST tools.
describe('capability files served over MCP', () => {
  let api: TestHttp;
  let gw: TestGateway;
  let client: Client;
  let dir: string;

  const write = (name: string, extra: Record<string, unknown> = {}, config: Record<string, unknown> = {}) => {
    const cap = capabilitySchema.parse({
      fulcrum: '1.0',
      name,
      description: `the ${name} tool`,
      schema: {
        input: { type: 'object', properties: { id: { type: 'string' }, verbose: { type: 'boolean' } }, required: ['id'], additionalProperties: false },
        output: { type: 'object', properties: { id: { type: 'string' } } },
      },
      providers: { primary: { service: 'rest', config: { base_url: api.url, path: '/things/{id}', params: { verbose: '{verbose}' }, response_path: '$.thing', ...config } } },
      auth: { required: true, type: 'api_key', in: 'header', name: 'X-Key', key: 'env:CAP_SERVING_TEST_KEY' },
      annotations: { readOnlyHint: true },
      ...extra,
    });
    writeFileSync(join(dir, `${name}.yaml`), formatCapability(cap));
  };

  beforeAll(async () => {
    process.env.CAP_SERVING_TEST_KEY = 'serving-key-123';
    api = await startHttp((req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ thing: { id: decodeURIComponent((req.url ?? '').split('/')[2]!.split('?')[0]!) } }));
    });
    dir = mkdtempSync(join(tmpdir(), 'mcpgw-capserve-'));
    write('get_thing');
    write('draft_thing', { enabled: false });
    gw = await startTestGateway(STORES[0]!, { CAPABILITY_DIRS: dir });
    client = await connectClient(gw.url, '/mcp', '2025-11-25');
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.CAP_SERVING_TEST_KEY;
  });

  it('lists enabled files as MCP tools with their schemas and annotations, and never a disabled one', async () => {
    const { tools } = await client.listTools();
    const tool = tools.find((t) => t.name === 'get_thing');
    expect(tool).toMatchObject({ description: 'the get_thing tool', inputSchema: { type: 'object', required: ['id'] }, annotations: { readOnlyHint: true } });
    expect(tools.map((t) => t.name)).not.toContain('draft_thing');
  });

  it('calls the API with the arguments placed and the key from the environment', async () => {
    const result = await client.callTool({ name: 'get_thing', arguments: { id: 'a/b', verbose: true } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ id: 'a/b' });
    const request = api.requests.at(-1)!;
    expect(request.url).toBe('/things/a%2Fb?verbose=true');
    expect(request.headers['x-key']).toBe('serving-key-123');
  });

  it('serves a file added while running, and stops serving it when it is disabled', async () => {
    write('late_thing');
    await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 'late_thing'), 'late_thing to be served');
    write('late_thing', { enabled: false });
    await waitFor(async () => !(await client.listTools()).tools.some((t) => t.name === 'late_thing'), 'late_thing to stop being served');
    const call = await client.callTool({ name: 'late_thing', arguments: { id: 'x' } }).catch((error: Error) => ({ isError: true, content: [{ type: 'text', text: error.message }] }));
    expect(call.isError).toBe(true);
  });
});
