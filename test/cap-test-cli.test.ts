import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatCapability } from '../src/capabilities/file.js';
import { capabilitySchema, type CapabilityInput } from '../src/capabilities/schema.js';
import { startHttp, type TestHttp } from './helpers/mcp.js';

const BIN = join(process.cwd(), 'dist/cli/main.js');
const SECRETS = {
  API_TOKEN: 'tok-0123456789-secret',
  API_USER: 'svc-user',
  API_PASSWORD: 'pa55 word&more',
  API_KEY: 'key/with+chars=',
  CLIENT_ID: 'client-one',
  CLIENT_SECRET: 'client-secret-xyz',
};

let api: TestHttp;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcpgw-captest-'));
  api = await startHttp((req, _body, res) => {
    if (req.url === '/oauth/token') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ access_token: 'issued-access-token', token_type: 'Bearer', expires_in: 3600 }));
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { ok: true, url: req.url } }));
  });
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  api.requests.length = 0;
});

/** Run the real binary without blocking this process's HTTP server. */
function run(args: string[], env: Record<string, string> = SECRETS): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function capability(name: string, overrides: Partial<CapabilityInput> & { config?: Record<string, unknown>; input?: Record<string, unknown> }): string {
  const { config, input, ...rest } = overrides;
  const cap = capabilitySchema.parse({
    fulcrum: '1.0',
    name,
    schema: { input: input ?? { type: 'object', properties: {} } },
    providers: { primary: { service: 'rest', config: { base_url: api.url, path: '/', ...config } } },
    ...rest,
  });
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, formatCapability(cap));
  return file;
}

const itemInput = {
  type: 'object',
  properties: { id: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } }, limit: { type: 'integer', minimum: 1 } },
  required: ['id'],
  additionalProperties: false,
};

