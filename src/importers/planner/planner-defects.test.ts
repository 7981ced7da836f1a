import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCapabilityText } from '../../capabilities/file.js';
import { runValidate } from '../../cli/cap-validate.js';
import { importGraphql } from '../graphql/index.js';
import { importOciPackage } from '../oci/index.js';
import { importPostman } from '../postman/index.js';
import { activate, applyPlan } from './apply.js';
import { buildPlan } from './plan.js';
import type { ImporterResult } from './types.js';

const V21 = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'i15-plan-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const plan = (r: ImporterResult) => buildPlan(r.source, r.document, r.operations, { warnings: r.warnings });

/** Apply a plan, then check every written draft with the capability validator and activate them all. */
function applyAndActivate(r: ImporterResult) {
  const p = plan(r);
  const out = tempDir();
  const { manifest, manifestPath } = applyPlan(p, out);
  for (const w of manifest.written) {
    const check = parseCapabilityText(readFileSync(join(out, w.file), 'utf8'), w.file);
    expect(check.ok, JSON.stringify(check)).toBe(true);
    if (check.ok) expect(check.capability.name).toBe(w.draft);
  }
  const ready = manifest.written.filter((w) => w.verdict !== 'blocked').map((w) => w.draft);
  if (ready.length > 0) activate(manifestPath, { drafts: ready, approve: true, capabilityDir: tempDir(), actor: 'test' });
  return { p, manifest, out };
}

describe('renamed drafts are renamed inside their files', () => {
  it('Postman: two requests with one name', () => {
    const r = importPostman(
      {
        info: { name: 'c', schema: V21 },
        item: [
          { name: 'List pets', request: { method: 'GET', url: 'https://api.example.com/pets' } },
          { name: 'List pets', request: { method: 'GET', url: 'https://api.example.com/v2/pets' } },
        ],
      },
      { sourceName: 'c' },
    );
    expect(r.operations.map((o) => [o.name, (o.target as unknown as { capability: { name: string } }).capability.name])).toEqual([
      ['list_pets', 'list_pets'],
      ['list_pets_2', 'list_pets_2'],
    ]);
    const { manifest } = applyAndActivate(r);
    expect(manifest.written.map((w) => w.draft).sort()).toEqual(['list_pets', 'list_pets_2']);
  });

  it('GraphQL operation lists: two operations with one name', () => {
    const list = {
      endpoint: 'https://api.example.com/graphql',
      operations: [
        { name: 'getBook', query: 'query getBook($id: ID!) { book(id: $id) { title } }' },
        { name: 'getBook', query: 'query getBook($isbn: String!) { bookByIsbn(isbn: $isbn) { title } }' },
      ],
    };
    const r = importGraphql('', list, { sourceName: 'ops' });
    expect(r.operations.map((o) => (o.target as unknown as { capability: { name: string } }).capability.name)).toEqual(r.operations.map((o) => o.name));
    applyAndActivate(r);
  });

  it('server.json: two packages of one type', () => {
    const r = importOciPackage(
      {
        name: 'io.example/weather',
        packages: [
          { registryType: 'npm', identifier: '@example/weather', version: '1.0.0' },
          { registryType: 'npm', identifier: '@example/weather-beta', version: '2.0.0' },
        ],
      },
      { sourceName: 'server' },
    );
    expect(r.operations.map((o) => [o.name, (o.target as unknown as { gateway: { name: string } }).gateway.name])).toEqual([
      ['weather_npm', 'weather_npm'],
      ['weather_npm_2', 'weather_npm_2'],
    ]);
  });
});

describe('preview and apply agree on what is valid', () => {
  it('a draft whose capability apply would refuse is not in the plan, and the plan says why', () => {
    const r = importPostman(
      {
        info: { name: 'c', schema: V21 },
        item: [
          { name: 'Good', request: { method: 'GET', url: 'https://api.example.com/good' } },
          { name: 'Bad header', request: { method: 'GET', url: 'https://api.example.com/bad', header: [{ key: 'Bad Header', value: 'x' }] } },
        ],
      },
      { sourceName: 'c' },
    );
    const { p, manifest } = applyAndActivate(r);
    expect(p.drafts.map((d) => d.name)).toEqual(['good']);
    expect(p.warnings.join('\n')).toMatch(/draft "bad_header" left out: the generated capability is invalid/);
    expect(manifest.skipped).toEqual([]);
  });
});

describe('Postman and server.json inputs that used to fail', () => {
  it('a Postman request without a name is named after its method and path', () => {
    const r = importPostman({ info: { name: 'c', schema: V21 }, item: [{ request: { method: 'DELETE', url: 'https://api.example.com/pets/:id' } }] }, { sourceName: 'c' });
    expect(r.operations.map((o) => o.name)).toEqual(['delete_pets_id']);
    expect(r.operations[0]!.facts.destructive).toBe(true);
  });

  it('server.json: nuget and mcpb packages are skipped with a warning; arguments are kept, secrets as env: references', () => {
    const r = importOciPackage(
      {
        name: 'io.example/search',
        packages: [
          { registryType: 'nuget', identifier: 'Example.Search', version: '1.0.0' },
          { registryType: 'mcpb', identifier: 'https://example.com/search.mcpb', version: '1.0.0' },
          {
            registryType: 'npm',
            identifier: '@example/search',
            version: '1.2.3',
            runtimeArguments: [{ type: 'named', name: '--node-options', value: '--max-old-space-size=512' }],
            packageArguments: [
              { type: 'positional', value: 'serve' },
              { type: 'named', name: '--api-key', isRequired: true, isSecret: true, description: 'the key' },
              { type: 'named', name: '--region', value: '{region}', variables: { region: { default: 'eu' } } },
              { type: 'named', name: '--token', value: 'Bearer {token}', variables: { token: { isSecret: true } } },
            ],
          },
        ],
      },
      { sourceName: 'server' },
    );
    expect(r.warnings.filter((w) => /is not npm, pypi or oci; this package is skipped/.test(w))).toHaveLength(2);
    expect(r.operations).toHaveLength(1);
    const gateway = (r.operations[0]!.target as unknown as { gateway: { args: string[] } }).gateway;
    expect(gateway.args).toEqual(['-y', '--node-options', '--max-old-space-size=512', '@example/search@1.2.3', 'serve', '--api-key', 'env:SEARCH_API_KEY', '--region', 'eu', '--token', 'Bearer env:SEARCH_TOKEN']);
    expect(r.operations[0]!.input_schema).toMatchObject({ properties: { SEARCH_API_KEY: { format: 'password' }, SEARCH_TOKEN: { format: 'password' } }, required: ['SEARCH_API_KEY', 'SEARCH_TOKEN'] });
  });
});

describe('cap validate on an apply folder', () => {
  it('checks the drafts and leaves the manifest alone', () => {
    const r = importPostman({ info: { name: 'c', schema: V21 }, item: [{ name: 'Ping', request: { method: 'GET', url: 'https://api.example.com/ping' } }] }, { sourceName: 'c' });
    const out = tempDir();
    applyPlan(plan(r), out);
    expect(readdirSync(out).some((f) => f.endsWith('.manifest.json'))).toBe(true);
    const write = process.stdout.write;
    let printed = '';
    process.stdout.write = ((chunk: string) => {
      printed += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      expect(runValidate([out])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(printed).toMatch(/1 file checked: 1 valid, 0 invalid/);
  });
});
