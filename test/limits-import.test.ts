import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { importGraphql, MAX_DEFS_PER_OPERATION, MAX_SELECTED_FIELDS } from '../src/importers/graphql/index.js';
import { importLimits } from '../src/importers/limits.js';
import { planSource } from '../src/importers/planner/preview.js';

// Importer memory and time guards (issue 10). Timing is measured in BENCHMARKS.md, never asserted here.
const GITHUB_SDL = join(process.cwd(), 'node_modules/@octokit/graphql-schema/schema.graphql');

/** Every mutation takes the head of a chain of `n` input types: without a bound, each tool's $defs holds all `n`. */
function sharedInputGraph(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `input I${i} { next: I${(i + 1) % n} name: String count: Int }\n`;
  s += 'type R { id: ID }\ntype Query { ping: String }\ntype Mutation {\n';
  for (let i = 0; i < n; i++) s += `  update${i}(input: I0!): R\n`;
  return `${s}}\n`;
}

/** Query fields returning a type whose object fields are wide: without a bound, each selection holds w × w fields. */
function wideTypes(w: number, queries: number): string {
  let s = `type L {\n${Array.from({ length: w }, (_, f) => `  f${f}: String`).join('\n')}\n}\n`;
  s += `type T {\n${Array.from({ length: w }, (_, f) => `  o${f}: L`).join('\n')}\n}\n`;
  return `${s}type Query {\n${Array.from({ length: queries }, (_, q) => `  q${q}: T`).join('\n')}\n}\n`;
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return error instanceof GatewayError ? error.code : `not coded: ${(error as Error).message}`;
  }
  return undefined;
};

describe('GraphQL importer bounds', () => {
  it('bounds the $defs of every tool when operations share a large input graph', () => {
    const result = importGraphql(sharedInputGraph(300), undefined, { sourceName: 'chain' });
    expect(result.operations.length).toBe(301);
    const update = result.operations.find((o) => o.name === 'update0')!;
    const defs = (update.input_schema as { properties: { input: unknown }; $defs: Record<string, unknown> }).$defs;
    expect(Object.keys(defs).length).toBe(MAX_DEFS_PER_OPERATION);
    expect(JSON.stringify(defs)).toContain('not expanded');
    expect(result.warnings.some((w) => w.startsWith('mutation update0: input types past'))).toBe(true);
  });

  it('bounds the generated selection of every tool over wide object types', () => {
    const result = importGraphql(wideTypes(120, 3), undefined, { sourceName: 'wide' });
    const query = ((result.operations[0]!.target as unknown as { capability: { providers: { primary: { config: { body: { query: string } } } } } }).capability.providers.primary.config.body.query);
    const selected = query.match(/\bf\d+\b/g)!.length;
    expect(selected).toBeLessThanOrEqual(MAX_SELECTED_FIELDS);
    expect(result.warnings.some((w) => w.includes(`cut at ${MAX_SELECTED_FIELDS} fields`))).toBe(true);
  });

  it('refuses a source past IMPORT_MAX_OPERATIONS or IMPORT_MAX_SCHEMA_NODES with IMPORT_TOO_LARGE', () => {
    expect(codeOf(() => importGraphql(sharedInputGraph(50), undefined, { sourceName: 'x', limits: { maxOperations: 10, maxSchemaNodes: 1_000_000 } }))).toBe('IMPORT_TOO_LARGE');
    expect(codeOf(() => importGraphql(wideTypes(60, 20), undefined, { sourceName: 'x', limits: { maxOperations: 100, maxSchemaNodes: 5_000 } }))).toBe('IMPORT_TOO_LARGE');
    expect(codeOf(() => importGraphql(wideTypes(60, 20), undefined, { sourceName: 'x', limits: { maxOperations: 100, maxSchemaNodes: 1_000_000 } }))).toBeUndefined();
    expect(importLimits({ IMPORT_MAX_OPERATIONS: '7', IMPORT_MAX_SCHEMA_NODES: '9' })).toEqual({ maxOperations: 7, maxSchemaNodes: 9 });
    expect(codeOf(() => importLimits({ IMPORT_MAX_OPERATIONS: 'many' }))).toBe('CONFIG_INVALID');
  });

  it("plans GitHub's 1.2 MB SDL whole (no operation cut) and stops it at IMPORT_MAX_OPERATIONS from the environment", async () => {
    const plan = await planSource({ kind: 'graphql', file: GITHUB_SDL });
    expect(plan.drafts.length).toBe(278);
    expect(plan.warnings.filter((w) => /not expanded|selection was cut|input types past/.test(w))).toEqual([]);
    process.env.IMPORT_MAX_OPERATIONS = '100';
    try {
      await expect(planSource({ kind: 'graphql', file: GITHUB_SDL })).rejects.toMatchObject({ code: 'IMPORT_TOO_LARGE' });
    } finally {
      delete process.env.IMPORT_MAX_OPERATIONS;
    }
  }, 120_000);
});