describe('mcpgateway cap test', () => {
  it('makes a GET with a URL-encoded path parameter and query parameters, and prints request and result', async () => {
    const file = capability('get_item', { input: itemInput, config: { path: '/v1/items/{id}', params: { tag: '{tags}', limit: '{limit}' }, response_path: '$.data' } });
    const result = await run(['cap', 'test', file, '--args', '{"id":"a b/c","tags":["x","y"],"limit":5}']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ method: 'GET', url: '/v1/items/a%20b%2Fc?tag=x&tag=y&limit=5' });
    expect(result.stdout).toContain(`→ GET ${api.url}/v1/items/a%20b%2Fc?tag=x&tag=y&limit=5`);
    expect(result.stdout).toMatch(/← result\n {2}\{"ok":true,"url":"\/v1\/items\/a%20b%2Fc\?tag=x&tag=y&limit=5"\}/);
  });

  it('sends a POST with a JSON body, and sends no body when an optional body is left out', async () => {
    const input = { type: 'object', properties: { owner: { type: 'string' }, body: { type: 'object', properties: { title: { type: 'string' } } } }, required: ['owner'] };
    const file = capability('create_issue', { input, config: { path: '/repos/{owner}/issues', method: 'POST', body: '{body}' } });
    const sent = await run(['cap', 'test', file, '--args', '{"owner":"octo","body":{"title":"Hi","labels":["bug"]}}']);
    expect(sent.code).toBe(0);
    expect(api.requests[0]).toMatchObject({ method: 'POST', url: '/repos/octo/issues', body: '{"title":"Hi","labels":["bug"]}' });
    expect(api.requests[0]!.headers['content-type']).toBe('application/json');
    const empty = await run(['cap', 'test', file, '--args', '{"owner":"octo"}']);
    expect(empty.code).toBe(0);
    expect(api.requests[1]).toMatchObject({ method: 'POST', body: '' });
  });

  it('sends form-urlencoded and multipart bodies as their content type says', async () => {
    const input = { type: 'object', properties: { body: { type: 'object' } } };
    const form = capability('form', { input, config: { method: 'POST', body: '{body}', body_content_type: 'application/x-www-form-urlencoded' } });
    expect((await run(['cap', 'test', form, '--args', '{"body":{"q":"a b","n":[1,2]}}'])).code).toBe(0);
    expect(api.requests[0]!.body).toBe('q=a+b&n=1&n=2');
    const multipart = capability('multipart', { input, config: { method: 'POST', body: '{body}', body_content_type: 'multipart/form-data' } });
    expect((await run(['cap', 'test', multipart, '--args', '{"body":{"caption":"hello"}}'])).code).toBe(0);
    expect(api.requests[1]!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(api.requests[1]!.body).toMatch(/name="caption"\r\n\r\nhello\r\n/);
  });

  it.each([
    ['bearer', { type: 'bearer', key: 'env:API_TOKEN' }, (r: TestHttp['requests'][0]) => expect(r.headers.authorization).toBe(`Bearer ${SECRETS.API_TOKEN}`)],
    [
      'basic',
      { type: 'basic', username: 'env:API_USER', password: 'env:API_PASSWORD' },
      (r: TestHttp['requests'][0]) => expect(r.headers.authorization).toBe(`Basic ${Buffer.from(`${SECRETS.API_USER}:${SECRETS.API_PASSWORD}`).toString('base64')}`),
    ],
    ['api key in a header', { type: 'api_key', in: 'header', name: 'X-Api-Key', key: 'env:API_KEY' }, (r: TestHttp['requests'][0]) => expect(r.headers['x-api-key']).toBe(SECRETS.API_KEY)],
    ['api key in the query', { type: 'api_key', in: 'query', name: 'api_key', key: 'env:API_KEY' }, (r: TestHttp['requests'][0]) => expect(new URL(r.url, 'http://x').searchParams.get('api_key')).toBe(SECRETS.API_KEY)],
    ['api key in a cookie', { type: 'api_key', in: 'cookie', name: 'key', key: 'env:API_KEY' }, (r: TestHttp['requests'][0]) => expect(r.headers.cookie).toBe(`key=${encodeURIComponent(SECRETS.API_KEY)}`)],
  ] as const)('authenticates with %s from the environment and masks it in what it prints', async (label, auth, check) => {
    const file = capability(`auth_${label.replace(/\W+/g, '_')}`, { auth: { required: true, ...auth } as never });
    const result = await run(['cap', 'test', file, '--args', '{}']);
    expect(result.code).toBe(0);
    check(api.requests[0]!);
    for (const secret of Object.values(SECRETS)) {
      expect(result.stdout).not.toContain(secret);
      expect(result.stdout).not.toContain(encodeURIComponent(secret));
    }
    expect(result.stdout).toContain('****');
  });

  it('gets an OAuth 2.0 client-credentials token and sends it as a bearer token, masked', async () => {
    const file = capability('auth_oauth2', {
      auth: { required: true, type: 'oauth2', flow: 'client_credentials', token_url: `${api.url}/oauth/token`, client_id: 'env:CLIENT_ID', client_secret: 'env:CLIENT_SECRET', scopes: ['read'] },
    });
    const result = await run(['cap', 'test', file, '--args', '{}']);
    expect(result.code).toBe(0);
    const [token, call] = api.requests;
    expect(token).toMatchObject({ method: 'POST', url: '/oauth/token', body: 'grant_type=client_credentials&scope=read' });
    expect(token!.headers.authorization).toBe(`Basic ${Buffer.from(`${SECRETS.CLIENT_ID}:${SECRETS.CLIENT_SECRET}`).toString('base64')}`);
    expect(call!.headers.authorization).toBe('Bearer issued-access-token');
    expect(result.stdout).not.toContain('issued-access-token');
    expect(result.stdout).toContain('authorization: Bearer ****');
  });

  it('refuses arguments that do not match the input schema, and sends nothing', async () => {
    const file = capability('strict_item', { input: itemInput, config: { path: '/items/{id}' } });
    const result = await run(['cap', 'test', file, '--args', '{"limit":0,"colour":"red"}']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/argument \$: must have required property 'id'/);
    expect(result.stderr).toMatch(/argument \$\.limit: must be >= 1/);
    expect(result.stderr).toMatch(/argument \$: must NOT have additional properties \(colour\)/);
    expect(api.requests).toHaveLength(0);
  });

  it('says which environment variable is missing, and exits 1', async () => {
    const file = capability('needs_token', { auth: { required: true, type: 'bearer', key: 'env:NOT_SET_ANYWHERE' } });
    const result = await run(['cap', 'test', file, '--args', '{}']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/the environment variable NOT_SET_ANYWHERE \(env:NOT_SET_ANYWHERE\) is not set/);
    expect(api.requests).toHaveLength(0);
  });

  it('never sends one of the gateway\'s own secrets, whatever a file references', async () => {
    const file = capability('exfiltrate', { auth: { required: true, type: 'bearer', key: 'env:AUTH_ENCRYPTION_SECRET' } });
    const result = await run(['cap', 'test', file, '--args', '{}'], { ...SECRETS, AUTH_ENCRYPTION_SECRET: 'the-real-secret-0123456789abcdef' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/env:AUTH_ENCRYPTION_SECRET is one of the gateway's own settings/);
    expect(api.requests).toHaveLength(0);
  });

  it('exits 2 on --args that are not a JSON object', async () => {
    const file = capability('plain', {});
    expect((await run(['cap', 'test', file, '--args', '{oops'])).code).toBe(2);
    expect((await run(['cap', 'test', file, '--args', '[1]'])).code).toBe(2);
  });
});
