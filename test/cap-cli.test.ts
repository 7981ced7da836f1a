import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(process.cwd(), 'dist/cli/main.js');
const INVENTORY = join(process.cwd(), 'examples/openapi/inventory.yaml');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-cap-'));
  dirs.push(dir);
  return dir;
}

function run(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function noStackTrace(output: string): void {
  expect(output).not.toMatch(/\n\s+at /);
}

describe('mcpgateway cap', () => {
  it.each([[['cap', '--help']], [['cap', 'import', '--help']], [['cap', 'validate', '--help']], [['cap', 'test', '--help']]])('answers %j with usage and exit 0', (args) => {
    const result = run(args);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: mcpgateway cap/);
  });
});

describe('mcpgateway cap import', () => {
  it('writes one file per operation, prints a summary, and every file passes cap validate', () => {
    const out = join(tempDir(), 'caps');
    const result = run(['cap', 'import', INVENTORY, '-o', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Inventory 1\.2\.0 \(openapi 3\.1\.0\): 8 operations found, 8 written to .*caps\/, 0 skipped\n/);
    expect(readdirSync(out).sort()).toEqual([
      'create_item.yaml', 'delete_item.yaml', 'get_category_tree.yaml', 'get_item.yaml', 'health.yaml', 'list_items.yaml', 'post_search.yaml', 'upload_item_photo.yaml',
    ]);
    const validate = run(['cap', 'validate', out]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toBe('8 files checked: 8 valid, 0 invalid\n');
  });

  it('never writes a credential: every secret is an env: reference', () => {
    const out = join(tempDir(), 'caps');
    expect(run(['cap', 'import', INVENTORY, '-o', out, '--auth-key', 'env:INVENTORY_TOKEN']).code).toBe(0);
    const text = readFileSync(join(out, 'list_items.yaml'), 'utf8');
    expect(text).toMatch(/auth:\n {2}required: true\n {2}type: bearer\n {2}key: env:INVENTORY_TOKEN\n/);
  });

  it('refuses to replace existing files without --force, and writes nothing', () => {
    const out = join(tempDir(), 'caps');
    expect(run(['cap', 'import', INVENTORY, '-o', out, '--operation', 'getItem']).code).toBe(0);
    const again = run(['cap', 'import', INVENTORY, '-o', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/1 file already exist.*nothing was written\. Use --force/);
    expect(readdirSync(out)).toEqual(['get_item.yaml']);
    expect(run(['cap', 'import', INVENTORY, '-o', out, '--force']).code).toBe(0);
    expect(readdirSync(out)).toHaveLength(8);
  });

  it('applies --include-tags, --exclude-tags, --read-only and --prefix, and lists what it skipped', () => {
    const out = join(tempDir(), 'caps');
    const result = run(['cap', 'import', INVENTORY, '-o', out, '--include-tags', 'items', '--exclude-tags', 'admin', '--read-only', '-p', 'inv']);
    expect(result.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['inv_get_item.yaml', 'inv_list_items.yaml']);
    expect(result.stdout).toMatch(/skipped:\n {2}POST \/items: not read-only \(--read-only\)\n/);
    expect(result.stdout).toMatch(/GET \/categories: no tag in --include-tags/);
  });

  it.each([
    [['--auth-key', 'ghp_plaintext'], /--auth-key must be an environment reference/],
    [['--prefix', 'bad prefix!'], /--prefix must be/],
    [['--max-bytes', 'lots'], /--max-bytes must be a positive whole number/],
  ])('exits 2 on a bad flag %j', (flags, message) => {
    const result = run(['cap', 'import', INVENTORY, '-o', join(tempDir(), 'caps'), ...flags]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  describe('bad documents: a clear error, exit 1, no stack trace', () => {
    const write = (name: string, content: string | Buffer) => {
      const file = join(tempDir(), name);
      writeFileSync(file, content);
      return file;
    };
    it.each([
      ['a missing file', () => '/nonexistent/spec.yaml', /cannot read \/nonexistent\/spec\.yaml: no such file/],
      ['non-UTF-8 bytes', () => write('latin1.yaml', Buffer.from('openapi: 3.0.0\ninfo: {title: "Caf\xe9"}\n', 'latin1')), /not valid UTF-8 \(first bad byte at offset \d+\)/],
      [
        'a YAML alias bomb',
        () => write('bomb.yaml', ['openapi: 3.0.0', 'a: &a [x,x,x,x,x,x,x,x,x]', ...'bcdefghijk'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghijk'[i]}`).join(',')}]`)].join('\n')),
        /alias bomb/,
      ],
      ['a document over --max-bytes', () => INVENTORY, /over the limit of 100 bytes/, ['--max-bytes', '100']],
      ['deep nesting', () => write('deep.json', `{"openapi":"3.0.0","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`), /nested more than 256 levels/],
      ['not an API description', () => write('other.yaml', 'asyncapi: 2.0.0\n'), /neither "openapi" nor "swagger"/],
      ['broken YAML', () => write('broken.yaml', 'openapi: 3.0.0\npaths: [\n'), /not valid YAML or JSON \(line \d+, column \d+\)/],
      [
        'an external $ref without --allow-remote-refs',
        () => write('ext.yaml', 'openapi: 3.0.0\ninfo: {title: x, version: "1"}\npaths:\n  /a:\n    get:\n      responses:\n        "200": {$ref: "https://example.com/r.yaml"}\n'),
        /\$ref "https:\/\/example\.com\/r\.yaml" at \$\.paths\["\/a"\]\.get\.responses\["200"\]\); import with --allow-remote-refs/,
      ],
    ] as [string, () => string, RegExp, string[]?][])('%s', (_what, file, message, extra = []) => {
      const result = run(['cap', 'import', file(), '-o', join(tempDir(), 'caps'), ...extra]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      noStackTrace(result.stderr);
    });
  });

  it('resolves $refs to local files with --allow-remote-refs', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pet.yaml'), 'type: object\nproperties:\n  name: {type: string}\n');
    writeFileSync(
      join(dir, 'api.yaml'),
      'openapi: 3.0.0\ninfo: {title: Split, version: "1"}\nservers: [{url: "https://split.example.com"}]\npaths:\n  /pet:\n    get:\n      operationId: getPet\n      responses:\n        "200":\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: "./pet.yaml"}\n',
    );
    const result = run(['cap', 'import', join(dir, 'api.yaml'), '-o', join(dir, 'caps'), '--allow-remote-refs']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, 'caps', 'get_pet.yaml'), 'utf8')).toMatch(/name:\n\s+type: string/);
  });

  it('reports validation problems and imports anyway; --strict refuses', () => {
    const spec = join(process.cwd(), 'node_modules/@readme/oas-examples/3.0/json/openapi-workshop/post.json');
    const lenient = run(['cap', 'import', spec, '-o', join(tempDir(), 'caps'), '--validate']);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/warnings:\n {2}validation: /);
    const strict = run(['cap', 'import', spec, '-o', join(tempDir(), 'caps'), '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/fails OpenAPI validation/);
  });
});

describe('mcpgateway cap import: the default structural checks', () => {
  it('report unresolved $refs and bad parameter definitions without the full validator; --strict refuses them', () => {
    const dir = tempDir();
    const spec = join(dir, 'broken.json');
    writeFileSync(
      spec,
      JSON.stringify({
        openapi: '3.0.3',
        info: { title: 'Broken', version: '1' },
        servers: [{ url: 'https://api.example.com' }],
        paths: {
          '/things/{id}': {
            get: {
              operationId: 'getThing',
              parameters: [{ name: 'id', in: 'path', schema: { type: 'string' } }, { name: 'q', in: 'body' }],
              responses: { 200: { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Missing' } } } } },
            },
          },
        },
      }),
    );
    const lenient = run(['cap', 'import', spec, '-o', join(dir, 'caps')]);
    expect(lenient.stdout).toMatch(/validation: \$ref "#\/components\/schemas\/Missing" points at nothing/);
    expect(lenient.stdout).toMatch(/validation: paths\["\/things\/\{id\}"\]\.get\.parameters\[0\]: path parameter "id" must be required: true/);
    expect(lenient.stdout).toMatch(/parameters\[1\] \("q"\) is in "body"/);
    const unchecked = run(['cap', 'import', spec, '-o', join(dir, 'caps2'), '--no-validate']);
    expect(unchecked.stdout).not.toMatch(/validation:/);
    const refused = run(['cap', 'import', spec, '-o', join(dir, 'caps3'), '--strict']);
    expect(refused.code).toBe(1);
    expect(existsSync(join(dir, 'caps3'))).toBe(false);
  });
});

describe('mcpgateway cap validate', () => {
  it('passes the capability files under examples/', () => {
    const result = run(['cap', 'validate', join(process.cwd(), 'examples/capabilities')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  const good = readFileSync(join(process.cwd(), 'test/golden/inventory/get_item.yaml'), 'utf8');

  it('names the file, line and path of each problem and exits 1', () => {
    const dir = tempDir();
    const bad = good.replace('      method: GET', '      method: FETCH').replace('enabled: true', 'enabled: true\ncolour: blue');
    writeFileSync(join(dir, 'bad.yaml'), bad);
    const lines = bad.split('\n');
    const methodLine = lines.findIndex((l) => l.includes('method: FETCH')) + 1;
    const colourLine = lines.findIndex((l) => l.startsWith('colour:')) + 1;
    const result = run(['cap', 'validate', join(dir, 'bad.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`bad.yaml:${methodLine}: $.providers.primary.config.method: `);
    expect(result.stderr).toContain(`bad.yaml:${colourLine}: $: unknown field: colour`);
    expect(result.stdout).toBe('1 file checked: 0 valid, 1 invalid\n');
  });

  it('refuses a credential written into the file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'secret.yaml'), good.replace('key: env:INVENTORY_BEARER_AUTH', 'key: ghp_0123456789'));
    const result = run(['cap', 'validate', join(dir, 'secret.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/secret\.yaml:\d+: \$\.auth(\.key)?: .*env:/);
  });

  it('finds two files that give the same tool name', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), good);
    writeFileSync(join(dir, 'b.yaml'), good);
    const result = run(['cap', 'validate', join(dir, 'a.yaml'), join(dir, 'b.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/b\.yaml: \$\.name: "get_item" is also the name in .*a\.yaml/);
  });

  it('reports an unreadable or non-YAML file without a stack trace', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x.yaml'), 'a: [\n');
    const result = run(['cap', 'validate', join(dir, 'x.yaml'), join(dir, 'missing.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/x\.yaml:\d+: \$: .*not valid YAML/);
    expect(result.stderr).toMatch(/missing\.yaml: \$: cannot read .*no such file/);
    noStackTrace(result.stderr);
  });
});
