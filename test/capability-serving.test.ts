import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCapability } from '../src/capabilities/file.js';
import { capabilitySchema } from '../src/capabilities/schema.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { CLI, freePort } from './helpers/processes.js';
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

// Issue 15: a gateway serving GitHub's 1,223 generated files, as a real process.
describe("serving GitHub's 1,223 capability files", () => {
  const GITHUB = join(process.cwd(), 'node_modules/@octokit/openapi/generated/api.github.com.json');
  const SECRET = 'serving-secret-0123456789abcdef-0123456789';
  let root: string;
  let caps: string;

  /** Spawn `mcpgateway serve`; poll /ready every 5 ms from the start, keeping what it answered. */
  async function serve(dir: string) {
    const port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: 'sqlite::memory:', AUTH_ENCRYPTION_SECRET: SECRET, AUTH_REQUIRED: 'false', LOG_LEVEL: 'info', CAPABILITY_DIRS: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += String(chunk)));
    child.stderr!.on('data', (chunk) => (output += String(chunk)));
    const url = `http://127.0.0.1:${port}`;
    const answers: { status: number; body: Record<string, unknown> }[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway exited: ${output}`);
      if (Date.now() > deadline) throw new Error(`not ready: ${output}`);
      const response = await fetch(`${url}/ready`).catch(() => undefined);
      if (response) {
        answers.push({ status: response.status, body: (await response.json()) as Record<string, unknown> });
        if (response.status === 200) break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const readyMs = performance.now() - started;
    const stop = () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    return { url, readyMs, answers, output: () => output, stop };
  }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'mcpgw-capserve-gh-'));
    caps = join(root, 'github');
    const made = spawnSync(process.execPath, [CLI, 'cap', 'import', GITHUB, '-o', caps], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    expect(readdirSync(caps)).toHaveLength(1223);
    mkdirSync(join(root, 'empty'));
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports progress in /ready until every one of the 1,223 files is in, then serves them', async () => {
    const empty = await serve(join(root, 'empty'));
    await empty.stop();
    const full = await serve(caps);
    try {
      const last = full.answers.at(-1)!;
      expect(last.body).toMatchObject({ status: 'ready', capabilities: { state: 'loaded', loaded: 1223, total: 1223 } });
      // Anything before it was a 503 that says how far loading is.
      for (const answer of full.answers.slice(0, -1)) {
        expect(answer.status).toBe(503);
        if (answer.body.capabilities !== undefined) {
          expect(answer.body).toMatchObject({ code: 'NOT_READY', capabilities: { state: 'loading', total: 1223 } });
          expect((answer.body.capabilities as { loaded: number }).loaded).toBeLessThanOrEqual(1223);
        }
      }
      await waitFor(() => /"files":1223[^\n]*"msg":"capability files loaded"/.test(full.output()), 'the log to say the files are loaded');
      const extra = full.readyMs - empty.readyMs;
      process.stderr.write(`ready: empty folder ${Math.round(empty.readyMs)} ms, 1,223 files ${Math.round(full.readyMs)} ms (+${Math.round(extra)} ms)\n`);
      // The time is reported, not asserted: its target (<= 1 s over the empty start) is the bench's
      // serve.ready_github_1223_files_extra row (house rule: no timed unit tests; this one failed under load).
      const list = await fetch(`${full.url}/tools?limit=2000`).then((r) => r.json() as Promise<unknown>);
      expect(JSON.stringify(list)).toContain('"name":"repos_get"');
    } finally {
      await full.stop();
    }
  }, 120_000);

  it('reloads only the file that changed, and nothing when cap import --force rewrites the same text', async () => {
    const gw = await serve(caps);
    try {
      const changes = () => gw.output().split('\n').filter((line) => line.includes('"msg":"capability tool changed"'));
      expect(changes()).toEqual([]);
      const file = join(caps, 'repos_get.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^description: .*$/m, 'description: changed by hand'));
      await waitFor(() => changes().length > 0, 'the change to be picked up');
      await new Promise((r) => setTimeout(r, 500));
      expect(changes()).toHaveLength(1);
      expect(changes()[0]).toMatch(/"op":"update"[^\n]*"name":"repos_get"/);
      const tool = (await fetch(`${gw.url}/tools/repos_get`).then((r) => r.json())) as { description: string };
      expect(tool.description).toMatch(/^changed by hand/);
      // Importing again puts back that one file and leaves the 1,222 others untouched.
      const again = spawnSync(process.execPath, [CLI, 'cap', 'import', GITHUB, '-o', caps, '--force'], { encoding: 'utf8' });
      expect(again.status, again.stderr).toBe(0);
      await waitFor(() => changes().length > 1, 'the re-import to be picked up');
      await new Promise((r) => setTimeout(r, 500));
      expect(changes()).toHaveLength(2);
      expect(changes()[1]).toMatch(/"name":"repos_get"/);
    } finally {
      await gw.stop();
    }
  }, 120_000);
});
