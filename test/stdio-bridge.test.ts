import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/cli/token.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ADMIN, JWT_SECRET, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startHttp, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

// `mcpgateway stdio`: the real binary as a child process, driven by the SDK's stdio client.
describe('mcpgateway stdio bridge', () => {
  let gw: TestGateway;
  let api: TestHttp;

  beforeAll(async () => {
    api = await startHttp((_req, body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ echoed: JSON.parse(body || '{}').text }));
    });
    gw = await startTestGateway(STORES[0]!);
    await gw.api('/tools', { method: 'POST', body: { name: 'echo', url: `${api.url}/echo`, request_type: 'POST', response_path: 'echoed' } });
    await gw.api('/tools', { method: 'POST', body: { name: 'hidden', url: `${api.url}/hidden` } });
    await gw.api('/servers', { method: 'POST', body: { name: 'desk', tools: ['echo'] } });
  });
  afterAll(async () => {
    await gw?.close();
    await api?.close();
  });

  const connect = async (args: string[], token: string, modern = false, credentials: Record<string, string> = { MCPGATEWAY_BEARER_TOKEN: token }) => {
    const client = new Client({ name: 'desktop', version: '1' }, modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [MAIN, 'stdio', ...args],
        env: { PATH: process.env.PATH ?? '', MCPGATEWAY_URL: gw.url, ...credentials },
        stderr: 'pipe',
      }),
    );
    return client;
  };

  it('reaches a virtual server\'s tools through stdio with a bearer token', async () => {
    const client = await connect(['--server', 'desk'], await createToken(JWT_SECRET, 'desktop', 600));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['echo']);
      const result = await client.callTool({ name: 'echo', arguments: { text: 'over stdio' } });
      expect(result.content).toEqual([{ type: 'text', text: 'over stdio' }]);
    } finally {
      await client.close();
    }
  });

  it('serves a 2026-07-28 client: each request goes out with the standard headers its _meta implies', async () => {
    const client = await connect(['--server', 'desk'], await createToken(JWT_SECRET, 'desktop', 600), true);
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['echo']);
      const result = await client.callTool({ name: 'echo', arguments: { text: 'modern over stdio' } });
      expect(result.content).toEqual([{ type: 'text', text: 'modern over stdio' }]);
    } finally {
      await client.close();
    }
  });

  it('takes Basic credentials (MCPGATEWAY_BASIC_AUTH), read as the other CLI commands read them', async () => {
    const client = await connect(['--server', 'desk'], '', false, { MCPGATEWAY_BASIC_AUTH: `${ADMIN.user}:${ADMIN.password}` });
    try {
      const result = await client.callTool({ name: 'echo', arguments: { text: 'basic over stdio' } });
      expect(result.content).toEqual([{ type: 'text', text: 'basic over stdio' }]);
    } finally {
      await client.close();
    }
    await expect(connect([], '', false, { MCPGATEWAY_BASIC_AUTH: `${ADMIN.user}:wrong-password-here` })).rejects.toThrow(/HTTP 401/);
  });

  it('exits non-zero with a coded error when MCPGATEWAY_BASIC_AUTH is not user:password', async () => {
    const run = promisify(execFile)(process.execPath, [MAIN, 'stdio'], { env: { PATH: process.env.PATH ?? '', MCPGATEWAY_URL: gw.url, MCPGATEWAY_BASIC_AUTH: 'no-colon' } });
    const failure = (await run.then(() => undefined, (e: unknown) => e)) as { code?: number; stderr?: string } | undefined;
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toMatch(/MCPGATEWAY_BASIC_AUTH must be user:password/);
  });

  it('answers with a clear error when the token is refused', async () => {
    await expect(connect([], 'not-a-token')).rejects.toThrow(/HTTP 401/);
  });
});
