import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportJsonSchemaText, serializeDocument } from './export-document.js';

describe('export document', () => {
  it('matches the committed schemas/export.schema.json (run `npm run schema:export` after changing an entity)', () => {
    const committed = readFileSync(new URL('../../schemas/export.schema.json', import.meta.url), 'utf8');
    expect(committed, 'schemas/export.schema.json is stale: run `npm run schema:export` and commit it').toBe(exportJsonSchemaText());
  });

  it('writes the same bytes whatever order keys and objects arrive in', () => {
    const a = serializeDocument({ version: '2025-03-26', prompts: [{ template: 't', name: 'b', input_schema: { type: 'object', properties: {} } }, { name: 'a', template: 'u' }] });
    const b = serializeDocument({ prompts: [{ template: 'u', name: 'a' }, { input_schema: { properties: {}, type: 'object' }, name: 'b', template: 't' }], version: '2025-03-26' });
    expect(a).toBe(b);
    expect(a).toMatch(/^\{\n {2}"version": "2025-03-26",\n {2}"prompts": \[\n {4}\{\n {6}"name": "a",/);
  });

  it('orders resources by URI in code-point order, not UTF-16 order', () => {
    // U+FF5E sorts before U+1F600 by code point, but after it by UTF-16 code unit.
    const text = serializeDocument({ version: '2025-03-26', resources: [{ uri: 'memo://\u{1F600}' }, { uri: 'memo://\uFF5E' }] });
    const uris = (JSON.parse(text) as { resources: { uri: string }[] }).resources.map((r) => r.uri);
    expect(uris).toEqual(['memo://\uFF5E', 'memo://\u{1F600}']);
  });
});
