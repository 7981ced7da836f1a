import { existsSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthCipher } from '../src/crypto/auth-value.js';
import { contextForgeSlug } from '../src/domain/contextforge.js';
import { runCli, startGatewayProcess, type GatewayProcess } from './helpers/processes.js';
import { postgresAvailable, STORES, type TestDatabase } from './helpers/stores.js';
import { startEverything, type HttpUpstream } from './helpers/upstreams.js';

/**
 * ContextForge interoperability on files ContextForge itself wrote (../shared/interop/contextforge,
 * beside the repository as CI has it): the three real files import, field by field; selective
 * import, rekey at import and ContextForge's {import_data} body on both databases; our
 * ContextForge-format export checked against schemas/contextforge-import.schema.json and read back.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
// CI has shared/ beside the clone (../shared); a worktree under wt/ finds it one level further up.
const INTEROP = [join(root, '..', 'shared'), join(root, '..', '..', 'shared')].map((d) => join(d, 'interop', 'contextforge')).find((d) => existsSync(d)) ?? join(root, '..', 'shared', 'interop', 'contextforge');
// The secret the README of the shared files gives.
const CF_SECRET = /AUTH_ENCRYPTION_SECRET='([^']+)'/.exec(readFileSync(join(INTEROP, 'README.md'), 'utf8'))![1]!;
const OTHER_SECRET = 'another-cluster-secret-for-rekey-0123456789';
const cf = new AuthCipher(CF_SECRET);
const other = new AuthCipher(OTHER_SECRET);
const KINDS = ['gateways', 'servers', 'tools', 'prompts', 'resources'] as const;

type Obj = Record<string, unknown>;
const real = (name: string) => JSON.parse(readFileSync(join(INTEROP, name), 'utf8')) as { entities: Record<string, Obj[]> } & Obj;
const labels = (tags: unknown) => ((tags as unknown[] | undefined) ?? []).map((t) => (typeof t === 'object' && t ? (t as Obj).label : t));

async function listAll(gw: GatewayProcess, kind: string): Promise<Obj[]> {
  return (await (await gw.api(`/${kind}?include_inactive=true`)).json()) as Obj[];
}
async function get(gw: GatewayProcess, kind: string, key: string): Promise<Obj> {
  const res = await gw.api(`/${kind}/${encodeURIComponent(key)}`);
  expect(res.status, `${kind}/${key}`).toBe(200);
  return (await res.json()) as Obj;
}
async function emptyTarget(gw: GatewayProcess): Promise<void> {
  for (const kind of ['servers', 'prompts', 'tools', 'resources', 'gateways']) {
    for (const obj of await listAll(gw, kind)) await gw.api(`/${kind}/${String(obj.id)}`, { method: 'DELETE' });
  }
}

/** Compare what the target holds with each entity of a real ContextForge file, field by field. */
async function expectFileImported(gw: GatewayProcess, file: { entities: Record<string, Obj[]> }, stored: AuthCipher): Promise<void> {
  const credentials = (obj: Obj, entity: Obj) => {
    if (typeof entity.auth_value === 'string' && entity.auth_value !== '*****') {
      expect(stored.decrypt(String(obj.auth_value))).toEqual(cf.decrypt(entity.auth_value));
      expect(obj.auth_type).toBe(entity.auth_type === 'authheaders' ? 'headers' : entity.auth_type);
    } else {
      expect(obj).toMatchObject({ auth_type: 'none', auth_value: null });
    }
  };
  const toolName = new Map<string, string>();
  for (const t of file.entities.tools ?? []) {
    const name = contextForgeSlug(String(t.name));
    toolName.set(String(t.name), name);
    const obj = await get(gw, 'tools', name);
    const headers = Object.fromEntries(Object.entries((t.headers as Obj | undefined) ?? {}).filter(([, v]) => v !== '*****'));
    expect(obj).toMatchObject({
      url: t.url,
      request_type: t.request_type,
      description: t.description ?? '',
      headers,
      input_schema: t.input_schema ?? { type: 'object', properties: {} },
      output_schema: t.output_schema ?? null,
      annotations: t.annotations ?? {},
      response_path: t.jsonpath_filter ? t.jsonpath_filter : null,
      tags: labels(t.tags),
      is_active: t.is_active ?? true,
      title: t.displayName !== undefined && t.displayName !== t.name ? t.displayName : null,
    });
    credentials(obj, t);
  }
  for (const g of file.entities.gateways ?? []) {
    const obj = await get(gw, 'gateways', String(g.name));
    expect(obj).toMatchObject({ url: g.url, description: g.description ?? '', transport: String(g.transport ?? 'SSE').toLowerCase(), tags: labels(g.tags), is_active: g.is_active ?? true });
    credentials(obj, g);
  }
  for (const s of file.entities.servers ?? []) {
    const obj = await get(gw, 'servers', String(s.name));
    const refs = (s.tool_ids as string[]).map((ref) => toolName.get(ref) ?? [...toolName.values()].find((n) => n === ref) ?? ref);
    expect(obj).toMatchObject({ description: s.description ?? '', tools: refs, tags: labels(s.tags), is_active: s.is_active ?? true });
  }
  for (const p of file.entities.prompts ?? []) {
    const obj = await get(gw, 'prompts', contextForgeSlug(String(p.custom_name ?? p.name)));
    expect(obj).toMatchObject({ template: p.template, description: p.description ?? '', input_schema: p.input_schema, tags: labels(p.tags), is_active: p.is_active });
  }
  for (const r of file.entities.resources ?? []) {
    const obj = await get(gw, 'resources', String(r.uri));
    expect(obj).toMatchObject({ name: r.name, description: r.description ?? '', mime_type: r.mime_type, tags: labels(r.tags), is_active: r.is_active });
  }
  const counts = Object.fromEntries(await Promise.all(KINDS.map(async (k) => [k, (await listAll(gw, k)).length])));
  expect(counts).toEqual(Object.fromEntries(KINDS.map((k) => [k, (file.entities[k] ?? []).length])));
}

