import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { connectClient, startHttp, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

// REST tools: every mapping of issue point 6 against a real HTTP server started here.
describe('REST tools', () => {
  let gw: TestGateway;
  let api: TestHttp;
  let client: Client;
  let scoped: Client;

  beforeAll(async () => {
    api = await startHttp((req, _body, res) => {
      const url = req.url ?? '';
      if (url.startsWith('/slow')) return void setTimeout(() => res.end('late'), 3_000);
      if (url.startsWith('/big')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.end('x'.repeat(5_000));
      }
      if (url.startsWith('/text')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.end('plain words');
      }
      if (url.startsWith('/fail')) {
        res.writeHead(503, { 'content-type': 'application/json' });
        return void res.end('{"error":"down"}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: { items: [{ id: 1, name: 'first' }] }, raw_url: url }));
    });
    gw = await startTestGateway(STORES[0]!, { MAX_RESPONSE_BYTES: '1000' });
    const create = async (kind: string, body: unknown) => {
      const res = await gw.api(`/${kind}`, { method: 'POST', body });
      expect(res.status, await res.clone().text()).toBe(201);
    };
    await create('tools', { name: 'path', url: `${api.url}/files/{path}/meta`, query: { q: '{term}', fixed: 'yes' } });
    await create('tools', {
      name: 'post_body',
      url: `${api.url}/orders`,
      request_type: 'POST',
      headers: { 'X-Trace': 'trace-{trace}' },
      body: { order: { qty: '{qty}', note: 'for {who}' } },
      auth_token: 'tool-secret-token',
      auth_type: 'bearer',
    });
    await create('tools', {
      name: 'structured',
      url: `${api.url}/data`,
      response_path: '$.result.items[0]',
      output_schema: { type: 'object', properties: { id: { type: 'integer' } } },
    });
    await create('tools', { name: 'slow', url: `${api.url}/slow`, timeout_ms: 200 });
    await create('tools', { name: 'big', url: `${api.url}/big` });
    await create('tools', { name: 'text', url: `${api.url}/text` });
    await create('tools', { name: 'fail', url: `${api.url}/fail` });
    await create('tools', { name: 'relative', url: 'things/{id}' });
    await create('servers', {
      name: 'backend',
      url: `${api.url}/v1/`,
      headers: { 'X-Tenant': 'acme' },
      auth_type: 'headers',
      auth_headers: { 'X-Api-Key': 'server-secret-key' },
      tools: ['relative'],
    });
    client = await connectClient(gw.url, '/mcp', '2025-11-25');
    scoped = await connectClient(gw.url, '/servers/backend/mcp', '2025-06-18');
  });
  afterAll(async () => {
    await client?.close();
    await scoped?.close();
    await gw?.close();
    await api?.close();
  });

  const last = () => api.requests[api.requests.length - 1]!;

  it('URL-encodes a path value holding "/" and spaces, and fills the query', async () => {
    const result = await client.callTool({ name: 'path', arguments: { path: 'a/b c', term: 'x&y' } });
    expect(result.isError).toBeFalsy();
    expect(last().url).toBe('/files/a%2Fb%20c/meta?q=x%26y&fixed=yes');
  });

  it('sends a filled JSON body template, templated headers and the tool\'s bearer token', async () => {
    await client.callTool({ name: 'post_body', arguments: { qty: 3, who: 'Ada', trace: 'abc' } });
    const request = last();
    expect(request.method).toBe('POST');
    expect(JSON.parse(request.body)).toEqual({ order: { qty: 3, note: 'for Ada' } });
    expect(request.headers['x-trace']).toBe('trace-abc');
    expect(request.headers.authorization).toBe('Bearer tool-secret-token');
    expect(request.headers['content-type']).toBe('application/json');
  });

  it('selects response_path and returns structuredContent plus text when there is an output_schema', async () => {
    const result = await client.callTool({ name: 'structured', arguments: {} });
    expect(result.structuredContent).toEqual({ id: 1, name: 'first' });
    expect(result.content).toEqual([{ type: 'text', text: '{"id":1,"name":"first"}' }]);
  });

  it('resolves a relative url against its server, with the server\'s headers and credentials', async () => {
    const result = await scoped.callTool({ name: 'relative', arguments: { id: '42', extra: 'z' } });
    expect(result.isError).toBeFalsy();
    const request = last();
    expect(request.url).toBe('/v1/things/42?extra=z');
    expect(request.headers['x-tenant']).toBe('acme');
    expect(request.headers['x-api-key']).toBe('server-secret-key');
  });

  it('returns non-JSON bodies as text', async () => {
    const result = await client.callTool({ name: 'text', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'plain words' }]);
  });

  it('times out with a clear tool error', async () => {
    const result = await client.callTool({ name: 'slow', arguments: {} });
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([{ type: 'text', text: 'slow did not answer within 200 ms' }]);
  });

  it('refuses a response over the size cap with a clear tool error', async () => {
    const result = await client.callTool({ name: 'big', arguments: {} });
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toMatch(/exceeds the limit of 1000 bytes/);
  });

  it('reports an HTTP error status as a tool error', async () => {
    const result = await client.callTool({ name: 'fail', arguments: {} });
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toMatch(/^HTTP 503/);
  });

  it('reports a missing path argument as a tool error', async () => {
    const result = await client.callTool({ name: 'path', arguments: {} });
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0]!.text).toMatch(/argument "path" is required/);
  });

  it('never writes decrypted credentials to the log', () => {
    expect(gw.logs()).not.toContain('tool-secret-token');
    expect(gw.logs()).not.toContain('server-secret-key');
  });
});
