import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClientFile, type ClientKind } from '../src/cli/client-files.js';
import { createToken } from '../src/cli/token.js';
import { JWT_SECRET, TEST_SECRET } from './helpers/gateway.js';
import { connectClient, waitFor } from './helpers/mcp.js';
import { runCli, startGatewayProcess, type GatewayProcess } from './helpers/processes.js';
import { startEverything, type HttpUpstream } from './helpers/upstreams.js';

const FIXTURES = new URL('fixtures/clients/', import.meta.url).pathname;
const SECRET_TOKEN = 'input-secret-token-5f2c9a';

/** Each client's file (written from its documentation), and a tool each of its entries must serve. */
const FILES: [ClientKind, string, string[]][] = [
  ['claude-desktop', 'claude_desktop_config.json', ['everything__echo', 'memory__read_graph']],
  ['claude-code', 'claude-code.mcp.json', ['cc-memory__read_graph', 'cc-remote__echo']],
  ['cursor', 'cursor-mcp.json', ['cursor-everything__echo', 'cursor-remote__echo']],
  ['vscode', 'vscode-mcp.json', ['vscode-memory__read_graph', 'vscode-remote__echo']],
  ['windsurf', 'windsurf-mcp_config.json', ['windsurf-everything__echo', 'windsurf-remote__echo']],
  ['codex', 'codex-config.toml', ['codex-memory__read_graph', 'codex-everything__echo']],
];