for (const store of STORES) {
  const available = store.name === 'sqlite' || postgresAvailable;
  describe.skipIf(!available)(`ContextForge files (target on ${store.name})`, () => {
    let db: TestDatabase;
    let otherDb: TestDatabase;
    let target: GatewayProcess;
    let otherTarget: GatewayProcess;
    let dir: string;
    const env = (gw: GatewayProcess) => ({ MCPGATEWAY_URL: gw.url });

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mcpgw-cf-'));
      [db, otherDb] = await Promise.all([store.create(), store.create()]);
      [target, otherTarget] = await Promise.all([startGatewayProcess(db.url, CF_SECRET), startGatewayProcess(otherDb.url, OTHER_SECRET)]);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([target?.stop(), otherTarget?.stop()]);
      await Promise.all([db?.drop(), otherDb?.drop()]);
      rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await Promise.all([emptyTarget(target), emptyTarget(otherTarget)]);
    });

    it('imports full-export.json (ContextForge export_configuration) with exit 0: every object, every field, every credential; a second run changes nothing', async () => {
      const file = join(INTEROP, 'full-export.json');
      const first = await runCli(['import', file], env(target), dir);
      expect(first.stderr).not.toMatch(/mcpgateway:|failed/);
      expect(first.code).toBe(0);
      await expectFileImported(target, real('full-export.json'), new AuthCipher(CF_SECRET));
      // Slug names (what ContextForge's clients called them) are kept and reported, with the path in the file.
      expect(first.stderr).toContain('note: $.entities.tools[1].name: tool "basic_tool" is named "basic-tool" here');
      expect(first.stderr).toContain('note: $.entities.prompts[1].name: prompt "test_prompt" is named "test-prompt" here');
      // Tools whose credentials ContextForge exported as null import without them, listed to re-enter.
      expect(first.stdout).toMatch(/credentials to re-enter \(3\)/);
      expect(first.stdout).toContain('tool "basic-tool" ($.entities.tools[1]): auth_type basic');
      // The masked header value is dropped with a warning, never stored.
      expect(first.stderr).toContain('warning: $.entities.tools[2].headers.X-Trace: masked value "*****" dropped');
      expect((await get(target, 'tools', 'create-issue')).headers).toEqual({});
      expect(JSON.stringify(await listAll(target, 'tools'))).not.toContain('*****');
      // Servers name their tools by slug in tool_ids: resolved, nothing missing.
      expect(await get(target, 'servers', 'full-server')).toMatchObject({ tools: ['basic-tool', 'create-issue'], missing_refs: { tools: [], prompts: [], resources: [] } });
      expect((await get(target, 'gateways', 'stream-gw')).transport).toBe('streamablehttp');
      expect((await get(target, 'gateways', 'qp-gw')).transport).toBe('sse');
      const before = await Promise.all(KINDS.map((k) => listAll(target, k)));
      const second = await runCli(['import', file], env(target), dir);
      expect(second.code).toBe(0);
      expect(second.stdout).not.toMatch(/created|updated/);
      expect(await Promise.all(KINDS.map((k) => listAll(target, k)))).toEqual(before);
    });

    it('imports docs-example.json: the tool it names but lacks stays in missing_refs with a warning at $.entities.servers[0].tool_ids[1]; credentials open to the documented values', async () => {
      const result = await runCli(['import', join(INTEROP, 'docs-example.json')], env(target), dir);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('warning: $.entities.servers[0].tool_ids[1]: tool "translate_text" is in neither the file nor the target');
      await expectFileImported(target, real('docs-example.json'), new AuthCipher(CF_SECRET));
      expect(await get(target, 'servers', 'ai-tools-server')).toMatchObject({ tools: ['weather-api', 'translate_text'], missing_refs: { tools: ['translate_text'] } });
      expect(cf.decrypt(String((await get(target, 'tools', 'weather-api')).auth_value))).toEqual({ Authorization: 'Bearer wx-token-123' });
      expect(cf.decrypt(String((await get(target, 'gateways', 'production-east')).auth_value))).toEqual({ Authorization: `Basic ${Buffer.from('east-user:east-pass').toString('base64')}` });
      expect((await runCli(['import', join(INTEROP, 'docs-example.json')], env(target), dir)).stdout).not.toMatch(/created|updated/);
    });

    it('imports bulk-tools-import-data.json (the bulk body of ContextForge\'s API docs)', async () => {
      const result = await runCli(['import', join(INTEROP, 'bulk-tools-import-data.json')], env(target), dir);
      expect(result.code).toBe(0);
      await expectFileImported(target, real('bulk-tools-import-data.json'), new AuthCipher(CF_SECRET));
      expect((await runCli(['import', join(INTEROP, 'bulk-tools-import-data.json')], env(target), dir)).stdout).not.toMatch(/created|updated/);
    });

    it('--include "servers:full-server;prompts:summarize" imports those and the tools the server needs, and says so', async () => {
      const result = await runCli(['import', join(INTEROP, 'full-export.json'), '--include', 'servers:full-server;prompts:summarize'], env(target), dir);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('dependency: tool "basic-tool" comes along: server "full-server" needs it');
      expect(result.stderr).toContain('dependency: tool "create-issue" comes along: server "full-server" needs it');
      // Findings about what was not selected are not printed.
      expect(result.stderr).not.toContain('old_tool');
      expect((await listAll(target, 'tools')).map((t) => t.name).sort()).toEqual(['basic-tool', 'create-issue']);
      expect((await listAll(target, 'servers')).map((s) => s.name)).toEqual(['full-server']);
      expect((await listAll(target, 'prompts')).map((p) => p.name)).toEqual(['summarize']);
      expect(await listAll(target, 'gateways')).toEqual([]);
      // Names as the file has them (original names, ContextForge ids) select too; unknown names are a usage error.
      const byOriginal = await runCli(['import', join(INTEROP, 'full-export.json'), '--include', 'tools:weather_api', '--dry-run', '-f', 'json'], env(target), dir);
      expect(JSON.parse(byOriginal.stdout).items).toEqual([{ kind: 'tools', key: 'weather-api', outcome: 'create' }]);
      const unknown = await runCli(['import', join(INTEROP, 'full-export.json'), '--include', 'tools:nope'], env(target), dir);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('tool "nope"');
    });

    it('--rekey moves a file to a cluster with another secret in one command: every encrypted value re-encrypted to the same credentials', async () => {
      const file = join(INTEROP, 'full-export.json');
      const refused = await runCli(['import', file], env(otherTarget), dir);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("does not decrypt with this gateway's AUTH_ENCRYPTION_SECRET");
      // Named by where they are in the file as written, not in the converted document.
      expect(refused.stderr).toContain('gateway "stream-gw" ($.entities.gateways[1])');
      expect(refused.stderr).toContain('$.entities.gateways[1].auth_value');
      const noOld = await runCli(['import', file, '--rekey'], { ...env(otherTarget), AUTH_ENCRYPTION_SECRET: OTHER_SECRET }, dir);
      expect(noOld.code).toBe(3);
      const result = await runCli(['import', file, '--rekey'], { ...env(otherTarget), OLD_AUTH_ENCRYPTION_SECRET: CF_SECRET, AUTH_ENCRYPTION_SECRET: OTHER_SECRET }, dir);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('re-encrypted 6 encrypted values');
      await expectFileImported(otherTarget, real('full-export.json'), other);
    });

    it('--dry-run previews per object: create, update with the changed fields, unchanged, conflict; missing references; -f json for machines', async () => {
      const file = join(INTEROP, 'docs-example.json');
      const fresh = await runCli(['import', file, '--dry-run', '-f', 'json'], env(target), dir);
      expect(fresh.code).toBe(0);
      const plan = JSON.parse(fresh.stdout) as Obj;
      expect(plan.items).toEqual([
        { kind: 'gateways', key: 'production-east', outcome: 'create' },
        { kind: 'tools', key: 'weather-api', outcome: 'create' },
        { kind: 'servers', key: 'ai-tools-server', outcome: 'create' },
      ]);
      expect(plan.missing_refs).toEqual([{ server: 'ai-tools-server', kind: 'tools', name: 'translate_text', path: '$.entities.servers[0].tool_ids[1]' }]);
      expect(await listAll(target, 'tools')).toEqual([]);
      expect((await runCli(['import', file], env(target), dir)).code).toBe(0);
      const tool = await get(target, 'tools', 'weather-api');
      await target.api(`/tools/${String(tool.id)}`, { method: 'PATCH', body: { description: 'changed here', tags: ['x'] } });
      const again = await runCli(['import', file, '--dry-run'], env(target), dir);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/^update +tool +weather-api \(description, tags\)$/m);
      expect(again.stdout).toMatch(/^unchanged +gateway +production-east$/m);
      expect(again.stdout).toMatch(/^missing +tool +translate_text \(server ai-tools-server, \$\.entities\.servers\[0\]\.tool_ids\[1\]\)/m);
      const conflict = await runCli(['import', file, '--dry-run', '--conflict', 'fail', '-f', 'json'], env(target), dir);
      expect(conflict.code).toBe(1);
      expect((JSON.parse(conflict.stdout) as { items: Obj[] }).items).toContainEqual({ kind: 'tools', key: 'weather-api', outcome: 'conflict', changes: ['description', 'tags'] });
      expect((await get(target, 'tools', 'weather-api')).description).toBe('changed here');
    });

    it('POST /import takes ContextForge\'s {import_data, conflict_strategy, dry_run, rekey_secret, selected_entities} body', async () => {
      const body = { import_data: real('docs-example.json'), conflict_strategy: 'update', dry_run: true, rekey_secret: CF_SECRET, selected_entities: { servers: ['ai-tools-server'] } };
      const preview = await otherTarget.api('/import', { method: 'POST', body });
      expect(preview.status).toBe(200);
      const plan = (await preview.json()) as Obj;
      expect(plan).toMatchObject({ dry_run: true, format: 'contextforge', dependencies: [{ kind: 'tools', key: 'weather-api', needed_by: 'server "ai-tools-server"' }] });
      expect(plan.missing_refs).toEqual([{ server: 'ai-tools-server', kind: 'tools', name: 'translate_text', path: '$.import_data.entities.servers[0].tool_ids[1]' }]);
      expect(await listAll(otherTarget, 'tools')).toEqual([]);
      const applied = await otherTarget.api('/import', { method: 'POST', body: { ...body, dry_run: false } });
      expect(applied.status).toBe(200);
      expect(other.decrypt(String((await get(otherTarget, 'tools', 'weather-api')).auth_value))).toEqual({ Authorization: 'Bearer wx-token-123' });
      expect(await listAll(otherTarget, 'gateways')).toEqual([]);
      // Errors point into the body as sent.
      const bad = await otherTarget.api('/import', { method: 'POST', body: { import_data: { version: 'x', exported_at: 'y', entities: { tools: [{ name: 'a', integration_type: 'REST' }] } } } });
      expect(bad.status).toBe(422);
      expect(((await bad.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('$.import_data.entities.tools[0].url');
      const wrongSecret = await otherTarget.api('/import', { method: 'POST', body: { ...body, rekey_secret: 'not-the-secret-at-all-0123456789' } });
      expect(wrongSecret.status).toBe(422);
      expect(((await wrongSecret.json()) as Obj).code).toBe('IMPORT_SECRET_MISMATCH');
    });
  });
}

