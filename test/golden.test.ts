import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatCapability } from '../src/capabilities/file.js';
import { convertOpenApi, generatedHeader } from '../src/importers/openapi/convert.js';
import { loadOpenApi } from '../src/importers/openapi/load.js';

/**
 * Golden files: the capability files `cap import` writes for a set of descriptions, compared
 * byte for byte with the committed ones. `npm run golden:update` rewrites them after a deliberate change.
 */

const EXAMPLES = 'node_modules/@readme/oas-examples';
const SPECS: [string, string, Parameters<typeof convertOpenApi>[1]][] = [
  ['inventory', 'examples/openapi/inventory.yaml', {}],
  ['petstore-swagger2', `${EXAMPLES}/2.0/yaml/petstore.yaml`, { prefix: 'pets' }],
  ['schema-circular-oas30', `${EXAMPLES}/3.0/json/schema-circular.json`, {}],
  ['parameters-style-oas31', `${EXAMPLES}/3.1/yaml/parameters-style.yaml`, { readOnly: true }],
  ['train-travel-oas31', `${EXAMPLES}/3.1/yaml/train-travel.yaml`, { authKey: 'env:TRAIN_TOKEN' }],
];
const UPDATE = process.env.UPDATE_GOLDEN === '1';

async function render(spec: string, options: Parameters<typeof convertOpenApi>[1]): Promise<Map<string, string>> {
  const { doc } = await loadOpenApi(spec);
  const result = convertOpenApi(doc, options);
  const files = new Map<string, string>();
  for (const c of result.capabilities) files.set(`${c.capability.name}.yaml`, formatCapability(c.capability, generatedHeader(c, basename(spec))));
  files.set('_report.json', `${JSON.stringify(result.report, null, 2)}\n`);
  return files;
}

describe('golden capability files', () => {
  it.each(SPECS)('%s matches its golden files', async (name, spec, options) => {
    const dir = join('test/golden', name);
    const files = await render(spec, options);
    if (UPDATE) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const [file, text] of files) writeFileSync(join(dir, file), text);
    }
    const committed = readdirSync(dir).sort();
    expect(committed, 'run npm run golden:update after a deliberate change').toEqual([...files.keys()].sort());
    for (const [file, text] of files) expect(text, `${dir}/${file}`).toBe(readFileSync(join(dir, file), 'utf8'));
  });
});

describe('schemas/capability.schema.json', () => {
  it('accepts every golden capability file', () => {
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync('schemas/capability.schema.json', 'utf8')) as object);
    let checked = 0;
    for (const [name] of SPECS) {
      for (const file of readdirSync(join('test/golden', name)).filter((f) => f.endsWith('.yaml'))) {
        const ok = validate(parse(readFileSync(join('test/golden', name, file), 'utf8')));
        expect(ok, `${name}/${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });
});
