import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

for (const store of STORES) {
  describe.skipIf(store.name === 'postgres' && !postgresAvailable)(`bad input on ${store.name}`, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(store, { BODY_LIMIT_BYTES: '65536' });
    });
    afterAll(async () => {
      await gw?.close();
    });

    /** Send, expect a problem+json with this status and code, and that no tool exists afterwards. */
    async function refused(res: Response, status: number, code: string): Promise<Problem> {
      const text = await res.text();
      expect(res.status, text).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(text) as Problem;
      expect(problem.code).toBe(code);
      expect(problem.status).toBe(status);
      expect(problem.detail.length).toBeGreaterThan(0);
      expect(text).not.toMatch(/at .*\.(js|ts):\d+/); // no stack trace
      const tools = (await (await gw.api('/tools?include_inactive=true')).json()) as unknown[];
      expect(tools).toEqual([]);
      return problem;
    }

    describe('malformed bodies', () => {
      it.each([
        ['truncated JSON', '{"name": "x", "url": '],
        ['a trailing comma', '{"name": "x",}'],
        ['single quotes', "{'name': 'x'}"],
        ['a bare word', 'hello'],
      ])('refuses %s with 400 BODY_NOT_JSON', async (_label, raw) => {
        await refused(await gw.api('/tools', { method: 'POST', raw, headers: { 'content-type': 'application/json' } }), 400, 'BODY_NOT_JSON');
      });

      it('refuses an empty JSON body with 400', async () => {
        await refused(await gw.api('/tools', { method: 'POST', raw: '', headers: { 'content-type': 'application/json' } }), 400, 'BODY_EMPTY');
      });

      it('refuses a body that is not JSON by content type with 415', async () => {
        await refused(await gw.api('/tools', { method: 'POST', raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
        await refused(await gw.api('/tools', { method: 'POST', raw: '{}', headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      });

      it('refuses a body over the configured limit with 413', async () => {
        const body = { name: 'big', url: 'https://a.example.com/', description: 'x'.repeat(70_000) };
        await refused(await gw.api('/tools', { method: 'POST', body }), 413, 'BODY_TOO_LARGE');
      });

      it.each([
        ['an array', [{ name: 'x' }]],
        ['a string', 'x'],
        ['a number', 42],
        ['null', null],
      ])('refuses %s where an object is expected with 422', async (_label, body) => {
        const problem = await refused(await gw.api('/tools', { method: 'POST', raw: JSON.stringify(body), headers: { 'content-type': 'application/json' } }), 422, 'VALIDATION_FAILED');
        expect(problem.errors?.[0]?.path).toBe('$');
      });

      it('refuses a prototype-pollution payload', async () => {
        const res = await gw.api('/tools', { method: 'POST', raw: '{"name":"x","url":"https://a/","__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } });
        expect(res.status).toBe(400);
        expect(({} as Record<string, unknown>).admin).toBeUndefined();
      });
    });

    describe('fields', () => {
      const valid = { name: 'ok-tool', url: 'https://api.example.com/x' };
      it.each([
        ['an unknown field', { ...valid, colour: 'red' }, '$', /unknown field: colour/],
        ['a wrong type', { ...valid, is_active: 'yes' }, '$.is_active', /boolean/],
        ['a wrong nested type', { ...valid, tags: ['a', 5] }, '$.tags[1]', /string/],
        ['a missing name', { url: valid.url }, '$.name', /.+/],
        ['a name with a space', { ...valid, name: 'two words' }, '$.name', /A-Z/],
        ['a name over 64 characters', { ...valid, name: 'a'.repeat(65) }, '$.name', /64/],
        ['a name starting with "_"', { ...valid, name: '_hidden' }, '$.name', /starting/],
        ['a homoglyph name (Cyrillic a)', { ...valid, name: 'p\u0430y' }, '$.name', /A-Z/],
        ['a name with a zero-width space', { ...valid, name: 'pay\u200bment' }, '$.name', /A-Z/],
        ['a tag with a zero-width space', { ...valid, tags: ['team\u200b=red'] }, '$.tags[0]', /invisible/],
        ['a description with a bidi override', { ...valid, description: 'safe \u202Eevil' }, '$.description', /bidirectional/],
        ['a NUL in free-form JSON', { ...valid, input_schema: { type: 'object', description: 'a\u0000b' } }, '$.input_schema.description', /NUL/],
        ['a lone surrogate', { ...valid, description: 'bad \ud800 text' }, '$.description', /surrogate/],
        ['an input schema that is not an object schema', { ...valid, input_schema: { type: 'string' } }, '$.input_schema', /object/],
        ['an unknown request_type', { ...valid, request_type: 'TRACE' }, '$.request_type', /.+/],
        ['a negative timeout', { ...valid, timeout_ms: -1 }, '$.timeout_ms', /.+/],
        ['a fractional timeout', { ...valid, timeout_ms: 1.5 }, '$.timeout_ms', /.+/],
      ])('refuses %s with 422 naming the field', async (_label, body, path, message) => {
        const problem = await refused(await gw.api('/tools', { method: 'POST', body }), 422, 'VALIDATION_FAILED');
        const error = problem.errors?.find((e) => e.path === path);
        expect(error, JSON.stringify(problem.errors)).toBeDefined();
        expect(error!.message).toMatch(message);
      });

      it('reports every problem in one answer', async () => {
        const problem = await refused(await gw.api('/tools', { method: 'POST', body: { name: '', url: 5, is_active: 'no' } }), 422, 'VALIDATION_FAILED');
        expect(problem.errors!.map((e) => e.path).sort()).toEqual(['$.is_active', '$.name', '$.url']);
      });

      it.each([
        ['a gateway URL with another scheme', '/gateways', { name: 'g', url: 'ftp://files.example.com' }, '$.url'],
        ['a gateway URL with embedded credentials', '/gateways', { name: 'g', url: 'https://user:pw@example.com' }, '$.url'],
        ['a stdio gateway without a command', '/gateways', { name: 'g', transport: 'stdio' }, '$.command'],
        ['a server naming a tool with a bad name', '/servers', { name: 's', tools: ['ok', 'not ok'] }, '$.tools[1]'],
        ['a resource without a scheme', '/resources', { uri: 'just-a-path' }, '$.uri'],
        ['a resource with both text and blob', '/resources', { uri: 'memo://x', text: 'a', blob: 'YQ==' }, '$.blob'],
        ['a resource blob that is not base64', '/resources', { uri: 'memo://x', blob: 'not base64!' }, '$.blob'],
        ['a prompt without a template', '/prompts', { name: 'p' }, '$.template'],
      ])('refuses %s', async (_label, path, body, field) => {
        const res = await gw.api(path, { method: 'POST', body });
        expect(res.status).toBe(422);
        const problem = (await res.json()) as Problem;
        expect(problem.errors?.map((e) => e.path)).toContain(field);
      });
    });

    describe('hostile strings are stored as data, never executed', () => {
      it.each([
        ["'; DROP TABLE tools; --"],
        ['" OR 1=1 --'],
        ['Robert\'); DELETE FROM object_tags; --'],
        ['<script>alert(1)</script>'],
        ['{{ 7*7 }} ${process.env.HOME}'],
        ['emoji 🚀 and 中文 and RTL שלום'],
      ])('round-trips %s in description and tags', async (hostile) => {
        const create = await gw.api('/prompts', { method: 'POST', body: { name: 'hostile', template: hostile, description: hostile, tags: [`k=${hostile.replace(/\s/g, '_')}`] } });
        expect(create.status).toBe(201);
        const got = (await (await gw.api('/prompts/hostile')).json()) as Record<string, unknown>;
        expect(got.description).toBe(hostile);
        expect(got.template).toBe(hostile);
        const byTag = (await (await gw.api(`/prompts?tags=${encodeURIComponent(`k=${hostile.replace(/\s/g, '_')}`)}`)).json()) as unknown[];
        expect(byTag).toHaveLength(1);
        expect((await gw.api('/prompts/hostile', { method: 'DELETE' })).status).toBe(204);
      });

      it.each([["x' OR '1'='1"], ['%27%20OR%201%3D1'], ['..%2F..%2Fetc%2Fpasswd']])('answers 404 for a lookup by %s', async (id) => {
        const res = await gw.api(`/tools/${encodeURIComponent(id)}`);
        expect(res.status).toBe(404);
      });
    });

    describe('paths and methods', () => {
      it('answers 404 problem+json for an unknown path', async () => {
        const res = await gw.api('/nothing-here');
        expect(res.status).toBe(404);
        expect(((await res.json()) as Problem).code).toBe('ROUTE_NOT_FOUND');
      });

      it('answers 4xx, not 500, for a broken percent-encoding in the path', async () => {
        const res = await gw.api('/tools/%E0%A4%A');
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      });

      it('answers 404 for a method the path does not have', async () => {
        const res = await gw.api('/tools', { method: 'DELETE' });
        expect(res.status).toBe(404);
      });

      it('gives every answer a request id, echoing a safe one it was sent', async () => {
        const res = await gw.api('/health', { headers: { 'x-request-id': 'trace-abc.123' } });
        expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
        const odd = await gw.api('/health', { headers: { 'x-request-id': 'bad id with spaces' } });
        expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      });
    });
  });
}
