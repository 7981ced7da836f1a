import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthCipher } from '../src/crypto/auth-value.js';
import { startTestGateway, TEST_SECRET, type TestGateway } from './helpers/gateway.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

// A minimal valid body for each kind.
const SAMPLES: Record<string, (name: string) => Record<string, unknown>> = {
  gateways: (name) => ({ name, url: 'https://upstream.example.com/mcp' }),
  servers: (name) => ({ name }),
  tools: (name) => ({ name, url: 'https://api.example.com/items/{id}' }),
  prompts: (name) => ({ name, template: 'Summarise {{ text }}' }),
  resources: (name) => ({ name, uri: `memo://notes/${name}`, text: 'hello' }),
};
const KINDS = Object.keys(SAMPLES);

for (const store of STORES) {
  const available = store.name === 'sqlite' || postgresAvailable;
  describe.skipIf(!available)(`Admin API on ${store.name}`, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(store);
    });
    afterAll(async () => {
      await gw?.close();
    });

    // Gateway health fields are written by federation's health checks as it tries to reach the
    // (fictitious) upstreams, so they may change between two reads; the CRUD tests leave them out.
    const json = async (res: Response) => {
      const body = (await res.json()) as Record<string, unknown>;
      for (const key of ['reachable', 'last_seen', 'last_error', 'capabilities']) delete body[key];
      return body;
    };

    describe.each(KINDS)('%s', (kind) => {
      const keyOf = (obj: Record<string, unknown>) => String(kind === 'resources' ? obj.uri : obj.name);

      it('creates an object with 201, server-made fields and a Location header', async () => {
        const res = await gw.api(`/${kind}`, { method: 'POST', body: SAMPLES[kind]!('alpha') });
        expect(res.status).toBe(201);
        const obj = await json(res);
        expect(obj.id).toMatch(/^[0-9a-f]{32}$/);
        expect(obj.is_active).toBe(true);
        expect(obj.tags).toEqual([]);
        expect(obj.created_at).toBe(obj.updated_at);
        expect(res.headers.get('location')).toBe(`/${kind}/${String(obj.id)}`);
      });

      it('refuses a second object with the same key with 409 and a coded problem', async () => {
        const res = await gw.api(`/${kind}`, { method: 'POST', body: SAMPLES[kind]!('alpha') });
        expect(res.status).toBe(409);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        const problem = await json(res);
        expect(problem.code).toMatch(/_(NAME|URI)_EXISTS$/);
        expect(problem.status).toBe(409);
      });

      it('gets an object by id and by its name or URI', async () => {
        const created = await json(await gw.api(`/${kind}`, { method: 'POST', body: SAMPLES[kind]!('beta') }));
        const byId = await json(await gw.api(`/${kind}/${String(created.id)}`));
        const byKey = await json(await gw.api(`/${kind}/${encodeURIComponent(keyOf(created))}`));
        expect(byId).toEqual(created);
        expect(byKey).toEqual(created);
      });

      it('answers 404 with the kind\'s NOT_FOUND code for an unknown object', async () => {
        const res = await gw.api(`/${kind}/does-not-exist`);
        expect(res.status).toBe(404);
        expect((await json(res)).code).toMatch(/_NOT_FOUND$/);
      });

      it('accepts a GET result back through PUT without changing anything', async () => {
        const created = await json(await gw.api(`/${kind}`, { method: 'POST', body: SAMPLES[kind]!('gamma') }));
        const res = await gw.api(`/${kind}/${String(created.id)}`, { method: 'PUT', body: created });
        expect(res.status).toBe(200);
        expect(await json(res)).toEqual(created);
      });

      it('replaces fields with PUT and moves updated_at', async () => {
        const created = await json(await gw.api(`/${kind}`, { method: 'POST', body: SAMPLES[kind]!('delta') }));
        const res = await gw.api(`/${kind}/${String(created.id)}`, {
          method: 'PUT',
          body: { ...SAMPLES[kind]!('delta'), description: 'replaced' },
        });
        const replaced = await json(res);
        expect(res.status).toBe(200);
        expect(replaced.description).toBe('replaced');
        expect(replaced.created_at).toBe(created.created_at);
        expect(Date.parse(String(replaced.updated_at))).toBeGreaterThan(Date.parse(String(created.updated_at)));
      });

      it('applies a JSON merge patch', async () => {
        const created = await json(await gw.api(`/${kind}`, { method: 'POST', body: { ...SAMPLES[kind]!('epsilon'), tags: ['a', 'b'] } }));
        const res = await gw.api(`/${kind}/${String(created.id)}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/merge-patch+json' },
          body: { description: 'patched', tags: ['c'] },
        });
        const patched = await json(res);
        expect(res.status).toBe(200);
        expect(patched.description).toBe('patched');
        expect(patched.tags).toEqual(['c']);
      });

      it('changes nothing, not even updated_at, for a patch that changes nothing', async () => {
        const created = await json(await gw.api(`/${kind}`, { method: 'POST', body: SAMPLES[kind]!('zeta') }));
        await new Promise((r) => setTimeout(r, 5));
        const res = await gw.api(`/${kind}/${String(created.id)}`, { method: 'PATCH', body: { description: '', is_active: true } });
        expect(await json(res)).toEqual(created);
        const empty = await gw.api(`/${kind}/${String(created.id)}`, { method: 'PATCH', body: {} });
        expect(await json(empty)).toEqual(created);
      });

      it('deletes with 204, after which the object is gone', async () => {
        const created = await json(await gw.api(`/${kind}`, { method: 'POST', body: SAMPLES[kind]!('eta') }));
        const res = await gw.api(`/${kind}/${encodeURIComponent(keyOf(created))}`, { method: 'DELETE' });
        expect(res.status).toBe(204);
        expect((await gw.api(`/${kind}/${String(created.id)}`)).status).toBe(404);
        expect((await gw.api(`/${kind}/${String(created.id)}`, { method: 'DELETE' })).status).toBe(404);
      });

      it('refuses a rename onto a taken key with 409', async () => {
        if (kind === 'resources') {
          const res = await gw.api(`/${kind}/beta`, { method: 'PATCH', body: { uri: 'memo://notes/alpha' } });
          expect(res.status).toBe(409);
          return;
        }
        const res = await gw.api(`/${kind}/beta`, { method: 'PATCH', body: { name: 'alpha' } });
        expect(res.status).toBe(409);
      });
    });

    describe('listing', () => {
      beforeAll(async () => {
        for (const [name, tags, active] of [
          ['list-a', ['team=red', 'x'], true],
          ['list-b', ['team=blue'], true],
          ['list-c', ['team=red', 'env=prod'], true],
          ['list-d', ['team=red'], false],
          ['list-e', [], true],
        ] as const) {
          const res = await gw.api('/prompts', { method: 'POST', body: { name, template: 't', tags, is_active: active } });
          expect(res.status).toBe(201);
        }
      });
      const names = async (query: string) =>
        ((await (await gw.api(`/prompts${query}`)).json()) as { name: string }[]).map((p) => p.name).filter((n) => n.startsWith('list-'));

      it('lists active objects in name order', async () => {
        expect(await names('')).toEqual(['list-a', 'list-b', 'list-c', 'list-e']);
      });

      it('includes inactive objects on request', async () => {
        expect(await names('?include_inactive=true')).toEqual(['list-a', 'list-b', 'list-c', 'list-d', 'list-e']);
      });

      it('keeps objects carrying any of the tags', async () => {
        expect(await names('?tags=team=blue,env=prod')).toEqual(['list-b', 'list-c']);
      });

      it('keeps objects carrying all of the repeated filters', async () => {
        expect(await names('?filter=team=red&filter=env=prod')).toEqual(['list-c']);
      });

      it('pages with limit and the X-Next-Cursor header until the last page', async () => {
        const seen: string[] = [];
        let cursor: string | null = '';
        let pages = 0;
        while (cursor !== null) {
          const res: Response = await gw.api(`/prompts?limit=2${cursor ? `&cursor=${cursor}` : ''}&include_inactive=true`);
          const page = (await res.json()) as { name: string }[];
          expect(page.length).toBeLessThanOrEqual(2);
          seen.push(...page.map((p) => p.name));
          cursor = res.headers.get('x-next-cursor');
          pages++;
        }
        const all = ((await (await gw.api('/prompts?include_inactive=true')).json()) as { name: string }[]).map((p) => p.name);
        expect(seen).toEqual(all);
        expect(pages).toBe(Math.ceil(all.length / 2) + (all.length % 2 === 0 ? 1 : 0) || 1);
      });

      it.each([
        ['?limit=0', 'BAD_QUERY'],
        ['?limit=abc', 'BAD_QUERY'],
        ['?limit=10001', 'BAD_QUERY'],
        ['?include_inactive=maybe', 'BAD_QUERY'],
        ['?cursor=%%%', 'BAD_CURSOR'],
        ['?cursor=bm90LWpzb24', 'BAD_CURSOR'],
        ['?filter=novalue', 'BAD_QUERY'],
      ])('refuses a bad query %s with 400', async (query, code) => {
        const res = await gw.api(`/prompts${query}`);
        expect(res.status).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe(code);
      });
    });

    describe('references', () => {
      it('accepts a server naming objects that do not exist yet, and resolves them when they appear', async () => {
        const res = await gw.api('/servers', {
          method: 'POST',
          body: { name: 'ref-server', tools: ['ref-tool'], prompts: ['ref-prompt'], resources: ['memo://ref'] },
        });
        expect(res.status).toBe(201);
        expect((await json(res)).missing_refs).toEqual({ tools: ['ref-tool'], prompts: ['ref-prompt'], resources: ['memo://ref'] });
        await gw.api('/tools', { method: 'POST', body: { name: 'ref-tool', url: 'https://api.example.com/' } });
        await gw.api('/prompts', { method: 'POST', body: { name: 'ref-prompt', template: 'x' } });
        const after = await json(await gw.api('/servers/ref-server'));
        expect(after.missing_refs).toEqual({ tools: [], prompts: [], resources: ['memo://ref'] });
        await gw.api('/resources', { method: 'POST', body: { uri: 'memo://ref', text: 'r' } });
        expect((await json(await gw.api('/servers/ref-server'))).missing_refs).toEqual({ tools: [], prompts: [], resources: [] });
      });

      it('addresses a resource by its URI, URL-encoded in the path', async () => {
        const uri = 'file:///srv/data/report%202026.txt?rev=2#top';
        const created = await json(await gw.api('/resources', { method: 'POST', body: { uri, text: 'x', mime_type: 'text/plain' } }));
        expect(created.name).toBe(uri);
        const got = await json(await gw.api(`/resources/${encodeURIComponent(uri)}`));
        expect(got.id).toBe(created.id);
      });
    });

    describe('credentials', () => {
      const cipher = new AuthCipher(TEST_SECRET);

      it('turns basic credentials into an encrypted auth_value and never returns them', async () => {
        const res = await gw.api('/gateways', {
          method: 'POST',
          body: { name: 'cred-basic', url: 'https://a.example.com', auth_username: 'svc', auth_password: 'pa55-word-Basic' },
        });
        const text = await res.text();
        expect(res.status).toBe(201);
        expect(text).not.toContain('pa55-word-Basic');
        expect(text).not.toContain('auth_password');
        const obj = JSON.parse(text) as Record<string, string>;
        expect(obj.auth_type).toBe('basic');
        expect(cipher.decrypt(obj.auth_value!)).toEqual({ Authorization: `Basic ${Buffer.from('svc:pa55-word-Basic').toString('base64')}` });
      });

      it.each([
        ['bearer', { auth_token: 'tok-123-bearer' }, { Authorization: 'Bearer tok-123-bearer' }],
        ['headers', { auth_headers: { 'X-Api-Key': 'key-456' } }, { 'X-Api-Key': 'key-456' }],
      ])('encrypts %s credentials', async (type, fields, payload) => {
        const res = await gw.api('/tools', { method: 'POST', body: { name: `cred-${type}`, url: 'https://a.example.com/', ...fields } });
        const obj = (await res.json()) as Record<string, string>;
        expect(obj.auth_type).toBe(type);
        expect(cipher.decrypt(obj.auth_value!)).toEqual(payload);
      });

      it('accepts an auth_value from another instance only if it decrypts here', async () => {
        const foreign = cipher.encrypt({ Authorization: 'Bearer from-elsewhere' });
        const ok = await gw.api('/servers', { method: 'POST', body: { name: 'cred-foreign', auth_type: 'bearer', auth_value: foreign } });
        expect(ok.status).toBe(201);
        expect(((await ok.json()) as { auth_value: string }).auth_value).toBe(foreign);

        const wrong = new AuthCipher('a-different-secret-0123456789abcdef').encrypt({ Authorization: 'Bearer x' });
        const bad = await gw.api('/servers', { method: 'POST', body: { name: 'cred-wrong', auth_type: 'bearer', auth_value: wrong } });
        expect(bad.status).toBe(422);
        const problem = (await bad.json()) as { code: string; detail: string };
        expect(problem.code).toBe('AUTH_VALUE_UNDECRYPTABLE');
        expect(problem.detail).toContain('cred-wrong');
        expect((await gw.api('/servers/cred-wrong')).status).toBe(404);
      });

      it('keeps the stored auth_value when the same credentials are sent again', async () => {
        const first = await json(await gw.api('/gateways/cred-basic'));
        const again = await gw.api('/gateways/cred-basic', { method: 'PATCH', body: { auth_username: 'svc', auth_password: 'pa55-word-Basic' } });
        expect(await json(again)).toEqual(first);
        const reencrypted = cipher.encrypt(cipher.decrypt(String(first.auth_value)));
        const same = await gw.api('/gateways/cred-basic', { method: 'PATCH', body: { auth_value: reencrypted } });
        expect(await json(same)).toEqual(first);
      });

      it('switches credential type through a patch and clears them with auth_type none', async () => {
        const bearer = (await (await gw.api('/gateways/cred-basic', { method: 'PATCH', body: { auth_token: 'new-token' } })).json()) as Record<string, string>;
        expect(bearer.auth_type).toBe('bearer');
        expect(cipher.decrypt(bearer.auth_value!)).toEqual({ Authorization: 'Bearer new-token' });
        const none = (await (await gw.api('/gateways/cred-basic', { method: 'PATCH', body: { auth_type: 'none' } })).json()) as Record<string, unknown>;
        expect(none.auth_type).toBe('none');
        expect(none.auth_value).toBeNull();
      });

      it.each([
        ['two credential types at once', { auth_token: 't', auth_headers: { A: 'b' } }],
        ['a type that contradicts the credentials', { auth_type: 'bearer', auth_username: 'u', auth_password: 'p' }],
        ['a username without a password', { auth_username: 'u' }],
        ['auth_value without auth_type', { auth_value: 'AAECAwQFBgcICQoLdtqkaI9H6lAHPp6oRHKqjM_0lW0E2vSNEvkicvDbD0546CJX6yL' }],
        ['basic without credentials', { auth_type: 'basic' }],
        ['a header value with a line break', { auth_headers: { 'X-Key': 'a\r\nInjected: yes' } }],
        ['a username with a colon', { auth_username: 'a:b', auth_password: 'p' }],
      ])('refuses %s with 422 and writes nothing', async (_label, fields) => {
        const res = await gw.api('/gateways', { method: 'POST', body: { name: 'cred-bad', url: 'https://a.example.com', ...fields } });
        expect(res.status).toBe(422);
        expect((await gw.api('/gateways/cred-bad')).status).toBe(404);
      });
    });

    describe('health, readiness and description', () => {
      it('answers /health and /ready without credentials', async () => {
        expect((await fetch(`${gw.url}/health`)).status).toBe(200);
        const ready = await fetch(`${gw.url}/ready`);
        expect(ready.status).toBe(200);
        expect(((await ready.json()) as { database: string }).database).toBe(store.name);
      });

      it('serves an OpenAPI 3.1 document describing every kind', async () => {
        const doc = (await (await gw.api('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
        expect(doc.openapi).toBe('3.1.0');
        for (const kind of KINDS) {
          expect(doc.paths[`/${kind}`]).toBeDefined();
          expect(doc.paths[`/${kind}/{id}`]).toBeDefined();
        }
        expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Gateway', 'GatewayWrite', 'Tool', 'ToolWrite', 'Problem']));
      });
    });
  });
}
