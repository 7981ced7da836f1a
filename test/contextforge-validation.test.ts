import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { runCli } from './helpers/processes.js';
import { STORES } from './helpers/stores.js';

// Malformed ContextForge files (issue 10, item 4): refused with a coded 422 that names the JSON
// path of what is wrong, through POST /import (the file itself and ContextForge's {import_data}
// body) and `mcpgateway import` (a real child process, non-zero exit), and nothing is written.
// Before, a file whose entities could not be read converted to nothing and was accepted as empty.

type Obj = Record<string, unknown>;
const file = (entities: unknown): Obj => ({ version: '2025-03-26', exported_at: '2025-01-01T00:00:00Z', entities, metadata: {} });
const tool = { name: 'weather', url: 'http://127.0.0.1:9/weather', integration_type: 'REST', request_type: 'GET' };
const gateway = { name: 'upstream', url: 'http://127.0.0.1:9/sse', transport: 'SSE' };

/** Each malformed file, with the path the refusal must name (under `$`). */
const CASES: [string, Obj, string][] = [
  ['entities is an array', file([]), '$.entities'],
  ['entities is a string', file('tools'), '$.entities'],
  ['entities is null', file(null), '$.entities'],
  ['tools is not an array', file({ tools: { weather: tool } }), '$.entities.tools'],
  ['gateways is a string', file({ tools: [tool], gateways: 'upstream' }), '$.entities.gateways'],
  ['roots is a number', file({ roots: 4 }), '$.entities.roots'],
  ['a tool is not an object', file({ tools: [tool, 'second'] }), '$.entities.tools[1]'],
  ['a prompt is null', file({ prompts: [null] }), '$.entities.prompts[0]'],
  ['a tool has no name', file({ tools: [tool, tool, tool, { url: 'http://127.0.0.1:9/x' }] }), '$.entities.tools[3].name'],
  ['a tool name is a number', file({ tools: [{ ...tool, name: 42 }] }), '$.entities.tools[0].name'],
  ['a REST tool has no url', file({ tools: [{ name: 'nourl', integration_type: 'REST' }] }), '$.entities.tools[0].url'],
  ['a gateway url is an object', file({ gateways: [{ ...gateway, url: { href: 'http://x' } }] }), '$.entities.gateways[0].url'],
  ['a gateway has no url', file({ gateways: [gateway, { name: 'other' }] }), '$.entities.gateways[1].url'],
  ['a resource has no uri', file({ resources: [{ name: 'readme', content: 'x' }] }), '$.entities.resources[0].uri'],
  ['a server name is empty', file({ servers: [{ name: '' }] }), '$.entities.servers[0].name'],
];

describe('malformed ContextForge files are refused with the path of what is wrong', () => {
  let gw: TestGateway;
  let dir: string;
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!);
    dir = mkdtempSync(join(tmpdir(), 'mcpgw-cf-validation-'));
  });
  afterAll(async () => {
    await gw?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function nothingWritten(): Promise<void> {
    for (const kind of ['tools', 'gateways', 'servers', 'prompts', 'resources']) {
      expect(await (await gw.api(`/${kind}?include_inactive=true`)).json(), kind).toEqual([]);
    }
  }

  it.each(CASES)('POST /import: %s → 422 IMPORT_INVALID naming the path', async (_what, body, path) => {
    const res = await gw.api('/import', { method: 'POST', body });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { code: string; detail: string; errors: { path: string }[] };
    expect(problem.code).toBe('IMPORT_INVALID');
    expect(problem.errors.map((e) => e.path)).toContain(path);
    expect(problem.detail).toContain(path);
    await nothingWritten();
  });

  it.each(CASES)('POST /import with ContextForge\'s {import_data} body: %s → 422 naming the path under $.import_data', async (_what, data, path) => {
    const res = await gw.api('/import', { method: 'POST', body: { import_data: data, conflict_strategy: 'update' } });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { code: string; errors: { path: string }[] };
    expect(problem.code).toBe('IMPORT_INVALID');
    expect(problem.errors.map((e) => e.path)).toContain(path.replace(/^\$/, '$.import_data'));
    await nothingWritten();
  });

  it('mcpgateway import: every malformed file exits non-zero naming the path, and writes nothing', async () => {
    const results = await Promise.all(
      CASES.map(async ([what, body, path], i) => {
        const name = `case-${i}.json`;
        writeFileSync(join(dir, name), JSON.stringify(body));
        return { what, path, result: await runCli(['import', name], { MCPGATEWAY_URL: gw.url }, dir) };
      }),
    );
    for (const { what, path, result } of results) {
      expect(result.code, `${what}: ${result.stderr}`).not.toBe(0);
      expect(result.stderr, what).toContain(path);
      expect(result.stderr, what).not.toMatch(/imported \d+|created/i);
    }
    await nothingWritten();
  }, 120_000);

  it('still imports a well-formed ContextForge file (an empty entities object included)', async () => {
    const empty = await gw.api('/import', { method: 'POST', body: file({}) });
    expect(empty.status, await empty.clone().text()).toBe(200);
    const res = await gw.api('/import', { method: 'POST', body: file({ tools: [tool], gateways: [{ ...gateway, is_active: false }], roots: [] }) });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await gw.api('/tools/weather')).status).toBe(200);
  });
});
