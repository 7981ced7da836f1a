import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../src/services/registry.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

for (const store of STORES) {
  describe.skipIf(store.name === 'postgres' && !postgresAvailable)(`registry on ${store.name}`, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(store);
    });
    afterAll(async () => {
      await gw?.close();
    });

    it('announces a change only after its transaction commits', async () => {
      const seen: ChangeEvent[] = [];
      const off = gw.gateway.registry.onChange((e) => seen.push(e));
      try {
        await gw.gateway.registry.transaction(async (repo) => {
          await gw.gateway.registry.create('prompts', { name: 'tx-ok', template: 't' }, repo);
          expect(seen).toEqual([]);
        });
        expect(seen.map((e) => [e.op, e.name])).toEqual([['create', 'tx-ok']]);
      } finally {
        off();
      }
    });

    it('announces nothing, and keeps nothing, when its transaction rolls back', async () => {
      const seen: ChangeEvent[] = [];
      const off = gw.gateway.registry.onChange((e) => seen.push(e));
      try {
        await expect(
          gw.gateway.registry.transaction(async (repo) => {
            await gw.gateway.registry.create('prompts', { name: 'tx-rolled-back', template: 't' }, repo);
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        expect(seen).toEqual([]);
        expect((await gw.api('/prompts/tx-rolled-back')).status).toBe(404);
      } finally {
        off();
      }
    });

    it('announces writes outside a transaction at once', async () => {
      const seen: ChangeEvent[] = [];
      const off = gw.gateway.registry.onChange((e) => seen.push(e));
      await gw.api('/prompts', { method: 'POST', body: { name: 'direct', template: 't' } });
      off();
      expect(seen.map((e) => e.name)).toEqual(['direct']);
    });

    it('filters by the new tags after a patch changes them, and by the same tags after a patch that does not', async () => {
      await gw.api('/prompts', { method: 'POST', body: { name: 'retag', template: 't', tags: ['old=1'] } });
      const names = async (tag: string) => ((await (await gw.api(`/prompts?tags=${tag}`)).json()) as { name: string }[]).map((p) => p.name);
      await gw.api('/prompts/retag', { method: 'PATCH', body: { description: 'tags untouched' } });
      expect(await names('old=1')).toEqual(['retag']);
      await gw.api('/prompts/retag', { method: 'PATCH', body: { tags: ['new=2'] } });
      expect(await names('old=1')).toEqual([]);
      expect(await names('new=2')).toEqual(['retag']);
    });

    it('loses no change when two patches of the same object race', async () => {
      const names = Array.from({ length: 20 }, (_, i) => `race-${i}`);
      for (const name of names) await gw.api('/prompts', { method: 'POST', body: { name, template: 't' } });
      await Promise.all(
        names.flatMap((name) => [
          gw.api(`/prompts/${name}`, { method: 'PATCH', body: { description: 'changed' } }),
          gw.api(`/prompts/${name}`, { method: 'PATCH', body: { template: 'also changed' } }),
        ]),
      );
      for (const name of names) {
        const prompt = (await (await gw.api(`/prompts/${name}`)).json()) as { description: string; template: string };
        expect([name, prompt.description, prompt.template]).toEqual([name, 'changed', 'also changed']);
      }
    });

    it('orders names by code point, upper case before lower, on every store', async () => {
      for (const name of ['b-order', 'B-order', 'a-order', 'A-order', 'Z9-order']) {
        expect((await gw.api('/tools', { method: 'POST', body: { name, url: 'https://api.example.com/' } })).status).toBe(201);
      }
      const names = ((await (await gw.api('/tools')).json()) as { name: string }[]).map((t) => t.name).filter((n) => n.endsWith('-order'));
      expect(names).toEqual(['A-order', 'B-order', 'Z9-order', 'a-order', 'b-order']);
      const paged: string[] = [];
      let cursor = '';
      for (let i = 0; i < 10; i++) {
        const res = await gw.api(`/tools?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        paged.push(...((await res.json()) as { name: string }[]).map((t) => t.name));
        cursor = res.headers.get('x-next-cursor') ?? '';
        if (!cursor) break;
      }
      expect(paged.filter((n) => n.endsWith('-order'))).toEqual(names);
    });
  });
}
