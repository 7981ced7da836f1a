import { readFileSync, truncateSync, writeFileSync, mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthCipher } from '../src/crypto/auth-value.js';
import { TEST_SECRET } from './helpers/gateway.js';
import { runCli, startGatewayProcess, writesLogged, type GatewayProcess } from './helpers/processes.js';
import { postgresAvailable, STORES, type TestDatabase } from './helpers/stores.js';

const OTHER_SECRET = 'a-different-secret-on-the-target-0123456789';
const cipher = new AuthCipher(TEST_SECRET);
const BASIC = { user: 'svc-reporting', password: 'Tr0ub4dor&3-plaintext' };
const KINDS = ['gateways', 'servers', 'tools', 'prompts', 'resources'] as const;

type Obj = Record<string, unknown>;

/** The source gateway's state: 3 gateways, 5 servers, 12 prompts (SPEC's acceptance), every auth_type, inactive objects. */
async function populate(gw: GatewayProcess): Promise<void> {
  const post = async (kind: string, body: Obj) => {
    const res = await gw.api(`/${kind}`, { method: 'POST', body });
    if (res.status !== 201) throw new Error(`${kind} ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
  };
  const oauth2 = { token_url: 'https://auth.example.com/token', client_id: 'cid', client_secret: 'oauth-client-secret-plain' };
  await post('gateways', { name: 'hq-east', url: 'https://east.example.net/mcp', description: 'HQ primary', auth_username: 'gw-user', auth_password: 'gw-pass-plain', tags: ['env=prod'] });
  await post('gateways', { name: 'hq-west', url: 'https://west.example.net/mcp', auth_token: 'gw-token-plain', name_prefix: 'west' });
  await post('gateways', { name: 'local-files', transport: 'stdio', command: 'mcp-files', args: ['--root', '/srv'], env: { LOG: '1' }, auth_headers: { 'X-Api-Key': 'gw-header-plain' } });
  await post('tools', { name: 'report-run', url: 'https://reports.example.com/run/{id}', request_type: 'POST', auth_username: BASIC.user, auth_password: BASIC.password, tags: ['env=prod'] });
  await post('tools', { name: 'tool-bearer', url: 'https://api.example.com/a', auth_token: 'tool-token-plain', body: { q: '{query}', nested: { keep: null } } });
  await post('tools', { name: 'tool-headers', url: 'https://api.example.com/b', auth_headers: { 'X-Key': 'tool-header-plain' }, query: { page: '1' } });
  await post('tools', { name: 'tool-oauth', url: 'https://api.example.com/c', auth_oauth2: oauth2, timeout_ms: 5000 });
  await post('tools', { name: 'tool-none', url: '/relative/{x}', input_schema: { type: 'object', properties: { x: { type: 'string' } } } });
  await post('tools', { name: 'tool-off', url: 'https://api.example.com/off', is_active: false });
  await post('resources', { uri: 'memo://notes/ünïcode', text: 'hello', mime_type: 'text/plain' });
  await post('resources', { uri: 'file:///data/logo.png', name: 'logo', blob: Buffer.from('png-bytes').toString('base64'), mime_type: 'image/png' });
  await post('resources', { uri: 'memo://off', text: 'x', is_active: false });
  for (let i = 1; i <= 12; i++) {
    const extra: Obj = i === 1 ? { auth_headers: { 'X-Prompt-Key': 'prompt-header-plain' } } : i === 2 ? { auth_token: 'prompt-token-plain' } : {};
    await post('prompts', { name: `prompt-${String(i).padStart(2, '0')}`, template: `Prompt ${i}: {{ text }}`, tags: i % 2 ? ['env=prod'] : [], ...extra });
  }
  await post('servers', { name: 'analytics', tools: ['report-run', 'west__search'], prompts: ['prompt-01'], resources: ['memo://notes/ünïcode'], auth_username: 'srv', auth_password: 'srv-pass-plain' });
  await post('servers', { name: 'openai-proxy', url: 'https://api.openai.com/v1', headers: { 'OpenAI-Org': 'my-org' }, health_url: 'https://api.openai.com/v1/models', auth_token: 'sk-plain-token' });
  await post('servers', { name: 'desk-headers', auth_headers: { 'X-Desk': 'desk-header-plain' }, prompts: ['prompt-02', 'prompt-03'] });
  await post('servers', { name: 'desk-oauth', auth_oauth2: oauth2 });
  await post('servers', { name: 'plain', tools: ['tool-none'], resources: ['file:///data/logo.png'] });
}

async function listAll(gw: GatewayProcess, kind: string): Promise<Obj[]> {
  return (await (await gw.api(`/${kind}?include_inactive=true`)).json()) as Obj[];
}

async function snapshot(gw: GatewayProcess): Promise<Record<string, Obj[]>> {
  const state: Record<string, Obj[]> = {};
  for (const kind of KINDS) state[kind] = await listAll(gw, kind);
  return state;
}

async function emptyTarget(gw: GatewayProcess): Promise<void> {
  for (const kind of ['servers', 'prompts', 'tools', 'resources', 'gateways']) {
    for (const obj of await listAll(gw, kind)) await gw.api(`/${kind}/${String(obj.id)}`, { method: 'DELETE' });
  }
}

const withoutHeader = (text: string) => text.replace(/^ {2}"exported_at": .*\n/m, '').replace(/^ {2}"source_gateway": .*\n/m, '');

for (const store of STORES) {
  const available = store.name === 'sqlite' || postgresAvailable;
  describe.skipIf(!available)(`export and import between two gateway processes (target on ${store.name})`, () => {
    let sourceDb: TestDatabase;
    let targetDb: TestDatabase;
    let source: GatewayProcess;
    let target: GatewayProcess;
    let dir: string;
    const env = (gw: GatewayProcess) => ({ MCPGATEWAY_URL: gw.url });
    const file = (name: string) => join(dir, name);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mcpgw-export-'));
      sourceDb = await STORES[0]!.create();
      targetDb = await store.create();
      [source, target] = await Promise.all([startGatewayProcess(sourceDb.url, TEST_SECRET), startGatewayProcess(targetDb.url, TEST_SECRET)]);
      await populate(source);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([source?.stop(), target?.stop()]);
      await sourceDb?.drop();
      await targetDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await emptyTarget(target);
    });

    describe('User story 1: Default export', () => {
      it('Given a running MCP Gateway with 3 gateways, 5 virtual servers and 12 prompts, When I run `mcpgateway export --out file.json`, Then the file contains "version":"2025-03-26", three objects under $.gateways, five under $.servers, twelve under $.prompts, And every object includes its auth_type and encrypted auth_value if present', async () => {
        const result = await runCli(['export', '--out', 'file.json'], env(source), dir);
        expect(result.stderr).toContain('gateways: 3');
        expect(result.code).toBe(0);
        const text = readFileSync(file('file.json'), 'utf8');
        expect(text.replace(/\s/g, '')).toContain('"version":"2025-03-26"');
        const doc = JSON.parse(text) as Record<string, Obj[]>;
        expect(doc.gateways).toHaveLength(3);
        expect(doc.servers).toHaveLength(5);
        expect(doc.prompts).toHaveLength(12);
        for (const kind of ['gateways', 'servers', 'prompts', 'tools'] as const) {
          for (const obj of doc[kind]!) {
            expect(obj).toHaveProperty('auth_type');
            if (obj.auth_type !== 'none') {
              expect(obj.auth_value).toMatch(/^[A-Za-z0-9_-]{40,}$/);
              expect(cipher.opens(String(obj.auth_value))).toBe(true);
            } else {
              expect(obj.auth_value).toBeNull();
            }
          }
        }
      });
    });

    it('exits 1 naming the path and the reason when the output cannot be written, and leaves no file behind', async () => {
      writeFileSync(file('not-a-folder'), 'x');
      for (const args of [['export', '--out', 'not-a-folder/file.json'], ['export', '--out', 'not-a-folder/file.json', '--format', 'contextforge']]) {
        const result = await runCli(args, env(source), dir);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/^mcpgateway: cannot write .*not-a-folder\/file\.json: ENOTDIR/m);
        expect(result.stderr).not.toMatch(/\n\s+at /);
      }
      expect(readFileSync(file('not-a-folder'), 'utf8')).toBe('x');
    });

    describe('User story 2: Idempotent import', () => {
      it('Given an empty target Gateway, When I run `mcpgateway import file.json`, Then the API POSTs /gateways, /servers, /prompts in that order, And if a name already exists it PATCHes instead of POST, And the command finishes with exit code 0', async () => {
        expect((await runCli(['export', '--out', 'file.json'], env(source), dir)).code).toBe(0);
        const before = target.output().length;
        const first = await runCli(['import', 'file.json'], env(target), dir);
        expect(first.stderr).not.toMatch(/failed|error/i);
        expect(first.code).toBe(0);
        const writes = writesLogged(target.output().slice(before)).filter((w) => !w.startsWith('POST /import'));
        expect(writes.every((w) => w.startsWith('POST '))).toBe(true);
        const last = (path: string) => writes.map((w) => w.split(' ')[1]).lastIndexOf(path);
        const firstOf = (path: string) => writes.map((w) => w.split(' ')[1]).indexOf(path);
        expect(last('/gateways')).toBeLessThan(firstOf('/servers'));
        expect(last('/servers')).toBeLessThan(firstOf('/prompts'));
        expect(last('/tools')).toBeLessThan(firstOf('/servers'));
        expect(last('/resources')).toBeLessThan(firstOf('/servers'));
        expect(writes.filter((w) => w === 'POST /gateways')).toHaveLength(3);
        expect(writes.filter((w) => w === 'POST /servers')).toHaveLength(5);
        expect(writes.filter((w) => w === 'POST /prompts')).toHaveLength(12);

        // A name that exists with other content is PATCHed, not POSTed.
        const prompt = (await (await target.api('/prompts/prompt-05')).json()) as Obj;
        const beforePatch = target.output().length;
        await target.api(`/prompts/${String(prompt.id)}`, { method: 'PATCH', body: { template: 'changed on the target' } });
        // The target logs through a pipe: wait for this PATCH's line, so it is not counted below.
        for (let i = 0; i < 100 && writesLogged(target.output().slice(beforePatch)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        expect(writesLogged(target.output().slice(beforePatch))).toEqual([`PATCH /prompts/${String(prompt.id)}`]);
        const mid = target.output().length;
        const second = await runCli(['import', 'file.json'], env(target), dir);
        expect(second.code).toBe(0);
        const writesSince = (mark: number) => writesLogged(target.output().slice(mark)).filter((w) => !w.startsWith('POST /import'));
        for (let i = 0; i < 100 && writesSince(mid).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        const secondWrites = writesSince(mid);
        expect(secondWrites).toEqual([`PATCH /prompts/${String(prompt.id)}`]);
        expect(((await (await target.api('/prompts/prompt-05')).json()) as Obj).template).toBe('Prompt 5: {{ text }}');

        // A third run changes nothing: no request writes, no updated_at moves.
        const state = await snapshot(target);
        const end = target.output().length;
        const third = await runCli(['import', 'file.json'], env(target), dir);
        expect(third.code).toBe(0);
        expect(writesLogged(target.output().slice(end)).filter((w) => !w.startsWith('POST /import'))).toEqual([]);
        expect(await snapshot(target)).toEqual(state);
        expect(third.stdout).toMatch(/unchanged/);
        expect(third.stdout).not.toMatch(/created|updated/);
      });
    });

    describe('User story 3: Encryption boundary', () => {
      it('Given a prompt that calls a tool with Basic auth, When it is exported, Then the JSON shows "auth_value":"<base64-AES…>" And NOT "username" nor "password", And import succeeds as long as AUTH_ENCRYPTION_SECRET is identical', async () => {
        expect((await runCli(['export', '--out', 'secure.json'], env(source), dir)).code).toBe(0);
        const text = readFileSync(file('secure.json'), 'utf8');
        const tool = (JSON.parse(text) as Record<string, Obj[]>).tools!.find((t) => t.name === 'report-run')!;
        expect(tool.auth_type).toBe('basic');
        expect(tool.auth_value).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(text).not.toMatch(/username|password/i);
        for (const plain of [BASIC.user, BASIC.password, Buffer.from(`${BASIC.user}:${BASIC.password}`).toString('base64')]) {
          expect(text).not.toContain(plain);
        }
        // Every other credential the source holds ends in "-plain" (gw-pass-plain, sk-plain-token, …).
        expect(text).not.toMatch(/[\w-]+-plain\b|sk-plain-token/);
        const result = await runCli(['import', 'secure.json'], env(target), dir);
        expect(result.code).toBe(0);
        const imported = (await (await target.api('/tools/report-run')).json()) as Obj;
        expect(imported.auth_value).toBe(tool.auth_value);
        expect(cipher.decrypt(String(imported.auth_value))).toEqual({ Authorization: `Basic ${Buffer.from(`${BASIC.user}:${BASIC.password}`).toString('base64')}` });
        expect(target.output()).not.toContain(BASIC.password);
        expect(result.stdout + result.stderr).not.toContain(BASIC.password);
      });
    });

    it('round-trips all five kinds with every auth_type, inactive objects included, and re-exports byte for byte', async () => {
      const a = await runCli(['export', '--include-inactive', '--out', 'all.json'], env(source), dir);
      expect(a.code).toBe(0);
      const exported = readFileSync(file('all.json'), 'utf8');
      const doc = JSON.parse(exported) as Record<string, Obj[]>;
      expect(new Set(KINDS.flatMap((k) => doc[k]!.map((o) => o.auth_type)).filter(Boolean))).toEqual(new Set(['none', 'basic', 'bearer', 'headers', 'oauth2']));
      expect(doc.tools!.some((t) => t.is_active === false)).toBe(true);
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      const validate = ajv.compile(JSON.parse(readFileSync('schemas/export.schema.json', 'utf8')) as object);
      expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);

      // Exporting the same state again gives the same bytes apart from exported_at.
      expect((await runCli(['export', '--include-inactive', '--out', 'again.json'], env(source), dir)).code).toBe(0);
      expect(withoutHeader(readFileSync(file('again.json'), 'utf8')).replace(/"exported_at".*\n/, '')).toBe(withoutHeader(exported));
      expect(readFileSync(file('again.json'), 'utf8').replace(/"exported_at": ".*"/, '')).toBe(exported.replace(/"exported_at": ".*"/, ''));

      expect((await runCli(['import', 'all.json'], env(target), dir)).code).toBe(0);
      expect((await runCli(['export', '--include-inactive', '--out', 'back.json'], env(target), dir)).code).toBe(0);
      expect(withoutHeader(readFileSync(file('back.json'), 'utf8'))).toBe(withoutHeader(exported));

      const state = await snapshot(target);
      const again = await runCli(['import', 'all.json', '--concurrency', '3'], env(target), dir);
      expect(again.code).toBe(0);
      expect(await snapshot(target)).toEqual(state);
    });

    it('stops before writing when the target has a different secret, naming the objects and pointing at `export rekey`; rekey makes the file importable', async () => {
      const otherDb = await store.create();
      const other = await startGatewayProcess(otherDb.url, OTHER_SECRET);
      try {
        expect((await runCli(['export', '--out', 'src.json'], env(source), dir)).code).toBe(0);
        const refused = await runCli(['import', 'src.json'], env(other), dir);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain('gateway "hq-east"');
        expect(refused.stderr).toContain('tool "report-run"');
        expect(refused.stderr).toContain('mcpgateway export rekey');
        expect(refused.stderr).not.toContain(TEST_SECRET);
        for (const kind of KINDS) expect(await listAll(other, kind)).toEqual([]);
        expect(writesLogged(other.output()).filter((w) => !w.startsWith('POST /import'))).toEqual([]);

        const noOld = await runCli(['export', 'rekey', '--in', 'src.json', '--out', 'rekeyed.json'], { AUTH_ENCRYPTION_SECRET: OTHER_SECRET }, dir);
        expect(noOld.code).toBe(3);
        expect(noOld.stderr).toContain('OLD_AUTH_ENCRYPTION_SECRET');
        const wrongOld = await runCli(['export', 'rekey', '--in', 'src.json', '--out', 'rekeyed.json'], { OLD_AUTH_ENCRYPTION_SECRET: OTHER_SECRET, AUTH_ENCRYPTION_SECRET: OTHER_SECRET }, dir);
        expect(wrongOld.code).toBe(1);
        expect(wrongOld.stderr).toContain('nothing was written');

        const rekey = await runCli(['export', 'rekey', '--in', 'src.json', '--out', 'rekeyed.json'], { OLD_AUTH_ENCRYPTION_SECRET: TEST_SECRET, AUTH_ENCRYPTION_SECRET: OTHER_SECRET }, dir);
        expect(rekey.code).toBe(0);
        const before = JSON.parse(readFileSync(file('src.json'), 'utf8')) as Record<string, Obj[]>;
        const after = JSON.parse(readFileSync(file('rekeyed.json'), 'utf8')) as Record<string, Obj[]>;
        const otherCipher = new AuthCipher(OTHER_SECRET);
        for (const kind of KINDS) {
          after[kind]!.forEach((obj, i) => {
            if (!obj.auth_value) return;
            expect(otherCipher.decrypt(String(obj.auth_value))).toEqual(cipher.decrypt(String(before[kind]![i]!.auth_value)));
          });
        }
        const imported = await runCli(['import', 'rekeyed.json'], env(other), dir);
        expect(imported.code).toBe(0);
        expect((await listAll(other, 'gateways')).map((g) => g.name)).toEqual(['hq-east', 'hq-west', 'local-files']);
      } finally {
        await other.stop();
        await otherDb.drop();
      }
    });

    // ContextForge files: test/contextforge-interop.test.ts reads the real ones ContextForge wrote.

    describe('bad input: a clear message, a non-zero exit, nothing written', () => {
      const refuse = async (name: string, content: string | Buffer, message: RegExp, extraEnv: Record<string, string> = {}) => {
        writeFileSync(file(name), content);
        const result = await runCli(['import', name], { ...env(target), ...extraEnv }, dir);
        expect(result.stderr).toMatch(message);
        expect(result.code).not.toBe(0);
        expect(result.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
        for (const kind of KINDS) expect(await listAll(target, kind)).toEqual([]);
        return result;
      };
      const valid = (extra: Obj) => JSON.stringify({ version: '2025-03-26', ...extra });

      it('refuses a file that is not JSON', async () => {
        await refuse('not.json', 'this is not json', /not\.json is not JSON: Unexpected token 'h'$/m);
        await refuse('empty.json', '', /empty\.json is empty/);
      });

      it('refuses JSON of the wrong shape, naming the JSON path', async () => {
        await refuse('array.json', '[1, 2, 3]', /\$: must be a JSON object/);
        const servers = [{ name: 's0' }, { name: 's1' }, { name: 's2' }, { name: 's3', tools: [42] }];
        await refuse('shape.json', valid({ servers }), /\$\.servers\[3\]\.tools\[0\]: /);
        await refuse('field.json', valid({ prompts: [{ name: 'p', template: 't', auth_password: 'x' }] }), /\$\.prompts\[0\]: unknown field: auth_password/);
      });

      it('refuses an unknown version', async () => {
        await refuse('version.json', JSON.stringify({ version: '2031-01-01', gateways: [] }), /"2031-01-01" is not a version this gateway reads \(it reads "2025-03-26"\)/);
      });

      it('refuses duplicate names in one file', async () => {
        await refuse('dupes.json', valid({ prompts: [{ name: 'p', template: 'a' }, { name: 'q', template: 'b' }, { name: 'p', template: 'c' }] }), /\$\.prompts\[2\]\.name: "p" appears twice in the file \(also at \$\.prompts\[0\]\)/);
      });

      it('keeps a server naming a prompt that is in neither the file nor the target, in missing_refs, with a warning naming it (the Admin API model)', async () => {
        writeFileSync(file('refs.json'), valid({ servers: [{ name: 's', prompts: ['nowhere'] }] }));
        const result = await runCli(['import', 'refs.json'], env(target), dir);
        expect(result.stderr).toMatch(/warning: \$\.servers\[0\]\.prompts\[0\]: prompt "nowhere" is in neither the file nor the target: server "s" keeps it, listed in missing_refs/);
        expect(result.code).toBe(0);
        expect((await listAll(target, 'servers'))[0]).toMatchObject({ prompts: ['nowhere'], missing_refs: { prompts: ['nowhere'] } });
      });

      it('only warns about MCP tools whose gateway is in the file', async () => {
        writeFileSync(file('mcp-ref.json'), valid({ gateways: [{ name: 'upstream', url: 'https://u.example.com/mcp' }], servers: [{ name: 's', tools: ['upstream__search'] }] }));
        const result = await runCli(['import', 'mcp-ref.json'], env(target), dir);
        expect(result.stderr).toMatch(/warning: \$\.servers\[0\]\.tools\[0\]: tool "upstream__search" .* expected from a gateway in the file/);
        expect(result.code).toBe(0);
        expect(await listAll(target, 'servers')).toHaveLength(1);
      });

      it('refuses a truncated file', async () => {
        expect((await runCli(['export', '--out', 'whole.json'], env(source), dir)).code).toBe(0);
        const whole = readFileSync(file('whole.json'));
        await refuse('truncated.json', whole.subarray(0, Math.floor(whole.length / 2)), /truncated\.json is not complete JSON: it ends early \(truncated\?\)/);
      });

      it('refuses a 500 MB file before reading it', async () => {
        const path = file('huge.json');
        closeSync(openSync(path, 'w'));
        truncateSync(path, 500 * 1024 * 1024);
        const huge = await runCli(['import', 'huge.json'], env(target), dir);
        expect(huge.stderr).toMatch(/huge\.json is 500\.0 MiB, over the 256\.0 MiB limit/);
        expect(huge.code).toBe(1);
        rmSync(path);
      });

      it('says so when the target is down', async () => {
        writeFileSync(file('ok.json'), valid({ prompts: [{ name: 'p', template: 't' }] }));
        const result = await runCli(['import', 'ok.json'], { MCPGATEWAY_URL: 'http://127.0.0.1:9' }, dir);
        expect(result.stderr).toMatch(/cannot reach the gateway at http:\/\/127\.0\.0\.1:9/);
        expect(result.code).toBe(1);
      });

      it('says so when the target answers 401', async () => {
        await refuse('ok401.json', valid({ prompts: [{ name: 'p', template: 't' }] }), /refused the credentials \(HTTP 401\)/, { MCPGATEWAY_BASIC_AUTH: 'admin:wrong-password' });
      });
    });
  });
}