// `mcpgateway import clients` and `client-config`: the real CLI against a real gateway process,
// which then serves the upstreams the files name (server-everything and server-memory over stdio
// through npx, and server-everything over Streamable HTTP for the remote entries).
describe('onboarding from desktop clients\' configuration files', () => {
  let gw: GatewayProcess;
  let remote: HttpUpstream;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcpgw-clients-'));
    remote = await startEverything('streamableHttp');
    gw = await startGatewayProcess(`sqlite:${join(dir, 'gw.db')}`, TEST_SECRET, { HEALTH_CHECK_INTERVAL_MS: '3600000' });
    const url = `http://127.0.0.1:${remote.port}/mcp`;
    env = {
      MCPGATEWAY_URL: gw.url,
      EVERYTHING_URL: url,
      EVERYTHING_KEY: SECRET_TOKEN,
      API_BASE_URL: `http://127.0.0.1:${remote.port}`,
      API_KEY: SECRET_TOKEN,
      MEMORY_FILE: join(dir, 'cc-memory.jsonl'),
      MCPGATEWAY_INPUT_MEMORY_FILE: join(dir, 'vscode-memory.jsonl'),
      MCPGATEWAY_INPUT_API_TOKEN: SECRET_TOKEN,
    };
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await remote?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(FILES)('imports a %s file, one gateway per entry, never printing a secret', async (client, file) => {
    const result = await runCli(['import', 'clients', join(FIXTURES, file), '--client', client], env);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('created 2, updated 0, unchanged 0, failed 0');
    expect(result.stdout + result.stderr).not.toContain(SECRET_TOKEN);
  }, 120_000);

  it.each(FILES)('re-importing the %s file with --client auto changes nothing', async (client, file) => {
    const result = await runCli(['import', 'clients', join(FIXTURES, file)], env);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`from a ${client} configuration`);
    expect(result.stdout).toContain('created 0, updated 0, unchanged 2, failed 0');
  }, 60_000);

  it('serves the upstreams every file names, through /mcp', async () => {
    const client = await connectClient(gw.url, '/mcp', '2025-11-25');
    try {
      const names = new Set((await client.listTools()).tools.map((t) => t.name));
      for (const [, , tools] of FILES) for (const tool of tools) expect(names, tool).toContain(tool);
      const echo = await client.callTool({ name: 'vscode-remote__echo', arguments: { message: 'onboarded' } });
      expect(echo.content).toEqual([{ type: 'text', text: 'Echo: onboarded' }]);
      const graph = (await client.callTool({ name: 'codex-memory__read_graph', arguments: {} })) as { content: { text: string }[] };
      expect(JSON.parse(graph.content[0]!.text)).toMatchObject({ entities: [] });
    } finally {
      await client.close();
    }
  }, 60_000);

  it('stores header secrets as encrypted credentials, never shown by GET or export', async () => {
    const remoteGw = (await (await gw.api('/gateways/vscode-remote')).json()) as Record<string, unknown>;
    expect(remoteGw).toMatchObject({ transport: 'streamablehttp', auth_type: 'headers', tags: ['imported-from=vscode'] });
    expect(JSON.stringify(remoteGw)).not.toContain(SECRET_TOKEN);
    const exported = await (await gw.api('/export')).text();
    expect(exported).not.toContain(SECRET_TOKEN);
  });

  it('reports placeholders with no value and exits non-zero, creating nothing for that entry', async () => {
    const { MCPGATEWAY_INPUT_API_TOKEN: _dropped, ...partial } = env;
    const result = await runCli(['import', 'clients', join(FIXTURES, 'vscode-mcp.json'), '--dry-run'], partial);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('skipped vscode-remote');
    expect(result.stdout).toContain('set MCPGATEWAY_INPUT_API_TOKEN in the environment');
    expect(result.stderr).toContain('1 of 2 entries were not imported');
  });

  it('refuses a file that is not a client configuration with a clear error', async () => {
    const result = await runCli(['import', 'clients', join(FIXTURES, '..', 'conformance-upstream.mjs'), '--client', 'cursor'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mcpgateway: not JSON/);
    const bad = await runCli(['import', 'clients', join(FIXTURES, 'cursor-mcp.json'), '--client', 'emacs'], env);
    expect(bad.code).toBe(2);
  });

  it.each(FILES.map(([client]) => client))('client-config --client %s prints a snippet the same reader reads back', async (client) => {
    const result = await runCli(['client-config', '--server', 'desk', '--client', client], env);
    expect(result.code, result.stderr).toBe(0);
    const [entry] = readClientFile(client, result.stdout);
    expect(entry!.name).toBe('mcpgateway-desk');
    if (client === 'claude-desktop') {
      expect(entry).toMatchObject({ transport: 'stdio', command: 'mcpgateway', args: ['stdio', '--server', 'desk'] });
      expect(entry!.env).toEqual({ MCPGATEWAY_URL: gw.url, MCPGATEWAY_BEARER_TOKEN: '<MCPGATEWAY_TOKEN>' });
    } else {
      expect(entry).toMatchObject({ transport: 'streamablehttp', url: `${gw.url}/servers/desk/mcp` });
      const expected = client === 'codex' ? 'Bearer ${env:MCPGATEWAY_BEARER_TOKEN}' : 'Bearer <MCPGATEWAY_TOKEN>';
      expect(entry!.headers.Authorization).toBe(expected);
    }
  });

  it('a client configured from client-config reaches the virtual server', async () => {
    expect((await gw.api('/servers', { method: 'POST', body: { name: 'desk', tools: ['everything__*'] } })).status).toBe(201);
    const result = await runCli(['client-config', '--server', 'desk', '--client', 'vscode'], env);
    const [entry] = readClientFile('vscode', result.stdout.replace('<MCPGATEWAY_TOKEN>', await createToken(JWT_SECRET, 'ide', 600)));
    const client = new Client({ name: 'ide', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(entry!.url!), { requestInit: { headers: entry!.headers } }));
    try {
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThan(0);
      expect(tools.every((t) => t.name.startsWith('everything__'))).toBe(true);
    } finally {
      await client.close();
    }
  });

  describe('client-config --mint-token', () => {
    const initialize = (token: string) => ({
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'ide', version: '1' } } }),
    });

    it('mints a stored client token limited to the server: it reaches that server, and only that one', async () => {
      expect((await gw.api('/servers', { method: 'POST', body: { name: 'other', tools: ['everything__*'] } })).status).toBe(201);
      const result = await runCli(['client-config', '--server', 'desk', '--client', 'vscode', '--mint-token', '--expires', '1h'], env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).not.toContain('<MCPGATEWAY_TOKEN>');
      expect(result.stderr).toMatch(/token "vscode-desk-\d{8}T\d{6}Z" \(id .+, role client, limited to server "desk", expires .+\) created; this is the only time its secret is shown/);
      const [entry] = readClientFile('vscode', result.stdout);
      const token = entry!.headers.Authorization!.replace(/^Bearer /, '');
      expect(result.stderr).not.toContain(token);
      const stored = ((await (await gw.api('/tokens')).json()) as Record<string, unknown>[]).find((t) => String(t.name).startsWith('vscode-desk-'));
      expect(stored).toMatchObject({ role: 'client', servers: ['desk'] });
      expect(stored!.expires_at).toBeTruthy();

      const client = new Client({ name: 'ide', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(entry!.url!), { requestInit: { headers: entry!.headers } }));
      try {
        const { tools } = await client.listTools();
        expect(tools.length).toBeGreaterThan(0);
        const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'minted' } });
        expect(echo.content).toEqual([{ type: 'text', text: 'Echo: minted' }]);
      } finally {
        await client.close();
      }
      for (const path of ['/mcp', '/servers/other/mcp']) {
        const refused = await fetch(gw.url + path, initialize(token));
        expect(refused.status, path).toBe(403);
        await refused.body?.cancel();
      }
      const admin = await fetch(`${gw.url}/servers`, { headers: { authorization: `Bearer ${token}` } });
      expect(admin.status).toBe(403);
      await admin.body?.cancel();
      const reached = await fetch(`${gw.url}/servers/desk/mcp`, initialize(token));
      expect(reached.status).toBe(200);
      await reached.body?.cancel();
    }, 60_000);

    it('writes the minted token into a Codex snippet as a header, which reads back', async () => {
      const result = await runCli(['client-config', '--server', 'desk', '--client', 'codex', '--mint-token'], env);
      expect(result.code, result.stderr).toBe(0);
      const [entry] = readClientFile('codex', result.stdout);
      expect(entry!.url).toBe(`${gw.url}/servers/desk/mcp`);
      expect(entry!.headers.Authorization).toMatch(/^Bearer \S+$/);
      expect(entry!.headers.Authorization).not.toContain('MCPGATEWAY_BEARER_TOKEN');
      const response = await fetch(`${gw.url}/servers/desk/mcp`, initialize(entry!.headers.Authorization!.slice('Bearer '.length)));
      expect(response.status).toBe(200);
      await response.body?.cancel();
    }, 30_000);

    it('mints nothing for a server that does not exist, nor with bad flags', async () => {
      const before = ((await (await gw.api('/tokens')).json()) as unknown[]).length;
      const missing = await runCli(['client-config', '--server', 'nowhere', '--client', 'cursor', '--mint-token'], env);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toMatch(/^mcpgateway: .*nowhere/);
      const both = await runCli(['client-config', '--server', 'desk', '--client', 'cursor', '--mint-token', '--token', 'x'], env);
      expect(both.code).toBe(2);
      const badExpiry = await runCli(['client-config', '--server', 'desk', '--client', 'cursor', '--mint-token', '--expires', 'soon'], env);
      expect(badExpiry.code).toBe(2);
      expect(badExpiry.stderr).toContain('--expires "soon"');
      const noMint = await runCli(['client-config', '--server', 'desk', '--client', 'cursor', '--expires', '1d'], env);
      expect(noMint.code).toBe(2);
      expect(((await (await gw.api('/tokens')).json()) as unknown[]).length).toBe(before);
    }, 30_000);
  });

  describe('gateways add --from server.json (MCP Registry)', () => {
    const MEMORY_VERSION = (JSON.parse(readFileSync('node_modules/@modelcontextprotocol/server-memory/package.json', 'utf8')) as { version: string }).version;
    let file: string;
    beforeAll(() => {
      file = join(dir, 'server.json');
      const serverJson = {
        $schema: 'https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json',
        name: 'io.github.modelcontextprotocol/server-memory',
        description: 'Knowledge graph memory',
        version: MEMORY_VERSION,
        packages: [
          {
            registryType: 'npm',
            identifier: '@modelcontextprotocol/server-memory',
            version: MEMORY_VERSION,
            transport: { type: 'stdio' },
            environmentVariables: [{ name: 'MEMORY_FILE_PATH', description: 'where the graph is kept', isRequired: true, isSecret: false }],
          },
        ],
        remotes: [{ type: 'streamable-http', url: env.EVERYTHING_URL, headers: [{ name: 'X-Api-Key', description: 'API key', isSecret: true }] }],
      };
      writeFileSync(file, JSON.stringify(serverJson));
    });

    it('refuses to create a package gateway while a required variable is missing, naming it', async () => {
      const result = await runCli(['gateways', 'add', '--from', file], env);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('env MEMORY_FILE_PATH: required; from $MEMORY_FILE_PATH: not set');
      expect(result.stderr).toContain('MEMORY_FILE_PATH');
    });

    it('creates an npm package as a stdio gateway (npx -y pkg@version) that serves its tools', async () => {
      const result = await runCli(['gateways', 'add', '--from', file], { ...env, MEMORY_FILE_PATH: join(dir, 'registry-memory.jsonl') });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const created = /created gateway (\S+) \(stdio\)/.exec(result.stdout)![1]!;
      const gateway = (await (await gw.api(`/gateways/${created}`)).json()) as Record<string, unknown>;
      expect(gateway).toMatchObject({ transport: 'stdio', command: 'npx', args: ['-y', `@modelcontextprotocol/server-memory@${MEMORY_VERSION}`] });
      await waitFor(async () => (await gw.api(`/tools/${created}__read_graph`)).status === 200, 'discovery of the npm package', 30_000);
    }, 60_000);

    it('creates a remote as a Streamable HTTP gateway with its secret header encrypted', async () => {
      expect((await runCli(['gateways', 'add', '--from', file, '--entry', 'nope'], env)).code).toBe(2);
      const listing = await runCli(['gateways', 'add', '--from', file, '--dry-run'], { ...env, MEMORY_FILE_PATH: 'x' });
      expect(listing.stdout).toContain('would create gateway');
      const remoteEntry = /^[ *] (\S+_remote_streamablehttp)/m.exec(listing.stdout)![1]!;
      const probe = await runCli(['gateways', 'add', '--from', file, '--entry', remoteEntry, '--dry-run'], env);
      const variable = /header X-Api-Key: required, secret; from \$(\w+)/.exec(probe.stdout)![1]!;
      const result = await runCli(['gateways', 'add', '--from', file, '--entry', remoteEntry, '--name', 'registry-remote'], { ...env, [variable]: SECRET_TOKEN });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(SECRET_TOKEN);
      const gateway = (await (await gw.api('/gateways/registry-remote')).json()) as Record<string, unknown>;
      expect(gateway).toMatchObject({ transport: 'streamablehttp', url: env.EVERYTHING_URL, auth_type: 'headers' });
      expect(JSON.stringify(gateway)).not.toContain(SECRET_TOKEN);
      await waitFor(async () => (await gw.api('/tools/registry-remote__echo')).status === 200, 'discovery of the remote', 30_000);
    }, 60_000);

    it('refuses a file that is not a server.json with REGISTRY_ENTRY_INVALID', async () => {
      const result = await runCli(['gateways', 'add', '--from', join(FIXTURES, 'cursor-mcp.json')], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('expected an MCP Registry server.json');
    });
  });

  it('keeps the fixtures readable as the clients write them', () => {
    for (const [client, file] of FILES) expect(readClientFile(client, readFileSync(join(FIXTURES, file), 'utf8'))).toHaveLength(2);
  });
});