describe('query-parameter credentials (hand-written: the shared files have no query_param gateway with its values)', () => {
  let db: TestDatabase;
  let gw: GatewayProcess;
  let upstream: HttpUpstream;
  let proxy: Server;
  let proxyUrl: string;
  const seen: string[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcpgw-cfqp-'));
    upstream = await startEverything('streamableHttp');
    // A loopback recorder in front of the real upstream: it notes each request's URL and forwards it.
    proxy = createServer((req, res) => {
      seen.push(req.url ?? '');
      const out = httpRequest({ host: '127.0.0.1', port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.destroy());
      req.pipe(out);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/mcp`;
    db = await STORES[0]!.create();
    gw = await startGatewayProcess(db.url, CF_SECRET);
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports auth_query_params, sends them as query parameters to the upstream, exports them back in ContextForge\'s shape, and export rekey re-encrypts them', async () => {
    const file = {
      version: '2025-11-25',
      exported_at: '2026-12-03T11:21:17Z',
      entities: { gateways: [{ name: 'qp-gw', url: proxyUrl, transport: 'STREAMABLEHTTP', auth_type: 'query_param', auth_query_params: { api_key: cf.encrypt({ api_key: 'qp-secret-123' }) } }] },
    };
    writeFileSync(join(dir, 'qp.json'), JSON.stringify(file));
    const result = await runCli(['import', 'qp.json'], { MCPGATEWAY_URL: gw.url }, dir);
    expect(result.code).toBe(0);
    const stored = await get(gw, 'gateways', 'qp-gw');
    expect(stored.auth_type).toBe('query_param');
    expect(cf.decrypt(String(stored.auth_value))).toEqual({ api_key: 'qp-secret-123' });
    await expect.poll(async () => (await listAll(gw, 'tools')).length, { timeout: 20_000 }).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((url) => new URL(url, 'http://x').searchParams.get('api_key') === 'qp-secret-123')).toBe(true);

    const exported = await runCli(['export', '--format', 'contextforge', '--types', 'gateways', '--out', 'cf.json'], { MCPGATEWAY_URL: gw.url }, dir);
    expect(exported.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(dir, 'cf.json'), 'utf8')) as { entities: { gateways: Obj[] } };
    const gateway = doc.entities.gateways[0]!;
    expect(gateway).toMatchObject({ auth_type: 'query_param', transport: 'STREAMABLEHTTP' });
    expect(cf.decrypt(String((gateway.auth_query_params as Obj).api_key))).toEqual({ api_key: 'qp-secret-123' });
    expect(JSON.stringify(doc)).not.toContain('qp-secret-123');

    const rekey = await runCli(['export', 'rekey', '--in', 'cf.json', '--out', 'cf2.json'], { OLD_AUTH_ENCRYPTION_SECRET: CF_SECRET, AUTH_ENCRYPTION_SECRET: OTHER_SECRET }, dir);
    expect(rekey.code).toBe(0);
    const rekeyed = JSON.parse(readFileSync(join(dir, 'cf2.json'), 'utf8')) as { entities: { gateways: Obj[] } };
    expect(other.decrypt(String((rekeyed.entities.gateways[0]!.auth_query_params as Obj).api_key))).toEqual({ api_key: 'qp-secret-123' });
    expect(rekey.stderr).toContain('re-encrypted 1 encrypted value');

    // The Admin API takes the plaintext as write-only auth_query_params, for gateways only.
    const created = await gw.api('/gateways', { method: 'POST', body: { name: 'qp-admin', url: 'https://qp.example.com/mcp', auth_query_params: { token: 't-1' } } });
    expect(created.status).toBe(201);
    const body = (await created.json()) as Obj;
    expect(body).toMatchObject({ auth_type: 'query_param' });
    expect(JSON.stringify(body)).not.toContain('t-1');
    expect(cf.decrypt(String(body.auth_value))).toEqual({ token: 't-1' });
    const tool = await gw.api('/tools', { method: 'POST', body: { name: 'qp-tool', url: 'https://x.example.com', auth_query_params: { token: 't-1' } } });
    expect(tool.status).toBe(422);
    expect(((await tool.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('$.auth_query_params');
  }, 60_000);
});

describe('our ContextForge-format export', () => {
  let sourceDb: TestDatabase;
  let targetDb: TestDatabase;
  let source: GatewayProcess;
  let target: GatewayProcess;
  let dir: string;
  const schema = JSON.parse(readFileSync(join(root, 'schemas', 'contextforge-import.schema.json'), 'utf8')) as Obj;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcpgw-cfexp-'));
    [sourceDb, targetDb] = await Promise.all([STORES[0]!.create(), STORES[0]!.create()]);
    [source, target] = await Promise.all([startGatewayProcess(sourceDb.url, CF_SECRET), startGatewayProcess(targetDb.url, CF_SECRET)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    await Promise.all([sourceDb?.drop(), targetDb?.drop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('validates against ContextForge\'s import shape, lists what it cannot carry, and imports back without loss of what it carries', async () => {
    expect((await runCli(['import', join(INTEROP, 'full-export.json')], { MCPGATEWAY_URL: source.url }, dir)).code).toBe(0);
    // Things ContextForge cannot carry, to be reported rather than dropped silently.
    const post = async (kind: string, body: Obj) => expect((await source.api(`/${kind}`, { method: 'POST', body })).status).toBe(201);
    await post('gateways', { name: 'local-files', transport: 'stdio', command: 'mcp-files' });
    await post('tools', { name: 'with-body', url: 'https://api.example.com/x', request_type: 'POST', body: { q: '{q}' }, cookies: { s: '1' }, tags: ['env=prod'], auth_token: 'tok-123' });
    await post('resources', { uri: 'file:///logo.png', blob: Buffer.from('png').toString('base64') });
    // A tool's rate_limit is ContextForge's field; a server's is ours alone.
    await post('tools', { name: 'limited', url: 'https://api.example.com/limited', rate_limit: 5 });
    await post('servers', { name: 'capped', tools: ['limited'], rate_limit: 4 });
    const exported = await runCli(['export', '--format', 'contextforge', '--include-inactive', '--out', 'cf.json'], { MCPGATEWAY_URL: source.url }, dir);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain('contextforge: $.gateways["local-files"].transport: not carried: stdio gateways');
    expect(exported.stderr).toContain('contextforge: $.tools["with-body"].body: not carried');
    expect(exported.stderr).toContain('contextforge: $.tools["with-body"].cookies: not carried');
    expect(exported.stderr).toContain('contextforge: $.tools["with-body"].tags: not carried: tag "env=prod"');
    expect(exported.stderr).toContain('contextforge: $.resources["file:///logo.png"].blob: not carried');
    expect(exported.stderr).toContain('contextforge: $.resources["file:///logo.png"].name: written as "file_logo.png"');
    expect(exported.stderr).toContain('contextforge: $.tools["limited"].rate_limit: written as its rate_limit');
    expect(exported.stderr).toContain('contextforge: $.servers["capped"].rate_limit: not carried: ContextForge servers have no rate limit');
    const text = readFileSync(join(dir, 'cf.json'), 'utf8');
    const doc = JSON.parse(text) as { entities: Record<string, Obj[]>; metadata: Obj };
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    // ContextForge's field names and layout.
    expect(Object.keys(doc.entities).sort()).toEqual(['gateways', 'prompts', 'resources', 'roots', 'servers', 'tools']);
    expect(doc.entities.servers!.find((s) => s.name === 'full-server')).toMatchObject({ tool_ids: ['basic-tool', 'create-issue'] });
    expect(doc.entities.tools!.find((t) => t.name === 'create-issue')).toMatchObject({ displayName: 'Create issue', jsonpath_filter: '.data', integration_type: 'REST', rate_limit: null });
    expect(doc.entities.tools!.find((t) => t.name === 'limited')).toMatchObject({ rate_limit: 5 });
    expect(doc.entities.gateways!.find((g) => g.name === 'stream-gw')).toMatchObject({ auth_type: 'authheaders', transport: 'STREAMABLEHTTP' });
    expect(doc.entities.gateways!.map((g) => g.name)).not.toContain('local-files');
    expect((doc.metadata.not_carried as unknown[]).length).toBeGreaterThan(0);
    expect(text).not.toContain('tok-123');
    // The same over HTTP, with the count of findings in a header; an unknown format is a 400.
    const http = await source.api('/export?format=contextforge&include_inactive=true');
    expect(http.status).toBe(200);
    expect(Number(http.headers.get('x-export-not-carried'))).toBe((doc.metadata.not_carried as unknown[]).length);
    expect(((await http.json()) as { entities: Obj }).entities).toEqual(doc.entities);
    const unknown = await source.api('/export?format=xml');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as Obj).code).toBe('BAD_QUERY');

    // Back into us: what ContextForge carries comes back unchanged.
    const back = await runCli(['import', 'cf.json'], { MCPGATEWAY_URL: target.url }, dir);
    expect(back.code).toBe(0);
    expect(back.stderr).not.toContain('is named');
    const carried = (obj: Obj, kind: string) => {
      const { id: _i, created_at: _c, updated_at: _u, reachable: _r, last_seen: _l, last_error: _e, capabilities: _cap, collisions: _col, ...rest } = obj;
      if (kind === 'tools') return { ...rest, body: null, cookies: {}, tags: (rest.tags as string[]).filter((t) => !t.includes('=')) };
      // A resource named by its URI gets a name ContextForge accepts (reported); the rest comes back as it was.
      if (kind === 'resources') return { ...rest, blob: null, name: rest.uri === 'file:///logo.png' ? undefined : rest.name };
      if (kind === 'servers') return { ...rest, missing_refs: undefined, rate_limit: null };
      return rest;
    };
    expect((await get(target, 'resources', 'file:///logo.png')).name).toBe('file_logo.png');
    for (const kind of KINDS) {
      const from = (await listAll(source, kind)).filter((o) => o.transport !== 'stdio').map((o) => carried(o, kind));
      const to = (await listAll(target, kind)).map((o) => carried(o, kind));
      expect(to, kind).toEqual(from);
    }
    expect((await get(target, 'tools', 'limited')).rate_limit).toBe(5);

    // A ContextForge tool's rate_limit (calls per minute) is imported as ours, not reported as lost.
    const cfTool = { ...real('full-export.json').entities.tools!.find((t) => t.integration_type !== 'MCP')!, name: 'cf_rated', rate_limit: 7 };
    writeFileSync(join(dir, 'cf-rated.json'), JSON.stringify({ version: '2025-03-26', entities: { tools: [cfTool] } }));
    const rated = await runCli(['import', 'cf-rated.json'], { MCPGATEWAY_URL: target.url }, dir);
    expect(rated.code, rated.stderr).toBe(0);
    expect(rated.stderr).not.toContain('rate_limit');
    expect((await get(target, 'tools', 'cf-rated')).rate_limit).toBe(7);
  }, 90_000);
});
