import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

const GOLDEN = join(process.cwd(), 'test/golden/inventory');
const golden = (name: string) => readFileSync(join(GOLDEN, `${name}.yaml`), 'utf8');

type Tool = Record<string, unknown>;

/** Wait until `check` passes (file watching is asynchronous); fails with the last error after 10 s. */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

for (const store of STORES) {
  const available = store.name === 'sqlite' || postgresAvailable;
  describe.skipIf(!available)(`tools from CAPABILITY_DIRS on ${store.name}`, () => {
    let gw: TestGateway;
    let dir: string;
    const names = async (query = '') => ((await (await gw.api(`/tools${query}`)).json()) as Tool[]).map((t) => t.name);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mcpgw-caps-'));
      mkdirSync(join(dir, 'inventory'));
      writeFileSync(join(dir, 'inventory', 'list_items.yaml'), golden('list_items'));
      writeFileSync(join(dir, 'inventory', 'get_item.yaml'), golden('get_item'));
      writeFileSync(join(dir, 'draft.yaml'), golden('health').replace('name: health', 'name: draft_health').replace('enabled: true', 'enabled: false'));
      writeFileSync(join(dir, 'broken.yaml'), golden('health').replace('method: GET', 'method: FETCH'));
      writeFileSync(join(dir, 'clash.yaml'), golden('get_item'));
      gw = await startTestGateway(store, { CAPABILITY_DIRS: dir });
    });
    afterAll(async () => {
      await gw?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('lists enabled capability files in GET /tools, read-only, with their source file', async () => {
      const tools = (await (await gw.api('/tools')).json()) as Tool[];
      const item = tools.find((t) => t.name === 'get_item')!;
      expect(item).toMatchObject({
        integration_type: 'REST',
        url: 'https://eu.inventory.example.com/v1/items/{id}',
        request_type: 'GET',
        query: { id: '{query_id}' },
        cookies: { session: '{session}' },
        auth_type: 'none',
        auth_value: null,
        auth_ref: { type: 'bearer', key: 'env:INVENTORY_BEARER_AUTH' },
        is_active: true,
        source_file: join(dir, 'clash.yaml'), // of two files with one name, the first in path order
      });
      expect(tools.map((t) => t.name)).toEqual(['get_item', 'list_items']);
      const one = (await (await gw.api('/tools/list_items')).json()) as Tool;
      expect(one.source_file).toBe(join(dir, 'inventory', 'list_items.yaml'));
    });

    it('never lists a disabled file as active; include_inactive shows it with is_active false', async () => {
      expect(await names()).not.toContain('draft_health');
      const all = (await (await gw.api('/tools?include_inactive=true')).json()) as Tool[];
      expect(all.find((t) => t.name === 'draft_health')?.is_active).toBe(false);
    });

    it('reports a bad file and a clashing name, and skips them without taking the others down', () => {
      expect(gw.logs()).toMatch(/capability file skipped: .*broken\.yaml:\d+: \$\.providers\.primary\.config\.method/);
      expect(gw.logs()).toMatch(/capability file skipped: the name \\"get_item\\" is already used by .*clash\.yaml/);
    });

    it('refuses edits and deletes of a file tool, and a stored tool that takes its name', async () => {
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const res = await gw.api('/tools/list_items', { method, body: method === 'DELETE' ? undefined : { description: 'x' } });
        expect(res.status, method).toBe(409);
        expect(((await res.json()) as Tool).code).toBe('TOOL_READ_ONLY');
      }
      const res = await gw.api('/tools', { method: 'POST', body: { name: 'list_items', url: 'https://x.example.com/' } });
      expect(res.status).toBe(409);
      expect(((await res.json()) as Tool).code).toBe('TOOL_NAME_EXISTS');
    });

    it('pages stored and file tools together in name order', async () => {
      for (const name of ['alpha', 'hotel', 'zulu']) await gw.api('/tools', { method: 'POST', body: { name, url: 'https://x.example.com/' } });
      const seen: unknown[] = [];
      let cursor = '';
      for (let page = 0; page < 10; page++) {
        const res = await gw.api(`/tools?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...((await res.json()) as Tool[]).map((t) => t.name));
        cursor = res.headers.get('x-next-cursor') ?? '';
        if (!cursor) break;
      }
      expect(seen).toEqual(['alpha', 'get_item', 'hotel', 'list_items', 'zulu']);
    });

    it('picks up a new file, a changed file and a removed file while running', async () => {
      const file = join(dir, 'inventory', 'create_item.yaml');
      writeFileSync(file, golden('create_item'));
      await eventually(async () => expect(await names()).toContain('create_item'));
      writeFileSync(file, golden('create_item').replace('description: Create an item', 'description: Create an item, changed'));
      await eventually(async () => expect(((await (await gw.api('/tools/create_item')).json()) as Tool).description).toBe('Create an item, changed'));
      writeFileSync(file, golden('create_item').replace('method: POST', 'method: NOPE'));
      await eventually(async () => expect(await names()).not.toContain('create_item'));
      expect(gw.logs()).toMatch(/capability file skipped: .*create_item\.yaml:\d+: \$\.providers\.primary\.config\.method/);
      writeFileSync(file, golden('create_item'));
      await eventually(async () => expect(await names()).toContain('create_item'));
      unlinkSync(file);
      await eventually(async () => expect(await names()).not.toContain('create_item'));
    });
  });
}
