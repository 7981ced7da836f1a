import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthCipher } from '../src/crypto/auth-value.js';
import { RestExecutor, type RestTool } from '../src/upstream/rest-executor.js';
import { restTool } from './helpers/rest-tool.js';

// REST tool arguments are checked against input_schema before any request reaches the API.
let api: Server;
let base = '';
const seen: string[] = [];
let executor: RestExecutor;

beforeAll(async () => {
  api = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += String(c)));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  executor = new RestExecutor(new AuthCipher('argument-test-secret-0123456789abcdef'), { defaultTimeoutMs: 5000, maxResponseBytes: 1 << 20 });
});
afterAll(async () => {
  await executor.close();
  await new Promise((r) => api.close(r));
});

const tool = (input_schema: Record<string, unknown>, extra: Partial<RestTool> = {}): RestTool =>
  restTool({ name: 'search', url: `${base}/items/{id}`, input_schema, ...extra });
const SCHEMA = { type: 'object', properties: { id: { type: 'string' }, count: { type: 'integer', minimum: 1 } }, required: ['id'] };

async function call(t: RestTool, args: Record<string, unknown>) {
  seen.length = 0;
  const result = await executor.call(t, undefined, args);
  return { result, text: result.content[0]?.text ?? '', requests: [...seen] };
}

describe('REST tool arguments against input_schema', () => {
  it('refuses a missing required argument before any request', async () => {
    const { result, text, requests } = await call(tool(SCHEMA), { count: 2 });
    expect(result.isError).toBe(true);
    expect(text).toContain('required');
    expect(text).toContain('(id)');
    expect(requests).toEqual([]);
  });

  it('refuses a wrong type and names its path', async () => {
    const { result, text, requests } = await call(tool(SCHEMA), { id: 'a', count: 'two' });
    expect(result.isError).toBe(true);
    expect(text).toContain('$.count: must be integer');
    expect(requests).toEqual([]);
  });

  it('refuses an undeclared argument when additionalProperties is false', async () => {
    const { result, text, requests } = await call(tool({ ...SCHEMA, additionalProperties: false }), { id: 'a', secret: 'x' });
    expect(result.isError).toBe(true);
    expect(text).toContain('(secret)');
    expect(requests).toEqual([]);
  });

  it('does not forward an undeclared argument the schema does not allow', async () => {
    const { result, requests } = await call(tool(SCHEMA), { id: 'a', count: 3, smuggled: 'drop-me' });
    expect(result.isError).toBeFalsy();
    expect(requests).toEqual(['GET /items/a?count=3 ']);
  });

  it('forwards extras when the schema allows them, and keeps arguments its templates use', async () => {
    expect((await call(tool({ ...SCHEMA, additionalProperties: true }), { id: 'a', more: 'yes' })).requests).toEqual(['GET /items/a?more=yes ']);
    const templated = tool(SCHEMA, { headers: { 'x-trace': '{trace}' }, request_type: 'POST' });
    expect((await call(templated, { id: 'a', trace: 't1', count: 1, other: 'no' })).requests).toEqual(['POST /items/a {"count":1}']);
  });

  it('leaves a schema that lists no properties as it was (arguments pass through)', async () => {
    expect((await call(tool({ type: 'object', properties: {} }), { id: 'b', extra: 'z' })).requests).toEqual(['GET /items/b?extra=z ']);
  });
});
