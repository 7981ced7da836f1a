import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { IMPORTERS, readSource } from '../src/importers/index.js';
import { planSource } from '../src/importers/planner/preview.js';
import { IMPORT_KINDS, type ImportKind, type ImporterInput } from '../src/importers/planner/types.js';

// One case suite, run on every kind of importer through the one Importer interface: what holds for
// one holds for all (a good source, an empty one, one of another kind, garbage, a missing file, one
// over the size limit), and every refusal (through readSource, as the planner reads) is a coded
// error naming the file, never a TypeError.

const EXAMPLES = join(import.meta.dirname, '..', 'examples', 'import');
const GOOD: Record<ImportKind, string> = {
  openapi: join(import.meta.dirname, '..', 'node_modules', '@readme', 'oas-examples', '3.0', 'json', 'petstore-expanded.json'),
  graphql: join(EXAMPLES, 'library.graphql'),
  postman: join(EXAMPLES, 'postman-v21.json'),
  'oci-mcp-package': join(EXAMPLES, 'server.json'),
};
/** A well-formed file of each kind that is none of the others. */
const OTHER: Record<ImportKind, ImportKind> = { openapi: 'postman', graphql: 'openapi', postman: 'oci-mcp-package', 'oci-mcp-package': 'postman' };

const dir = mkdtempSync(join(tmpdir(), 'importers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function input(file: string, extra: Partial<ImporterInput> = {}): ImporterInput {
  return { file, sourceName: 'case', maxBytes: 8 * 1024 * 1024, ...extra };
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function refusal(kind: ImportKind, file: string, extra: Partial<ImporterInput> = {}): Promise<GatewayError> {
  const error = await readSource(kind, input(file, extra)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${kind} read ${file}`).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

describe.each(IMPORT_KINDS)('the %s importer', (kind) => {
  /** The one code for "not a source of this kind"; OpenAPI's is shared with `cap import`. */
  const NOT_OF_KIND = kind === 'openapi' ? 'OPENAPI_INVALID' : 'IMPORT_SOURCE_INVALID';

  it('is registered under its own kind', () => {
    expect(IMPORTERS[kind].kind).toBe(kind);
  });

  it('reads a good source into operations with unique valid names, the same twice', async () => {
    const first = await IMPORTERS[kind].read(input(GOOD[kind]));
    expect(first.source).toMatchObject({ kind, name: 'case', uri: null });
    expect(first.operations.length).toBeGreaterThan(0);
    const names = first.operations.map((o) => o.name);
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,128}$/);
    expect(new Set(names).size).toBe(names.length);
    expect(Array.isArray(first.warnings)).toBe(true);
    expect(await IMPORTERS[kind].read(input(GOOD[kind]))).toEqual(first);
  });

  it('plans a good source into drafts that are all disabled', async () => {
    const plan = await planSource({ kind, file: GOOD[kind] });
    expect(plan.drafts.length).toBeGreaterThan(0);
    for (const draft of plan.drafts) if (draft.target.type === 'capability') expect(draft.target.capability.enabled).toBe(false);
  });

  it('refuses an empty file with a coded error naming it', async () => {
    const file = write(`empty-${kind}`, '');
    const error = await refusal(kind, file);
    expect([NOT_OF_KIND, 'DOCUMENT_UNREADABLE']).toContain(error.code);
    expect(error.message).toContain(file);
  });

  it('refuses garbage with a coded error', async () => {
    const file = write(`garbage-${kind}`, '{"unterminated": [1, 2,\n\u0000');
    const error = await refusal(kind, file);
    expect([NOT_OF_KIND, 'DOCUMENT_UNREADABLE']).toContain(error.code);
    expect(error.message).toContain(file);
  });

  it('refuses a well-formed source of another kind with a coded error', async () => {
    const file = write(`other-${kind}`, readFileSync(GOOD[OTHER[kind]], 'utf8'));
    const error = await refusal(kind, file);
    expect(error.code).toBe(NOT_OF_KIND);
    expect(error.message).toContain(file);
  });

  it('refuses a missing file with a coded error naming it', async () => {
    const error = await refusal(kind, join(dir, `missing-${kind}.json`));
    expect(error.code).toBe('DOCUMENT_UNREADABLE');
    expect(error.message).toContain(`missing-${kind}.json`);
  });

  it('refuses a source over the size limit before parsing it', async () => {
    const error = await refusal(kind, GOOD[kind], { maxBytes: 64 });
    expect(error.code).toBe('DOCUMENT_REJECTED');
    expect(error.message).toContain(GOOD[kind]);
    expect(error.message).toMatch(/\b64\b/);
  });
});
