import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseCapabilityText } from '../src/capabilities/file.js';
import { formatCapability } from '../src/capabilities/format.js';
import { capabilitySchema } from '../src/capabilities/schema.js';
import { readWrittenYaml } from '../src/capabilities/yaml-reader.js';
import { toYaml } from '../src/capabilities/yaml-writer.js';
import { convertOpenApi, generatedHeader } from '../src/importers/openapi/convert.js';
import { loadOpenApi } from '../src/importers/openapi/load.js';

/**
 * The gateway reads what `cap import` wrote with a reader of exactly that YAML (capabilities/
 * yaml-reader.ts). It must give the `yaml` library's value on every such file, and give up
 * (undefined: the caller uses the library) on anything else.
 */

const EXAMPLES = 'node_modules/@readme/oas-examples';
const GITHUB = 'node_modules/@octokit/openapi/generated/api.github.com.json';
const show = (value: unknown) => JSON.stringify(value);
const library = (text: string) => parse(text, { merge: true, uniqueKeys: true, strict: true }) as unknown;

function documents(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.json$/.test(name)) files.push(path);
    }
  };
  for (const version of ['2.0', '3.0', '3.1']) walk(join(EXAMPLES, version, 'json'));
  return files;
}

describe('the reader of written capability files', () => {
  it('reads every file cap import writes for the oas-examples corpus and GitHub exactly as the yaml library does', async () => {
    let n = 0;
    for (const file of [...documents(), GITHUB]) {
      const { doc } = await loadOpenApi(file, { validate: false });
      for (const generated of convertOpenApi(doc, { maxOutputSchemaBytes: 0 }).capabilities) {
        const text = formatCapability(generated.capability, generatedHeader(generated, 'x.json'));
        const quick = readWrittenYaml(text);
        expect(quick, generated.capability.name).toBeDefined();
        if (show(quick) !== show(library(text))) expect(show(quick), generated.capability.name).toBe(show(library(text)));
        n++;
      }
    }
    expect(n).toBeGreaterThan(1223 + 500);
  });

  it('reads odd values the writer may meet as the library does', () => {
    const values: Record<string, unknown>[] = [
      { a: '', b: ' lead', c: 'trail ', d: 'two  spaces', e: 'a: b', f: 'a #b', g: '#x', h: 'yes', i: 'No', j: '~', k: '1.5', l: '-1', m: 'a\nb', n: 'a\n\nb', o: 'a\n  b', p: '\ttab', q: 'x\t\ty' },
      { 'odd key': 1, 'a:b': 2, '-x': 3, true: 4, '': 5, '"q"': 6, 'ü': 7, 'x.y-z_$': 8 },
      { list: [1, -2, 1.5, 1e21, 5e-7, 0, true, false, null, 'x', ['a', ['b']], [], {}, { k: 'v', w: [{ z: 1 }] }] },
      { nested: { deeper: { deepest: { list: [{ a: { b: [1, { c: 'multi\nline' }] } }] } } } },
      { unicode: 'caf\u00e9 \u2603 \ud83d\ude00', escapes: 'quote " backslash \\ slash /', control: 'bell\u0007', lsep: 'a\u2028b', bom: '\ufeffx' },
      { block: 'first\n  indented\n\nafter blank', trailing: 'ends with space \nnext' },
    ];
    for (const value of values) {
      const text = toYaml(value);
      const quick = readWrittenYaml(text);
      // Either read exactly as the library reads it, or left to the library.
      if (quick !== undefined) expect(show(quick), text).toBe(show(library(text)));
    }
    expect(readWrittenYaml(toYaml(values[0]!))).toBeDefined();
    expect(readWrittenYaml(toYaml(values[2]!))).toBeDefined();
  });

  it.each([
    ['a comment after the header', 'a: 1\n# note\nb: 2\n'],
    ['a trailing comment', 'a: 1 # note\n'],
    ['a flow sequence', 'a: [1, 2]\n'],
    ['a flow mapping', 'a: {b: 1}\n'],
    ['an anchor and alias', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a merge key', 'base:\n  x: 1\nother:\n  <<: {}\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a document marker', '---\na: 1\n'],
    ['a folded block', 'a: >\n  text\n'],
    ['a kept block', 'a: |\n  text\n'],
    ['a tab indent', 'a:\n\tb: 1\n'],
    ['CRLF line ends', 'a: 1\r\nb: 2\r\n'],
    ['a compact sequence', 'a:\n- 1\n- 2\n'],
    ['a four-space indent', 'a:\n    b: 1\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a single-quoted string', "a: 'x'\n"],
    ['an octal-looking number', 'a: 007\n'],
    ['a hex number', 'a: 0x1F\n'],
    ['an empty value', 'a:\nb: 1\n'],
    ['a key of __proto__', '__proto__: 1\n'],
    ['a top-level sequence', '- 1\n'],
    ['a scalar document', 'just text\n'],
    ['nesting past the guard', Array.from({ length: 70 }, (_, i) => `${'  '.repeat(i)}k:`).join('\n') + `\n${'  '.repeat(70)}v: 1\n`],
  ])('leaves %s to the library', (_what, text) => {
    expect(readWrittenYaml(text)).toBeUndefined();
  });

  it('gives cap validate and the gateway the same verdicts and problems as before on hand-written files', () => {
    for (const file of readdirSync('examples/capabilities').filter((f) => /\.ya?ml$/.test(f))) {
      const text = readFileSync(join('examples/capabilities', file), 'utf8');
      const result = parseCapabilityText(text, file);
      const zod = capabilitySchema.safeParse(library(text));
      expect(result.ok, file).toBe(zod.success);
      if (result.ok && zod.success) expect(show(result.capability)).toBe(show(zod.data));
    }
    const bad = parseCapabilityText('fulcrum: "1.0"\nname: bad name\nproviders:\n  primary:\n    service: rest\n    config:\n      path: /x\n', 'bad.yaml');
    expect(bad).toEqual({ ok: false, problems: [{ file: 'bad.yaml', path: '$.name', line: 2, message: expect.stringMatching(/must be 1-64 characters/) }] });
  });
});
