import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildASTSchema, buildClientSchema, parse, type IntrospectionQuery } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCapabilityText } from '../src/capabilities/file.js';
import { capabilitySchema } from '../src/capabilities/schema.js';
import { GatewayError } from '../src/errors.js';
import { activate, applyPlan, rollback } from '../src/importers/planner/apply.js';
import { digest } from '../src/importers/planner/digest.js';
import { draftDigest } from '../src/importers/planner/plan.js';
import { planSource } from '../src/importers/planner/preview.js';
import type { Draft, ImportKind, ImportPlan } from '../src/importers/planner/types.js';

const FIXTURES = join(process.cwd(), 'examples/import');
const GOLDEN = join(process.cwd(), 'test/golden/plans');
const BIN = join(process.cwd(), 'dist/cli/main.js');
const GITHUB_SDL = join(process.cwd(), 'node_modules/@octokit/graphql-schema/schema.graphql');
const GITHUB_JSON = join(process.cwd(), 'node_modules/@octokit/graphql-schema/schema.json');

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-plan-'));
  dirs.push(dir);
  return dir;
}

interface Cap {
  auth: unknown;
  providers: { primary: { config: Record<string, unknown> } };
}
/** The capability a draft would become (drafts of REST-like sources only). */
const capOf = (draft: Draft): Cap => {
  if (draft.target.type !== 'capability') throw new Error(`${draft.name} is not a capability draft`);
  return draft.target.capability as unknown as Cap;
};

const preview = (kind: ImportKind, file: string, extra: { endpoint?: string; sourceName?: string } = {}) => planSource({ kind, file, ...extra });
const verdicts = (plan: ImportPlan) => Object.fromEntries(plan.drafts.map((d) => [d.name, d.trust_card.activation_review.verdict]));
const byName = (plan: ImportPlan, name: string) => {
  const draft = plan.drafts.find((d) => d.name === name);
  if (!draft) throw new Error(`no draft ${name} in ${plan.drafts.map((d) => d.name).join(', ')}`);
  return draft;
};

function run(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('golden plans', () => {
  const cases: [string, ImportKind, string, { endpoint?: string }][] = [
    ['openapi-inventory', 'openapi', join(process.cwd(), 'examples/openapi/inventory.yaml'), {}],
    ['graphql-library', 'graphql', join(FIXTURES, 'library.graphql'), { endpoint: 'https://library.example.org/graphql' }],
    ['graphql-operations', 'graphql', join(FIXTURES, 'library-operations.yaml'), {}],
    ['postman-v21', 'postman', join(FIXTURES, 'postman-v21.json'), {}],
    ['postman-v20', 'postman', join(FIXTURES, 'postman-v20.json'), {}],
    ['oci-server-json', 'oci-mcp-package', join(FIXTURES, 'server.json'), {}],
    ['oci-flat', 'oci-mcp-package', join(FIXTURES, 'oci-flat.json'), {}],
  ];

  it.each(cases)('%s matches its committed plan (npm run golden:update refreshes)', async (name, kind, file, extra) => {
    const text = `${JSON.stringify(await preview(kind, file, extra), null, 2)}\n`;
    const golden = join(GOLDEN, `${name}.json`);
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(golden, text);
    }
    expect(text).toBe(readFileSync(golden, 'utf8'));
  });
});

describe('docs', () => {
  it('quote the manifest name the Postman example really gets (README and docs/import-planner.md)', () => {
    const plan = JSON.parse(readFileSync(join(GOLDEN, 'postman-v21.json'), 'utf8')) as ImportPlan;
    const name = `import-plan-${plan.plan_digest_sha256.slice(0, 12)}.manifest.json`;
    for (const doc of ['README.md', 'docs/import-planner.md']) {
      const quoted = [...readFileSync(join(process.cwd(), doc), 'utf8').matchAll(/import-plan-[0-9a-f]{12}\.manifest\.json/g)].map((m) => m[0]);
      expect(quoted.length, doc).toBeGreaterThan(0);
      expect(new Set(quoted), doc).toEqual(new Set([name]));
    }
  });
});

