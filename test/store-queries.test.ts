import { describe, expect, it } from 'vitest';
import { Store } from '../src/store/store.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

const tool = (n: number, gateway: string | null) => ({
  id: `t${String(n).padStart(31, '0')}`,
  created_at: '2026-12-07T00:00:00.000Z',
  updated_at: '2026-12-07T00:00:00.000Z',
  fields: { name: `tool-${n}`, integration_type: gateway ? 'MCP' : 'REST', gateway, original_name: gateway ? `t${n}` : null, is_active: n % 2 === 0 },
});

describe.each(STORES)('store queries on $name', (kind) => {
  it.skipIf(kind.name === 'postgres' && !postgresAvailable)("lists a gateway's tools by the indexed column, and every key without reading objects", async () => {
    const db = await kind.create();
    const store = await Store.open(db.url);
    try {
      await store.transaction(async (repo) => {
        for (const [n, gateway] of [[1, 'alpha'], [2, 'beta'], [3, 'alpha'], [4, null], [5, 'alphabet']] as const) await repo.insert('tools', tool(n, gateway));
      });
      const alpha = await store.list('tools', { includeInactive: true, gateway: 'alpha' });
      expect(alpha.map((t) => t.fields.name)).toEqual(['tool-1', 'tool-3']);
      expect((await store.list('tools', { gateway: 'beta' })).map((t) => t.fields.name)).toEqual(['tool-2']);
      expect(await store.list('tools', { gateway: 'alpha' })).toEqual([]);
      expect(await store.list('tools', { includeInactive: true, gateway: 'nobody' })).toEqual([]);
      expect((await store.keys('tools')).sort()).toEqual(['tool-1', 'tool-2', 'tool-3', 'tool-4', 'tool-5']);
      await expect(store.list('prompts', { gateway: 'alpha' })).rejects.toThrow(/only tools/);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
