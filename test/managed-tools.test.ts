import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

// Tools discovered from a gateway are written by federation straight into the store; this test
// puts them there the same way, with names an upstream may use but a person could not type.
for (const store of STORES) {
  describe.skipIf(store.name === 'postgres' && !postgresAvailable)(`tools discovered from a gateway, on ${store.name}`, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(store, { HEALTH_CHECK_INTERVAL_MS: '3600000' });
      for (const [id, name] of [
        ['mcp-tool-1', 'up__search'],
        ['mcp-tool-2', '_x'],
      ] as const) {
        await gw.gateway.store.insert('tools', {
          id,
          created_at: '2026-01-01T00:00:00.000Z',
          updated_at: '2026-01-01T00:00:00.000Z',
          fields: { name, integration_type: 'MCP', gateway: 'up', original_name: name, url: null, tags: [], is_active: true, description: 'from upstream', input_schema: { type: 'object' } },
        });
      }
    });
    afterAll(async () => {
      await gw?.close();
    });

    it.each(['up__search', '_x'])('lets a person deactivate %s and tag it', async (name) => {
      const res = await gw.api(`/tools/${name}`, { method: 'PATCH', body: { is_active: false, tags: ['reviewed'] } });
      expect(res.status, await res.clone().text()).toBe(200);
      const tool = (await res.json()) as Record<string, unknown>;
      expect(tool).toMatchObject({ name, is_active: false, tags: ['reviewed'], description: 'from upstream' });
      expect(tool.updated_at).not.toBe('2026-01-01T00:00:00.000Z');
    });

    it('accepts its GET result back through PUT with only is_active changed', async () => {
      const current = (await (await gw.api('/tools/_x')).json()) as Record<string, unknown>;
      const res = await gw.api('/tools/_x', { method: 'PUT', body: { ...current, is_active: true } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { is_active: boolean }).is_active).toBe(true);
    });

    it('refuses changes to what the upstream owns with 409 TOOL_READ_ONLY', async () => {
      const res = await gw.api('/tools/up__search', { method: 'PATCH', body: { description: 'mine now' } });
      expect(res.status).toBe(409);
      const problem = (await res.json()) as { code: string; detail: string };
      expect(problem.code).toBe('TOOL_READ_ONLY');
      expect(problem.detail).toContain('description');
    });

    it('validates what may change: a bad tag is a 422 naming it', async () => {
      const res = await gw.api('/tools/_x', { method: 'PATCH', body: { tags: ['ok', 'bad\u200btag'] } });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('$.tags[1]');
    });
  });
}