describe('determinism and digests', () => {
  it('gives byte-identical plans for the same input', async () => {
    const a = JSON.stringify(await preview('postman', join(FIXTURES, 'postman-v21.json')));
    const b = JSON.stringify(await preview('postman', join(FIXTURES, 'postman-v21.json')));
    expect(a).toBe(b);
  });

  it('gives the same digests when the source is only reformatted', async () => {
    const dir = tempDir();
    const original = JSON.parse(readFileSync(join(FIXTURES, 'postman-v21.json'), 'utf8')) as Record<string, unknown>;
    // Minified, and with the top-level keys in another order.
    const reordered = Object.fromEntries(Object.entries(original).reverse());
    writeFileSync(join(dir, 'postman-v21.json'), JSON.stringify(reordered));
    const a = await preview('postman', join(FIXTURES, 'postman-v21.json'));
    const b = await preview('postman', join(dir, 'postman-v21.json'));
    expect(b.source_digest_sha256).toBe(a.source_digest_sha256);
    expect(b.plan_digest_sha256).toBe(a.plan_digest_sha256);

    const sdl = readFileSync(join(FIXTURES, 'library.graphql'), 'utf8');
    writeFileSync(join(dir, 'library.graphql'), sdl.replace(/\n/g, '\n\n').replace(/ {2}/g, '\t'));
    const c = await preview('graphql', join(FIXTURES, 'library.graphql'));
    const d = await preview('graphql', join(dir, 'library.graphql'));
    expect(d.source_digest_sha256).toBe(c.source_digest_sha256);
  });

  it('changes the source digest when the content changes', async () => {
    const dir = tempDir();
    const original = readFileSync(join(FIXTURES, 'postman-v21.json'), 'utf8');
    writeFileSync(join(dir, 'postman-v21.json'), original.replace('"List orders"', '"List all the orders"'));
    const a = await preview('postman', join(FIXTURES, 'postman-v21.json'));
    const b = await preview('postman', join(dir, 'postman-v21.json'));
    expect(b.source_digest_sha256).not.toBe(a.source_digest_sha256);
  });

  it('records digests that are SHA-256 over RFC 8785 canonical JSON of the plan and each draft', async () => {
    const plan = await preview('graphql', join(FIXTURES, 'library.graphql'));
    const { plan_digest_sha256, ...rest } = plan;
    expect(plan_digest_sha256).toBe(digest(rest));
    for (const draft of plan.drafts) expect(draft.trust_card.draft_digest_sha256).toBe(draftDigest(draft));
  });

  it('writes no file and enables no draft', async () => {
    const dir = tempDir();
    cpSync(join(FIXTURES, 'postman-v21.json'), join(dir, 'c.json'));
    const plan = await preview('postman', join(dir, 'c.json'));
    expect(readdirSync(dir)).toEqual(['c.json']);
    expect(plan.drafts.every((d) => d.enabled === false && d.trust_card.activation_review.enabled_by_default === false)).toBe(true);
    expect(plan.safe_defaults).toMatchObject({ drafts_disabled: true, destructive_actions_confirm: true, rollback_required: true });
  });
});

