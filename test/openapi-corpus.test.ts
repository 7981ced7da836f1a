import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { capabilityToTool } from '../src/capabilities/convert.js';
import { formatCapability, parseCapabilityText } from '../src/capabilities/file.js';
import { KIND_DEFS } from '../src/domain/entities.js';
import { NAME_PATTERN } from '../src/domain/text.js';
import { convertOpenApi, type ConvertResult } from '../src/importers/openapi/convert.js';
import { loadOpenApi } from '../src/importers/openapi/load.js';

/**
 * The quality bar of issue 5 on real descriptions: every operation becomes a tool, names are
 * valid and unique, every input schema is an object schema a standard MCP client (ajv, as the
 * MCP SDK uses) compiles, recursive schemas stay recursive, and no tool list reaches 10 MiB.
 */

const EXAMPLES = 'node_modules/@readme/oas-examples';
const GITHUB = 'node_modules/@octokit/openapi/generated/api.github.com.json';
const TEN_MIB = 10 * 1024 * 1024;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function documents(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(json|ya?ml)$/.test(name)) files.push(path);
    }
  };
  for (const version of ['2.0', '3.0', '3.1']) walk(join(EXAMPLES, version));
  return files;
}

/** Operations counted independently of the converter. */
function countOperations(doc: unknown): number {
  const paths = ((doc as { paths?: Record<string, Record<string, unknown>> }).paths ?? {}) as Record<string, Record<string, unknown>>;
  const resolve = (item: Record<string, unknown>) =>
    typeof item?.$ref === 'string' ? (item.$ref.slice(2).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~')).reduce((n: any, k) => n?.[k], doc) as Record<string, unknown>) : item; // eslint-disable-line @typescript-eslint/no-explicit-any
  return Object.values(paths).reduce((n, item) => n + METHODS.filter((m) => typeof resolve(item)?.[m] === 'object').length, 0);
}

// One compiler, as an MCP client holds one; strict off like the MCP SDK's default validator.
const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });

/** What a standard MCP client does with a tool list: compile each schema. */
function checkToolList(result: ConvertResult): void {
  const names = new Set<string>();
  const list = result.capabilities.map(({ capability }) => {
    expect(capability.name).toMatch(NAME_PATTERN);
    expect(names.has(capability.name.toLowerCase()), `duplicate name ${capability.name}`).toBe(false);
    names.add(capability.name.toLowerCase());
    expect(capability.schema.input.type).toBe('object');
    ajv.compile(capability.schema.input);
    if (capability.schema.output) {
      expect(capability.schema.output.type).toBe('object');
      ajv.compile(capability.schema.output);
    }
    return { name: capability.name, description: capability.description, inputSchema: capability.schema.input, outputSchema: capability.schema.output };
  });
  expect(Buffer.byteLength(JSON.stringify({ tools: list }))).toBeLessThan(TEN_MIB);
}

describe('@readme/oas-examples: every document imports', () => {
  const files = documents();

  it('finds the whole corpus (Swagger 2.0, OpenAPI 3.0 and 3.1, JSON and YAML)', () => {
    expect(files.length).toBe(129);
    for (const dir of ['2.0/json', '2.0/yaml', '3.0/json', '3.0/yaml', '3.1/json', '3.1/yaml']) expect(files.some((f) => f.includes(`/${dir}/`))).toBe(true);
  });

  it.each(files.map((f) => [relative(EXAMPLES, f), f]))('%s: every operation becomes a valid capability', async (_name, file) => {
    const { doc } = await loadOpenApi(file);
    const result = convertOpenApi(doc);
    expect(result.report.skipped).toEqual([]);
    expect(result.report.converted).toBe(countOperations(doc));
    checkToolList(result);
    for (const { capability } of result.capabilities) {
      // What cap validate reads back is exactly what was written.
      expect(parseCapabilityText(formatCapability(capability), `${capability.name}.yaml`)).toEqual({ ok: true, capability });
      expect(KIND_DEFS.tools.write.safeParse(capabilityToTool(capability)).success).toBe(true);
    }
  });

  it('keeps recursive schemas through $defs rather than emptying them', async () => {
    const { doc } = await loadOpenApi(join(EXAMPLES, '3.0/json/schema-circular.json'));
    const text = JSON.stringify(convertOpenApi(doc).capabilities.map((c) => c.capability.schema));
    expect(text).toMatch(/"\$ref":"#\/\$defs\//);
  });
});

describe("GitHub's REST description (@octokit/openapi)", () => {
  it('imports completely: 1,223 operations, valid unique names, schemas an MCP client accepts, under 10 MiB', async () => {
    const { doc } = await loadOpenApi(GITHUB, { validate: false });
    expect(countOperations(doc)).toBe(1223);
    const result = convertOpenApi(doc);
    expect(result.report.operations_found).toBe(1223);
    expect(result.report.converted).toBe(1223);
    expect(result.report.skipped).toEqual([]);
    checkToolList(result);
    for (const { capability } of result.capabilities) expect(KIND_DEFS.tools.write.safeParse(capabilityToTool(capability)).success).toBe(true);
  });
});
