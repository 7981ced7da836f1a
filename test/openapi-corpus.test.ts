import { join, relative } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { capabilityToTool } from '../src/capabilities/convert.js';
import { formatCapability, parseCapabilityText } from '../src/capabilities/file.js';
import { KIND_DEFS } from '../src/domain/entities.js';
import { NAME_PATTERN } from '../src/domain/text.js';
import { convertOpenApi, type ConvertResult } from '../src/importers/openapi/convert.js';
import { loadOpenApi } from '../src/importers/openapi/load.js';
import { MAX_PAGE_BYTES, View, type ToolEntry } from '../src/mcp/catalog.js';
import { EXAMPLES, exampleDocuments, GITHUB } from './helpers/corpus.js';

/**
 * The quality bar of issue 5 on real descriptions: every operation becomes a tool, names are
 * valid and unique, every input schema is an object schema a standard MCP client (ajv, as the
 * MCP SDK uses) compiles, recursive schemas stay recursive, and no tool list reaches 10 MiB.
 */

const TEN_MIB = 10 * 1024 * 1024;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const documents = () => exampleDocuments('', /\.(json|ya?ml)$/);

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
  checkRecursion(result);
}

/** The tools/list pages the gateway serves for these capabilities (MCP_PAGE_SIZE 1000), each as sent. */
function servedPages(result: ConvertResult, pageSize = 1000): string[] {
  const entries = result.capabilities.map(({ capability }) => {
    const tool = capabilityToTool(capability);
    const descriptor: Record<string, unknown> = { name: tool.name, description: tool.description, inputSchema: tool.input_schema };
    if (tool.title) descriptor.title = tool.title;
    if (tool.output_schema) descriptor.outputSchema = tool.output_schema;
    if (Object.keys(tool.annotations).length > 0) descriptor.annotations = tool.annotations;
    return { name: tool.name, fields: tool, descriptor, gateway: null, originalName: tool.name } as unknown as ToolEntry;
  });
  const view = new View('all', undefined, entries, [], [], [], pageSize);
  const pages: string[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 10_000; n++) {
    const page = view.page('tools', cursor, false)!;
    pages.push(page.json);
    cursor = (JSON.parse(page.json) as { nextCursor?: string }).nextCursor;
    if (cursor === undefined) break;
  }
  return pages;
}

/**
 * Recursion kept: every `$ref` of a tool resolves inside its own `$defs`, no definition became an
 * empty `{}`, and a definition that refers back to itself (directly or through others) still does.
 */
function checkRecursion(result: ConvertResult): void {
  for (const { capability } of result.capabilities) {
    for (const schema of [capability.schema.input, capability.schema.output]) {
      if (!schema) continue;
      const defs = (schema.$defs ?? {}) as Record<string, unknown>;
      const refsOf = (node: unknown, out = new Set<string>()): Set<string> => {
        if (Array.isArray(node)) for (const n of node) refsOf(n, out);
        else if (node !== null && typeof node === 'object') {
          for (const [k, v] of Object.entries(node)) {
            if (k === '$ref' && typeof v === 'string') out.add(v);
            else if (k !== '$defs') refsOf(v, out);
          }
        }
        return out;
      };
      for (const ref of refsOf(schema)) {
        expect(ref, `${capability.name}: ${ref}`).toMatch(/^#\/\$defs\//);
        expect(Object.hasOwn(defs, ref.slice('#/$defs/'.length)), `${capability.name}: ${ref} resolves`).toBe(true);
      }
      for (const [name, def] of Object.entries(defs)) {
        expect(def, `${capability.name}: $defs.${name} is not emptied`).not.toEqual({});
        for (const ref of refsOf(def)) expect(Object.hasOwn(defs, ref.slice('#/$defs/'.length)), `${capability.name}: $defs.${name} → ${ref}`).toBe(true);
      }
    }
  }
}

/** Names of `$defs` entries that reach themselves, over all tools of a result. */
function recursiveDefs(result: ConvertResult): Set<string> {
  const found = new Set<string>();
  for (const { capability } of result.capabilities) {
    for (const schema of [capability.schema.input, capability.schema.output]) {
      const defs = (schema?.$defs ?? {}) as Record<string, unknown>;
      const edges = new Map(Object.entries(defs).map(([name, def]) => [name, [...JSON.stringify(def).matchAll(/"\$ref":"#\/\$defs\/([^"]+)"/g)].map((m) => m[1]!)]));
      for (const start of edges.keys()) {
        const seen = new Set<string>();
        const stack = [...(edges.get(start) ?? [])];
        while (stack.length > 0) {
          const next = stack.pop()!;
          if (next === start) found.add(start);
          if (seen.has(next)) continue;
          seen.add(next);
          stack.push(...(edges.get(next) ?? []));
        }
      }
    }
  }
  return found;
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
    const result = convertOpenApi(doc);
    const text = JSON.stringify(result.capabilities.map((c) => c.capability.schema));
    expect(text).toMatch(/"\$ref":"#\/\$defs\//);
    // Each recursive definition of the source is still recursive in the tools that use it.
    expect([...recursiveDefs(result)].sort()).toEqual(expect.arrayContaining(['BodyPart', 'MultiPart']));
  });

  it.each(files.map((f) => [relative(EXAMPLES, f), f]))('%s: no served tools/list page is above the client limit', async (_name, file) => {
    const { doc } = await loadOpenApi(file);
    for (const page of servedPages(convertOpenApi(doc))) expect(Buffer.byteLength(page)).toBeLessThan(TEN_MIB);
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

  it('serves a tools/list of at most 2 MiB with the default flags; every output schema with --max-output-schema 0, still paged under the limit', async () => {
    const { doc } = await loadOpenApi(GITHUB, { validate: false });
    const lean = servedPages(convertOpenApi(doc));
    expect(lean).toHaveLength(2); // 1,223 tools at 1,000 a page
    const leanBytes = lean.reduce((n, p) => n + Buffer.byteLength(p), 0);
    expect(leanBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    const full = convertOpenApi(doc, { maxOutputSchemaBytes: 0 });
    expect(full.capabilities.filter((c) => c.capability.schema.output).length).toBeGreaterThan(convertOpenApi(doc).capabilities.filter((c) => c.capability.schema.output).length);
    checkRecursion(full);
    // Paged by size as well as by count: with one page for everything, no page passes MAX_PAGE_BYTES.
    const pages = servedPages(full, 100_000);
    for (const page of pages) expect(Buffer.byteLength(page)).toBeLessThanOrEqual(MAX_PAGE_BYTES + 1024);
    const small = servedPages(full, 100_000).length;
    expect(small).toBeGreaterThanOrEqual(1);
    const none = convertOpenApi(doc, { outputSchema: false });
    expect(none.capabilities.some((c) => c.capability.schema.output)).toBe(false);
  });
});