describe('graphql', () => {
  it("gives one draft per root query and mutation field of GitHub's SDL, despite its duplicate fields", async () => {
    // Strict building rejects the SDL; count the root fields the lenient way, independently.
    const schema = buildASTSchema(parse(readFileSync(GITHUB_SDL, 'utf8')), { assumeValidSDL: true });
    const expected = Object.keys(schema.getQueryType()!.getFields()).length + Object.keys(schema.getMutationType()!.getFields()).length;
    const plan = await preview('graphql', GITHUB_SDL, { endpoint: 'https://api.github.com/graphql' });
    expect(plan.drafts).toHaveLength(expected);
    expect(expected).toBeGreaterThan(250);
    expect(plan.warnings.some((w) => /defined twice/.test(w))).toBe(true);
    for (const draft of plan.drafts) {
      const parsed = capabilitySchema.safeParse(draft.target.type === 'capability' ? draft.target.capability : null);
      expect(parsed.success, `${draft.name}: ${JSON.stringify(parsed.error?.issues[0])}`).toBe(true);
    }
  });

  it("gives one draft per root field of GitHub's introspection schema.json", async () => {
    const json = JSON.parse(readFileSync(GITHUB_JSON, 'utf8')) as { data?: IntrospectionQuery } & IntrospectionQuery;
    const schema = buildClientSchema(json.data ?? json);
    const expected = Object.keys(schema.getQueryType()!.getFields()).length + Object.keys(schema.getMutationType()!.getFields()).length;
    const plan = await preview('graphql', GITHUB_JSON, { endpoint: 'https://api.github.com/graphql' });
    expect(plan.drafts).toHaveLength(expected);
  });

  it('sends the variables on the wire, with a selection of scalar leaves bounded in depth', async () => {
    const plan = await preview('graphql', join(FIXTURES, 'library.graphql'), { endpoint: 'https://library.example.org/graphql' });
    const book = byName(plan, 'book');
    const config = capOf(book).providers.primary.config;
    expect(config).toMatchObject({ method: 'POST', base_url: 'https://library.example.org/graphql', response_path: '$.data.book' });
    const body = config.body as { query: string; variables: Record<string, string> };
    expect(body.variables).toEqual({ id: '{id}' });
    expect(body.query).toBe('query Book($id: ID!) { book(id: $id) { id title genre author { id name } } }');
    expect(book.input_schema).toEqual({ type: 'object', properties: { id: { type: 'string' } }, required: ['id'] });
  });

  it('keeps recursive input types through $defs', async () => {
    const plan = await preview('graphql', join(FIXTURES, 'library.graphql'));
    const books = byName(plan, 'books');
    expect(books.input_schema).toMatchObject({
      properties: { filter: { $ref: '#/$defs/BookFilter' } },
      $defs: { BookFilter: { properties: { and: { type: 'array', items: { $ref: '#/$defs/BookFilter' } } } } },
    });
  });

  it('recognises pagination: a list with first/after is bounded, one without is not', async () => {
    const plan = await preview('graphql', join(FIXTURES, 'library.graphql'));
    expect(byName(plan, 'books').risks.map((r) => r.kind)).toContain('unbounded_query');
    expect(byName(plan, 'members').risks.map((r) => r.kind)).not.toContain('unbounded_query');
  });

  it('reads an explicit operations list, with its auth as an env reference and deep selections flagged', async () => {
    const plan = await preview('graphql', join(FIXTURES, 'library-operations.yaml'));
    expect(plan.drafts.map((d) => d.name)).toEqual(['deep_loans', 'find_book', 'remove_book']);
    expect(byName(plan, 'deep_loans').risks.find((r) => r.kind === 'unbounded_query')?.reason).toMatch(/selection depth/);
    const cap = capOf(byName(plan, 'remove_book'));
    expect(cap.auth).toEqual({ required: true, type: 'bearer', key: 'env:LIBRARY_TOKEN' });
    expect(plan.source).toMatchObject({ license: 'MIT', provenance: expect.stringContaining('github.com/example') });
  });
});

