import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

// Property-based fuzzing, bounded in count and time; fast-check prints the seed and the
// shrunk counterexample on failure (rerun with FUZZ_SEED=<seed>). Properties: never a 5xx,
// always a coded problem (or JSON-RPC error), nothing written on a refused request.
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const params = { numRuns: RUNS, interruptAfterTimeLimit: 20_000, seed, verbose: 1 as const };
console.log(`fuzz seed ${seed} (FUZZ_SEED=${seed} to replay), ${RUNS} runs per property`);

const KINDS = ['gateways', 'servers', 'tools', 'prompts', 'resources'] as const;
const jsonValue = fc.jsonValue({ maxDepth: 6 });
// Bodies shaped like the kinds' fields, with wrong types and unknown keys mixed in.
const field = fc.constantFrom('name', 'url', 'uri', 'tags', 'is_active', 'transport', 'command', 'env', 'template', 'tools', 'auth_type', 'auth_token', 'auth_value', 'headers', 'input_schema', 'description', '__proto__', 'constructor', 'x');
const body = fc.oneof(fc.dictionary(field, jsonValue, { maxKeys: 8 }), jsonValue);

describe('fuzzing the Admin API and the MCP endpoint', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '3600000' });
    expect((await gw.api('/tools', { method: 'POST', body: { name: 'fixed', url: 'http://127.0.0.1:9/x' } })).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.close();
  });

  const total = async () => {
    let n = 0;
    for (const kind of KINDS) n += ((await (await gw.api(`/${kind}?include_inactive=true&limit=10000`)).json()) as unknown[]).length;
    return n;
  };

  it('POST /{kind}: never 5xx; a refused body writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...KINDS), body, async (kind, b) => {
        const before = await total();
        const res = await gw.api(`/${kind}`, { method: 'POST', body: b });
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          expect(((await res.json()) as { code?: string }).code).toMatch(/^[A-Z_]+$/);
          expect(await total()).toBe(before);
        } else {
          const created = (await res.json()) as { id: string };
          await gw.api(`/${kind}/${created.id}`, { method: 'DELETE' });
        }
      }),
      params,
    );
  }, 60_000);

  it('PATCH (merge patch) and PUT of a tool: never 5xx; a refused one changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('PATCH', 'PUT'), body, async (method, b) => {
        const before = await (await gw.api('/tools/fixed')).text();
        const res = await gw.api('/tools/fixed', { method, body: b, headers: method === 'PATCH' ? { 'content-type': 'application/merge-patch+json' } : {} });
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) expect(await (await gw.api('/tools/fixed')).text()).toBe(before);
        else await gw.api('/tools/fixed', { method: 'PUT', body: { name: 'fixed', url: 'http://127.0.0.1:9/x' } });
      }),
      params,
    );
  }, 60_000);

  it('POST /import with fuzzed export documents: never 5xx; a refused one writes nothing', async () => {
    const doc = fc.record(
      { version: fc.oneof(fc.constant('2025-03-26'), jsonValue), tools: fc.array(body, { maxLength: 3 }), servers: fc.array(body, { maxLength: 2 }), prompts: fc.array(body, { maxLength: 2 }) },
      { requiredKeys: ['version'] },
    );
    await fc.assert(
      fc.asyncProperty(doc, async (d) => {
        const before = await total();
        const res = await gw.api('/import?dry_run=true', { method: 'POST', body: d });
        expect(res.status).toBeLessThan(500);
        expect(await total()).toBe(before);
      }),
      params,
    );
  }, 60_000);

  it('POST /import with fuzzed ContextForge files and {import_data} bodies: never 5xx; a refusal names a path; dry runs write nothing', async () => {
    const entity = fc.oneof(body, fc.record({ name: fc.oneof(fc.string(), jsonValue), url: fc.oneof(fc.constant('http://127.0.0.1:9/x'), jsonValue), uri: fc.oneof(fc.string(), jsonValue), integration_type: fc.constantFrom('REST', 'MCP', 'x') }, { requiredKeys: [] }));
    const list = fc.oneof({ weight: 4, arbitrary: fc.array(entity, { maxLength: 3 }) }, { weight: 1, arbitrary: jsonValue });
    const entities = fc.oneof(
      { weight: 4, arbitrary: fc.record({ tools: list, gateways: list, servers: list, prompts: list, resources: list, roots: list }, { requiredKeys: [] }) },
      { weight: 1, arbitrary: jsonValue },
    );
    const file = fc.record({ version: fc.oneof(fc.constant('2025-03-26'), jsonValue), exported_at: fc.string(), entities, metadata: jsonValue }, { requiredKeys: ['entities'] });
    const request = fc.oneof(file, fc.record({ import_data: fc.oneof(file, jsonValue), conflict_strategy: fc.constantFrom('skip', 'update', 'rename', 'fail') }, { requiredKeys: ['import_data'] }));
    await fc.assert(
      fc.asyncProperty(request, async (d) => {
        const before = await total();
        const res = await gw.api('/import?dry_run=true', { method: 'POST', body: 'import_data' in d ? { ...d, dry_run: true } : d });
        expect(res.status).toBeLessThan(500);
        if (res.status === 422) {
          const problem = (await res.json()) as { code: string; errors?: { path: string }[] };
          expect(problem.code).toMatch(/^IMPORT_/);
          expect(problem.errors?.[0]?.path).toMatch(/^\$/);
        }
        expect(await total()).toBe(before);
      }),
      params,
    );
  }, 60_000);

  it('POST /mcp with fuzzed JSON-RPC messages: never 5xx, always JSON', async () => {
    const method = fc.constantFrom('initialize', 'ping', 'tools/list', 'tools/call', 'prompts/get', 'resources/read', 'resources/list', 'nope', 'notifications/initialized');
    const message = fc.oneof(
      fc.record({ jsonrpc: fc.oneof(fc.constant('2.0'), jsonValue), id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), jsonValue), method: fc.oneof(method, jsonValue), params: fc.oneof(jsonValue, fc.record({ name: fc.oneof(fc.constant('fixed'), fc.string()), arguments: jsonValue })) }, { requiredKeys: [] }),
      jsonValue,
    );
    const payload = fc.oneof(message, fc.array(message, { maxLength: 5 }));
    await fc.assert(
      fc.asyncProperty(payload, async (m) => {
        const res = await fetch(`${gw.url}/mcp`, { method: 'POST', headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(m) });
        expect(res.status).toBeLessThan(500);
        const text = await res.text();
        if (text !== '' && !text.startsWith('event:')) JSON.parse(text);
      }),
      params,
    );
  }, 60_000);
});
