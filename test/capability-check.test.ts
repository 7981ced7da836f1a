import { describe, expect, it } from 'vitest';
import { checkCapability } from '../src/capabilities/generated.js';
import { capabilitySchema } from '../src/capabilities/schema.js';
import { convertOpenApi } from '../src/importers/openapi/convert.js';
import { loadOpenApi } from '../src/importers/openapi/load.js';
import { exampleDocuments, GITHUB } from './helpers/corpus.js';

/**
 * `cap import` checks what it generates with capabilities/generated.ts, not with the zod schema
 * (loading zod alone cost more than the conversion). The two must agree: the same verdict on every
 * value, and on success the same output, key order included (the files are written from it).
 */


const documents = () => exampleDocuments('json', /\.json$/);

/** Both verdicts, and both outputs as JSON text with undefined kept visible. */
function agree(value: unknown, label: string): boolean {
  const ours = checkCapability(value);
  const theirs = capabilitySchema.safeParse(value);
  // expect() only on a disagreement: the table below makes tens of thousands of comparisons.
  if (ours.ok === theirs.success && (!ours.ok || show(ours.capability) === show(theirs.data))) return ours.ok;
  expect(ours.ok, `${label}: ${ours.ok ? 'accepted' : `refused (${ours.path.join('.')}: ${ours.message})`}, zod ${theirs.success ? 'accepted' : `refused (${theirs.error.issues[0]?.path.join('.')}: ${theirs.error.issues[0]?.message})`}`).toBe(theirs.success);
  if (ours.ok && theirs.success) expect(show(ours.capability), label).toBe(show(theirs.data));
  return ours.ok;
}

const show = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (v === undefined ? '<undefined>' : v));

/** Capabilities of every auth kind, serialization rule and body type the corpora hold. */
async function samples(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const file of documents()) {
    const { doc } = await loadOpenApi(file, { validate: false });
    const result = convertOpenApi(doc, { maxOutputSchemaBytes: 0 });
    // One per distinct shape of the non-schema part (auth type, serialization, body, metadata keys).
    const seen = new Set<string>();
    for (const { capability } of result.capabilities) {
      const shape = JSON.stringify({ ...capability, schema: Object.keys(capability.schema), description: '', title: '', name: '' }, (k, v: unknown) => (typeof v === 'string' && k !== 'type' ? '' : v));
      if (seen.has(shape)) continue;
      seen.add(shape);
      // The JSON Schemas matter here only by their top-level keys and argument names.
      const input = capability.schema.input;
      const small: Record<string, unknown> = { ...input, properties: Object.fromEntries(Object.keys((input.properties ?? {}) as object).map((k) => [k, {}])) };
      delete small.$defs;
      out.push(structuredClone({ ...capability, schema: { input: small, ...(capability.schema.output ? { output: { type: 'object' } } : {}) } }) as Record<string, unknown>);
    }
  }
  return out;
}

/** Every path into a capability outside the JSON Schemas, to change one at a time. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (prefix[0] === 'schema' && prefix.length >= 2) return out;
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function changed(base: Record<string, unknown>, path: (string | number)[], replacement: unknown, remove: boolean): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(base);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove && !Array.isArray(node)) delete node[last];
  else node[last] = replacement;
  return copy;
}

const VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, 601, 10_000_001, Number.NaN, '', ' padded ', 'x'.repeat(257), 'x'.repeat(5000), 'a\u0000b', 'a\u202Eb', 'a\u0007b', '\ud800',
  'env:OK_TOKEN', 'env:', 'https://api.example.com', 'ftp://x', 'https://u:p@x.test', 'http://a.b/p?q=1', 'GET', 'post', 'rest', 'bearer', 'api_key', 'oauth2', 'basic',
  'header', 'application/json', 'text', 'has space', '{missing}', '1.0', 'form', 'deepObject', [], ['a', 'a'], ['x y'], [{ type: 'bearer', key: 'env:A' }], {}, { type: 'object' }, { type: 'string' },
  { required: false }, { type: 'bearer', key: 'env:K' }, { strategy: 'exact', ttl: 5 }, { extra: 1 }, Array.from({ length: 101 }, (_, i) => `t${i}`),
];

describe('the zod-free check of generated capabilities agrees with the capability schema', () => {
  it('on every capability of the oas-examples corpus and of GitHub', async () => {
    let n = 0;
    for (const file of [...documents(), GITHUB]) {
      const { doc } = await loadOpenApi(file, { validate: false });
      for (const { capability } of convertOpenApi(doc, { maxOutputSchemaBytes: 0 }).capabilities) {
        expect(agree(capability, capability.name)).toBe(true);
        n++;
      }
    }
    expect(n).toBeGreaterThan(1223 + 500);
  });

  it('on each field of sample capabilities replaced by good and bad values, removed, or joined by an unknown key', async () => {
    const list = await samples();
    expect(list.length).toBeGreaterThan(40);
    list.splice(60);
    let accepted = 0;
    let refused = 0;
    const count = (ok: boolean) => (ok ? accepted++ : refused++);
    for (const base of list) {
      for (const path of paths(base)) {
        const label = `${String(base.name)} ${path.join('.') || '$'}`;
        for (const value of VALUES) count(agree(changed(base, path, value, false), `${label} = ${show(value).slice(0, 60)}`));
        if (path.length > 0) count(agree(changed(base, path, undefined, true), `${label} removed`));
        const node = path.reduce<unknown>((n, k) => (n as Record<string | number, unknown>)?.[k], base);
        if (node !== null && typeof node === 'object' && !Array.isArray(node)) count(agree(changed(base, [...path, 'unknown_key'], 1, false), `${label} + unknown_key`));
      }
    }
    // Both kinds of verdict are well represented.
    expect(accepted).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  }, 120_000);

  it('puts keys in the schema order and fills defaults, as zod does', () => {
    const loose = {
      metadata: { source: { kind: 'openapi' }, read_only: true, tags: ['b', 'a', 'b'] },
      auth: { key: 'env:T', type: 'bearer' },
      providers: { primary: { config: { method: 'POST', path: '/x' }, service: 'rest' } },
      name: 'x',
      fulcrum: '1.0',
    };
    expect(agree(loose, 'loose')).toBe(true);
    const result = checkCapability(loose);
    expect(result.ok && Object.keys(result.capability)).toEqual(['fulcrum', 'name', 'description', 'enabled', 'schema', 'providers', 'auth', 'metadata']);
    expect(result.ok && result.capability.metadata).toEqual({ tags: ['b', 'a'], read_only: true, source: { kind: 'openapi' } });
  });
});