describe('postman', () => {
  it.each(['postman-v21.json', 'postman-v20.json'])('turns every request of %s into a valid capability', async (file) => {
    const plan = await preview('postman', join(FIXTURES, file));
    for (const draft of plan.drafts) {
      expect(capabilitySchema.safeParse((draft.target as { capability: unknown }).capability).success, draft.name).toBe(true);
    }
  });

  it('resolves collection variables, keeps folders as tags, and makes path variables required inputs', async () => {
    const plan = await preview('postman', join(FIXTURES, 'postman-v21.json'));
    const get = byName(plan, 'get_order');
    expect(get.route.endpoint).toBe('https://api.shop.example.com/v1/orders/{orderId}');
    expect(get.tags).toEqual(['Orders', 'postman']);
    expect(get.input_schema).toEqual({ type: 'object', properties: { orderId: { type: 'string', default: 'ord_123' } }, required: ['orderId'] });
  });

  it('maps query parameters, headers, and raw JSON and urlencoded bodies', async () => {
    const plan = await preview('postman', join(FIXTURES, 'postman-v21.json'));
    const cfg = (name: string) => capOf(byName(plan, name)).providers.primary.config;
    expect(cfg('list_orders')).toMatchObject({ params: { status: '{status}', page: '{page}' }, headers: { Accept: 'application/json' } });
    expect(cfg('create_order').body).toEqual({ customer_id: '{customer_id}', quantity: '{quantity}', gift: '{gift}', items: '{items}' });
    expect(byName(plan, 'create_order').input_schema.properties).toMatchObject({ quantity: { type: 'integer', default: 2 }, gift: { type: 'boolean' } });
    expect(cfg('update_settings')).toMatchObject({ body_content_type: 'application/x-www-form-urlencoded', body: { currency: '{currency}', timezone: '{timezone}' } });
    expect(cfg('search').params).toEqual({ q: '{query}' });
  });

  it('carries collection, folder and request auth as env: references, never as values', async () => {
    const plan = await preview('postman', join(FIXTURES, 'postman-v21.json'));
    const auth = (name: string) => capOf(byName(plan, name)).auth;
    expect(auth('get_order')).toEqual({ required: true, type: 'bearer', key: 'env:ORDERS_TOKEN' });
    expect(auth('update_settings')).toEqual({ required: true, type: 'basic', username: 'env:ADMIN_USER', password: 'env:ADMIN_PASSWORD' });
    expect(auth('search')).toEqual({ required: true, type: 'api_key', in: 'header', name: 'X-Search-Key', key: 'env:SEARCH_KEY' });
    expect(auth('public_status')).toEqual({ required: false });
    const v20 = await preview('postman', join(FIXTURES, 'postman-v20.json'));
    expect(capOf(byName(v20, 'get_note')).auth).toEqual({ required: true, type: 'bearer', key: 'env:NOTES_TOKEN' });
    expect(capOf(byName(v20, 'export_with_key')).auth).toEqual({ required: true, type: 'api_key', in: 'query', name: 'api_key', key: 'env:EXPORT_KEY' });
  });

  it('never copies a literal credential into a draft', async () => {
    const dir = tempDir();
    const collection = JSON.parse(readFileSync(join(FIXTURES, 'postman-v21.json'), 'utf8')) as { auth: { bearer: { value: string }[] }; item: { item?: { request: { header?: { key: string; value: string }[] } }[] }[] };
    collection.auth.bearer[0]!.value = 'sk_live_literal_secret_123';
    collection.item[0]!.item![0]!.request.header!.push({ key: 'X-Api-Key', value: 'literal-header-secret-456' });
    collection.item[0]!.item![0]!.request.header!.push({ key: 'Authorization', value: 'Bearer literal-auth-789' });
    collection.item[0]!.item![0]!.request.header!.push({ key: 'X-Author', value: 'ada' });
    writeFileSync(join(dir, 'c.json'), JSON.stringify(collection));
    const plan = await preview('postman', join(dir, 'c.json'));
    const text = JSON.stringify(plan.drafts);
    expect(text).not.toContain('sk_live_literal_secret_123');
    expect(text).not.toContain('literal-header-secret-456');
    expect(text).not.toContain('literal-auth-789');
    // A header that only looks like one is kept.
    expect(capOf(byName(plan, 'list_orders')).providers.primary.config.headers).toMatchObject({ 'X-Author': 'ada' });
    expect(plan.warnings.some((w) => /literal bearer credential is not copied/.test(w))).toBe(true);
  });
});

describe('MCP package metadata', () => {
  it('turns a server.json with npm and oci packages and a remote into gateway registration drafts', async () => {
    const plan = await preview('oci-mcp-package', join(FIXTURES, 'server.json'));
    expect(plan.drafts.map((d) => [d.name, d.target.type])).toEqual([
      ['weather_npm', 'gateway'],
      ['weather_oci', 'gateway'],
      ['weather_remote_streamablehttp', 'gateway'],
    ]);
    const npm = byName(plan, 'weather_npm');
    expect((npm.target as { gateway: unknown }).gateway).toMatchObject({ transport: 'stdio', command: 'npx', args: ['-y', '@example/weather-mcp@1.4.2'], env: { WEATHER_API_KEY: 'env:WEATHER_API_KEY' } });
    // Unpinned npm package: a provenance gap; the oci image is pinned by digest.
    expect(npm.risks.find((r) => r.kind === 'missing_provenance')?.reason).toMatch(/not pinned/);
    expect(byName(plan, 'weather_oci').risks.map((r) => r.kind)).not.toContain('missing_provenance');
    expect(npm.risks.find((r) => r.kind === 'sensitive_data')?.reason).toMatch(/WEATHER_API_KEY/);
    expect(plan.review_gates.map((g) => g.kind)).toEqual(['missing_license']);
  });

  it('blocks every tool of a package whose digest does not match its image reference', async () => {
    const plan = await preview('oci-mcp-package', join(FIXTURES, 'oci-flat.json'));
    expect(verdicts(plan)).toEqual({ files_delete_file: 'blocked', files_read_file: 'blocked' });
    expect(plan.review_gates.map((g) => [g.kind, g.level])).toEqual([['digest_mismatch', 'critical']]);
  });
});

