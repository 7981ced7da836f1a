import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthCipher } from '../src/crypto/auth-value.js';
import { startTestGateway, TEST_SECRET, type TestGateway } from './helpers/gateway.js';
import { POSTGRES_URL, postgresAvailable, STORES } from './helpers/stores.js';

type Obj = Record<string, unknown>;
const KINDS = ['gateways', 'servers', 'tools', 'prompts', 'resources'] as const;

const DOC = {
  version: '2025-03-26',
  gateways: [{ name: 'gw-a', url: 'https://a.example.com/mcp', tags: ['env=prod', 'team=x'] }],
  tools: [
    { name: 'tool-a', url: 'https://api.example.com/a', tags: ['env=prod'] },
    { name: 'tool-b', url: 'https://api.example.com/b', tags: ['env=dev'] },
  ],
  resources: [{ uri: 'memo://a', text: 'a' }],
  servers: [{ name: 'srv', tools: ['tool-a'], prompts: ['prompt-a'], resources: ['memo://a'] }],
  prompts: [{ name: 'prompt-a', template: 'Hi {{ x }}', is_active: false }],
};

for (const store of STORES) {
  const available = store.name === 'sqlite' || postgresAvailable;
  describe.skipIf(!available)(`GET /export and POST /import on ${store.name}`, () => {
    let gw: TestGateway;
    const json = async (res: Response) => (await res.json()) as Obj;
    const count = async (kind: string) => ((await (await gw.api(`/${kind}?include_inactive=true`)).json()) as Obj[]).length;
    const importDoc = (doc: unknown, query = '') => gw.api(`/import${query}`, { method: 'POST', body: doc });

    beforeAll(async () => {
      gw = await startTestGateway(store);
    });
    afterAll(async () => {
      await gw?.close();
    });
    beforeEach(async () => {
      for (const kind of ['servers', 'prompts', 'tools', 'resources', 'gateways']) {
        for (const obj of (await (await gw.api(`/${kind}?include_inactive=true`)).json()) as Obj[]) await gw.api(`/${kind}/${String(obj.id)}`, { method: 'DELETE' });
      }
    });

    it('imports a document in one request and reports what it created', async () => {
      const res = await importDoc(DOC);
      expect(res.status).toBe(200);
      const report = await json(res);
      expect(report.summary).toEqual({ gateways: { created: 1 }, tools: { created: 2 }, resources: { created: 1 }, servers: { created: 1 }, prompts: { created: 1 } });
      expect(((await json(await gw.api('/servers/srv'))).missing_refs as Obj).prompts).toEqual([]);
    });

    it('changes nothing, not even updated_at, when the same document is imported again', async () => {
      await importDoc(DOC);
      const before = await (await gw.api('/tools?include_inactive=true')).json();
      const report = await json(await importDoc(DOC));
      expect(Object.values(report.summary as Obj).every((counts) => Object.keys(counts as Obj).join() === 'unchanged')).toBe(true);
      expect(await (await gw.api('/tools?include_inactive=true')).json()).toEqual(before);
    });

    it('writes nothing on a dry run and returns the plan', async () => {
      const report = await json(await importDoc(DOC, '?dry_run=true'));
      expect(report.dry_run).toBe(true);
      expect((report.items as Obj[]).map((i) => i.outcome)).toEqual(['create', 'create', 'create', 'create', 'create', 'create']);
      for (const kind of KINDS) expect(await count(kind)).toBe(0);
    });

    it('applies --conflict update, skip, fail and rename to a name that exists with other content', async () => {
      await importDoc(DOC);
      const changed = { ...DOC, tools: [{ name: 'tool-a', url: 'https://api.example.com/a2' }], gateways: [], resources: [], servers: [{ name: 'srv', tools: ['tool-a'] }], prompts: [] };

      const fail = await importDoc(changed, '?conflict=fail');
      expect(fail.status).toBe(409);
      const problem = await json(fail);
      expect(problem.code).toBe('IMPORT_CONFLICT');
      expect(problem.detail).toContain('tool "tool-a"');

      expect((await json(await importDoc(changed, '?conflict=skip'))).summary).toMatchObject({ tools: { skipped: 1 }, servers: { skipped: 1 } });
      expect((await json(await gw.api('/tools/tool-a'))).url).toBe('https://api.example.com/a');

      const renamed = await json(await importDoc(changed, '?conflict=rename'));
      expect(renamed.items).toContainEqual({ kind: 'tools', key: 'tool-a', outcome: 'renamed', new_key: 'tool-a-imported' });
      const copy = await json(await gw.api('/servers/srv-imported'));
      expect(copy.tools).toEqual(['tool-a-imported']);

      expect((await json(await importDoc(changed, '?conflict=update'))).summary).toMatchObject({ tools: { updated: 1 } });
      expect((await json(await gw.api('/tools/tool-a'))).url).toBe('https://api.example.com/a2');
    });

    it('rolls everything back when a write fails inside the transaction', async () => {
      await installFailingTrigger(gw.db.url, 'boom');
      const res = await importDoc({ ...DOC, prompts: [{ name: 'boom', template: 'x' }], servers: [] });
      expect(res.status).toBeGreaterThanOrEqual(400);
      for (const kind of KINDS) expect(await count(kind)).toBe(0);
    });

    it('refuses auth_value that does not decrypt here, naming the objects, and writes nothing', async () => {
      const foreign = new AuthCipher('someone-elses-secret-0123456789abcdef').encrypt({ Authorization: 'Bearer t' });
      const res = await importDoc({ version: '2025-03-26', gateways: [{ name: 'g', url: 'https://g.example.com', auth_type: 'bearer', auth_value: foreign }], prompts: [{ name: 'p', template: 't' }] });
      expect(res.status).toBe(422);
      const problem = await json(res);
      expect(problem.code).toBe('IMPORT_SECRET_MISMATCH');
      expect(problem.detail).toContain('gateway "g" ($.gateways[0])');
      expect(problem.detail).toContain('mcpgateway export rekey');
      expect(await count('prompts')).toBe(0);
    });

    it('answers bad documents with 4xx problems that name the JSON path, never 500', async () => {
      const cases: [unknown, number, string, RegExp][] = [
        [[1], 422, 'IMPORT_INVALID', /^\$: must be a JSON object/],
        [{ version: 'nope' }, 422, 'IMPORT_VERSION_UNSUPPORTED', /"nope" is not a version/],
        [{ version: '2025-03-26', servers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd', tools: [7] }] }, 422, 'IMPORT_INVALID', /^\$\.servers\[3\]\.tools\[0\]: /],
        [{ version: '2025-03-26', tools: [{ name: 'a', url: 'https://x.example.com' }, { name: 'a', url: 'https://y.example.com' }] }, 422, 'IMPORT_INVALID', /appears twice/],
        [{ version: '2025-03-26', extra: 1 }, 422, 'IMPORT_INVALID', /unknown field: extra/],
      ];
      for (const [body, status, code, detail] of cases) {
        const res = await importDoc(body);
        const problem = await json(res);
        expect({ status: res.status, code: problem.code }).toEqual({ status, code });
        expect(String(problem.detail)).toMatch(detail);
      }
      const notJson = await gw.api('/import', { method: 'POST', raw: '{"version": "2025-03-26", "gateways": [', headers: { 'content-type': 'application/json' } });
      expect(notJson.status).toBe(400);
      expect((await json(notJson)).code).toBe('BODY_NOT_JSON');
      const badQuery = await importDoc(DOC, '?conflict=merge');
      expect(badQuery.status).toBe(400);
      expect(await count('tools')).toBe(0);
    });

    it('exports with --types, --tags (any), --filter (all) and --include-inactive, leaving MCP tools out', async () => {
      await importDoc(DOC);
      await gw.gateway.store.insert('tools', {
        id: 'mcp0000000000000000000000000000a',
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
        fields: { name: 'gw-a__search', integration_type: 'MCP', gateway: 'gw-a', original_name: 'search', url: null, tags: [], is_active: true },
      });
      const get = async (query: string) => {
        const res = await gw.api(`/export${query}`);
        expect(res.status).toBe(200);
        return { doc: JSON.parse(await res.text()) as Record<string, Obj[]>, counts: res.headers.get('x-export-counts') };
      };
      const all = await get('');
      expect(all.doc.tools!.map((t) => t.name)).toEqual(['tool-a', 'tool-b']);
      expect(all.doc.prompts).toEqual([]);
      expect(all.doc.tools![0]).not.toHaveProperty('id');
      expect(all.doc.tools![0]).not.toHaveProperty('created_at');
      expect(all.doc.gateways![0]).not.toHaveProperty('reachable');
      expect(all.doc.servers![0]).not.toHaveProperty('missing_refs');
      expect(all.counts).toBe('gateways=1,servers=1,prompts=0,tools=2,resources=1');
      expect((await get('?include_inactive=true')).doc.prompts!.map((p) => p.name)).toEqual(['prompt-a']);
      expect(Object.keys((await get('?types=tools,prompts')).doc)).toEqual(['version', 'exported_at', 'source_gateway', 'encryption_method', 'prompts', 'tools']);
      const tagged = (await get('?tags=env=dev,team=x')).doc;
      expect([...tagged.gateways!, ...tagged.tools!].map((o) => o.name)).toEqual(['gw-a', 'tool-b']);
      const labelled = (await get('?filter=env=prod&filter=team=x')).doc;
      expect([...labelled.gateways!, ...labelled.tools!].map((o) => o.name)).toEqual(['gw-a']);
      const bad = await gw.api('/export?types=widgets');
      expect(bad.status).toBe(400);
      expect((await json(bad)).detail).toContain('"widgets"');
    });

    it('never writes a plaintext credential to the log while importing', async () => {
      const value = new AuthCipher(TEST_SECRET).encrypt({ Authorization: 'Bearer log-canary-token' });
      await importDoc({ version: '2025-03-26', tools: [{ name: 't', url: 'https://x.example.com', auth_type: 'bearer', auth_value: value }] });
      expect(gw.logs()).not.toContain('log-canary-token');
    });
  });
}

/** Make the database refuse a prompt named `name`, to fail a write mid-transaction. */
async function installFailingTrigger(databaseUrl: string, name: string): Promise<void> {
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new SQLite(databaseUrl.slice('sqlite:'.length));
    db.exec(`CREATE TRIGGER IF NOT EXISTS refuse_${name} BEFORE INSERT ON prompts WHEN NEW.name = '${name}' BEGIN SELECT RAISE(ABORT, 'refused'); END;`);
    db.close();
    return;
  }
  const schema = new URL(databaseUrl).searchParams.get('schema')!;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`CREATE OR REPLACE FUNCTION "${schema}".refuse_${name}() RETURNS trigger AS $$ BEGIN IF NEW.name = '${name}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await client.query(`CREATE TRIGGER refuse_${name} BEFORE INSERT ON "${schema}".prompts FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_${name}()`);
  } finally {
    await client.end();
  }
}