describe('bad sources', () => {
  it.each([
    ['postman', '{"info":{"schema":"https://example.com/other"},"item":[]}', /\$\.info\.schema/],
    ['postman', '[1,2]', /\$: a Postman collection must be a JSON object/],
    ['graphql', 'type Query { broken(', /not GraphQL SDL/],
    ['graphql', 'endpoint: not-a-url\noperations: []\n', /\$\.endpoint/],
    ['oci-mcp-package', '{"packages":[{"registryType":"npm"}]}', /\$\.name/],
    ['oci-mcp-package', '{"name":"x","packages":[{"registryType":"cargo","identifier":"x"}]}', /\$\.packages\[0\]\.registryType/],
    ['openapi', '{"info":{}}', /neither "openapi" nor "swagger"/],
  ] as [ImportKind, string, RegExp][])('refuses a bad %s source naming what is wrong', async (kind, text, message) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad'), text);
    const error = await planSource({ kind, file: join(dir, 'bad') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('apply, activate, rollback', () => {
  async function applied() {
    const dir = tempDir();
    const plan = await preview('postman', join(FIXTURES, 'postman-v21.json'));
    const result = applyPlan(plan, join(dir, 'drafts'));
    return { dir, plan, ...result };
  }

  it('writes every draft disabled, with a header naming source, digests, gates and risks, and a manifest', async () => {
    const { dir, plan, manifest, manifestPath } = await applied();
    expect(manifestPath).toBe(join(dir, 'drafts', `import-plan-${plan.plan_digest_sha256.slice(0, 12)}.manifest.json`));
    expect(manifest.written.map((w) => w.file).sort()).toEqual(plan.drafts.map((d) => `${d.name}.yaml`).sort());
    for (const w of manifest.written) {
      const text = readFileSync(join(dir, 'drafts', w.file), 'utf8');
      const check = parseCapabilityText(text, w.file);
      expect(check.ok && check.capability.enabled).toBe(false);
      expect(text).toContain(`# Plan digest: ${plan.plan_digest_sha256}`);
      expect(text).toMatch(/# Verdict: /);
    }
    expect(manifest.gate_counts.blocked_drafts).toBe(1);
    expect(manifest.rollback.command).toMatch(/mcpgateway import rollback .*manifest\.json/);
  });

  it('answers WRITE_FAILED, not a system error, when the drafts folder cannot be made', async () => {
    const dir = tempDir();
    const plan = await preview('postman', join(FIXTURES, 'postman-v21.json'));
    writeFileSync(join(dir, 'a-file'), 'x');
    expect(() => applyPlan(plan, join(dir, 'a-file', 'drafts'))).toThrow(expect.objectContaining({ code: 'WRITE_FAILED', message: expect.stringMatching(/^cannot write .*a-file\/drafts: ENOTDIR/) }));
  });

  it('refuses to overwrite without --force and writes nothing', async () => {
    const { dir, plan } = await applied();
    const before = readdirSync(join(dir, 'drafts')).sort();
    writeFileSync(join(dir, 'drafts', 'get_order.yaml'), 'edited by hand\n');
    expect(() => applyPlan(plan, join(dir, 'drafts'))).toThrow(/would overwrite/);
    expect(readFileSync(join(dir, 'drafts', 'get_order.yaml'), 'utf8')).toBe('edited by hand\n');
    expect(readdirSync(join(dir, 'drafts')).sort()).toEqual(before);
    applyPlan(plan, join(dir, 'drafts'), { force: true });
    expect(readFileSync(join(dir, 'drafts', 'get_order.yaml'), 'utf8')).toContain('fulcrum');
  });

  it('records package drafts as skipped, with the reason', async () => {
    const dir = tempDir();
    const { manifest } = applyPlan(await preview('oci-mcp-package', join(FIXTURES, 'server.json')), dir);
    expect(manifest.written).toEqual([]);
    expect(manifest.skipped.map((s) => s.draft)).toEqual(['weather_npm', 'weather_oci', 'weather_remote_streamablehttp']);
    expect(manifest.skipped[0]!.reason).toMatch(/gateway registrations/);
  });

  it('never writes outside the output directory, whatever a draft is named', async () => {
    const dir = tempDir();
    const plan = await preview('postman', join(FIXTURES, 'postman-v21.json'));
    const evil = structuredClone(plan);
    evil.drafts[0]!.name = '../escaped';
    expect(() => applyPlan(evil, join(dir, 'out'))).toThrow(/refusing the file name/);
    expect(existsSync(join(dir, 'escaped.yaml'))).toBe(false);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('refuses a manifest that points outside its directory', async () => {
    const { dir, manifestPath } = await applied();
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { written: { file: string }[] };
    writeFileSync(join(dir, 'victim.txt'), 'keep me');
    manifest.written[0]!.file = '../victim.txt';
    writeFileSync(manifestPath, JSON.stringify(manifest));
    expect(() => rollback(manifestPath, { force: true })).toThrow(/refusing the file name/);
    expect(readFileSync(join(dir, 'victim.txt'), 'utf8')).toBe('keep me');
  });

  it('rolls back exactly what apply wrote, keeping other files and edited drafts', async () => {
    const { dir, manifest, manifestPath } = await applied();
    writeFileSync(join(dir, 'drafts', 'notes.txt'), 'mine');
    writeFileSync(join(dir, 'drafts', 'get_order.yaml'), `${readFileSync(join(dir, 'drafts', 'get_order.yaml'), 'utf8')}# reviewed\n`);
    const first = rollback(manifestPath);
    expect(first.removed).toHaveLength(manifest.written.length - 1);
    expect(first.kept).toEqual([expect.stringContaining('get_order.yaml')]);
    expect(readdirSync(join(dir, 'drafts')).sort()).toEqual(['get_order.yaml', manifestPath.split('/').pop()!, 'notes.txt'].sort());
    const second = rollback(manifestPath, { force: true });
    expect(second.kept).toEqual([]);
    expect(readdirSync(join(dir, 'drafts'))).toEqual(['notes.txt']);
  });

  it('activates approved drafts enabled into the capability directory and appends an audit record', async () => {
    const { dir, plan, manifestPath } = await applied();
    const capDir = join(dir, 'capabilities');
    const result = activate(manifestPath, { drafts: ['get_order'], approve: true, capabilityDir: capDir, actor: 'alice', now: new Date('2026-11-21T10:00:00Z') });
    expect(result.activated).toEqual([join(capDir, 'get_order.yaml')]);
    const check = parseCapabilityText(readFileSync(join(capDir, 'get_order.yaml'), 'utf8'), 'get_order.yaml');
    expect(check.ok && check.capability.enabled).toBe(true);
    expect(existsSync(join(dir, 'drafts', 'get_order.yaml'))).toBe(false);
    const audit = readFileSync(join(capDir, 'capability-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit).toEqual([
      expect.objectContaining({ at: '2026-11-21T10:00:00.000Z', actor: 'alice', action: 'activate', plan_digest_sha256: plan.plan_digest_sha256, drafts: [expect.objectContaining({ name: 'get_order', hand_edited: false })] }),
    ]);
    // Rollback after activation leaves the active capability alone.
    rollback(manifestPath);
    expect(existsSync(join(capDir, 'get_order.yaml'))).toBe(true);
  });

  it('refuses without --approve, refuses blocked drafts, and moves nothing in either case', async () => {
    const { dir, manifestPath } = await applied();
    const capDir = join(dir, 'capabilities');
    expect(() => activate(manifestPath, { approve: false, capabilityDir: capDir, actor: 'a' })).toThrow(/--approve/);
    expect(() => activate(manifestPath, { drafts: ['get_order', 'purge_all_orders'], approve: true, capabilityDir: capDir, actor: 'a' })).toThrow(/blocked drafts cannot be approved: purge_all_orders/);
    expect(existsSync(capDir)).toBe(false);
    expect(existsSync(join(dir, 'drafts', 'get_order.yaml'))).toBe(true);
  });

  it('validates a hand-edited draft before activating it, and records that it was edited', async () => {
    const { dir, manifestPath } = await applied();
    const capDir = join(dir, 'capabilities');
    const file = join(dir, 'drafts', 'list_orders.yaml');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('method: GET', 'method: FETCH'));
    expect(() => activate(manifestPath, { drafts: ['list_orders'], approve: true, capabilityDir: capDir, actor: 'a' })).toThrow(/does not pass cap validate/);
    writeFileSync(file, original.replace('description: ', 'description: Reviewed. '));
    activate(manifestPath, { drafts: ['list_orders'], approve: true, capabilityDir: capDir, actor: 'a' });
    const audit = JSON.parse(readFileSync(join(capDir, 'capability-audit.jsonl'), 'utf8')) as { drafts: { hand_edited: boolean; reviewed_sha256: string; applied_sha256: string }[] };
    expect(audit.drafts[0]!.hand_edited).toBe(true);
    expect(audit.drafts[0]!.reviewed_sha256).not.toBe(audit.drafts[0]!.applied_sha256);
  });
});

describe('mcpgateway import preview/apply/activate/rollback (CLI)', () => {
  it('previews in each format and writes nothing', () => {
    const dir = tempDir();
    for (const format of ['table', 'json', 'plain']) {
      const result = run(['import', 'preview', '--kind', 'postman', join(FIXTURES, 'postman-v21.json'), '-f', format], dir);
      expect(result.code, result.stderr).toBe(0);
      if (format === 'json') expect((JSON.parse(result.stdout) as ImportPlan).drafts).toHaveLength(8);
      if (format === 'plain') expect(result.stdout).toMatch(/^draft\tpurge_all_orders\tblocked\tcritical\t/m);
      if (format === 'table') expect(result.stdout).toMatch(/Drafts: +8 \(all disabled\): 0 ready, 7 need review, 1 blocked/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('applies, refuses a second apply with exit 1, activates with --approve, rolls back', () => {
    const dir = tempDir();
    const fixture = join(FIXTURES, 'postman-v21.json');
    const apply = run(['import', 'apply', '--kind', 'postman', fixture, '-f', 'plain'], dir);
    expect(apply.code, apply.stderr).toBe(0);
    const manifest = /^manifest\t(.+)$/m.exec(apply.stdout)![1]!;
    const again = run(['import', 'apply', '--kind', 'postman', fixture], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/would overwrite .* nothing was written/);
    expect(run(['import', 'activate', manifest, '--draft', 'get_order'], dir).code).toBe(1);
    const ok = run(['import', 'activate', manifest, '--draft', 'get_order', '--approve', '--actor', 'ci'], dir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(dir, 'capabilities', 'get_order.yaml'))).toBe(true);
    const back = run(['import', 'rollback', manifest, '--actor', 'ci-undo'], dir);
    expect(back.code, back.stderr).toBe(0);
    expect(existsSync(join(dir, 'capability-drafts'))).toBe(false);
    // The rollback is recorded next to the activation, one draft entry per draft removed.
    const records = readFileSync(join(dir, 'capabilities', 'capability-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; actor: string; drafts: { name: string }[] });
    expect(records.map((r) => [r.action, r.actor])).toEqual([['activate', 'ci'], ['rollback', 'ci-undo']]);
    const removedDrafts = back.stdout.split('\n').filter((l) => /^removed\t.*\.yaml$/.test(l)).length;
    expect(records[1]!.drafts).toHaveLength(removedDrafts);
    expect(records[1]!.drafts.map((d) => d.name)).not.toContain('get_order');
  });

  it('exits 2 for an unknown kind and 1 with a clear message for a missing file', () => {
    const dir = tempDir();
    const kind = run(['import', 'preview', '--kind', 'soap', 'x.wsdl'], dir);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/Allowed choices are openapi, graphql, postman, oci-mcp-package/);
    const missing = run(['import', 'preview', '--kind', 'postman', 'missing.json'], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read missing\.json: no such file/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});
