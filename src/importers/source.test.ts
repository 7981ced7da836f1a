import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeUtf8, parseJsonOrYaml, readTextFile } from './source.js';

const dir = mkdtempSync(join(tmpdir(), 'mcpgw-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('guards on untrusted documents', () => {
  it('refuses a YAML alias bomb without expanding it', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    expect(() => parseJsonOrYaml(lines.join('\n'), 'bomb.yaml')).toThrow(/alias bomb/);
  });

  it('refuses a file over the size cap before reading it', () => {
    const file = join(dir, 'big.json');
    writeFileSync(file, `{"pad":"${'x'.repeat(2000)}"}`);
    expect(() => readTextFile(file, 1000)).toThrow(/over the limit of 1000 bytes/);
  });

  it.each([
    ['JSON', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['YAML flow', `a: ${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['YAML block', Array.from({ length: 400 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' 1'],
  ])('refuses %s nested too deeply, without overflowing the stack', (_kind, text) => {
    expect(() => parseJsonOrYaml(text, 'deep')).toThrow(/nested (more than 256 levels|too deeply)/);
  });

  it('refuses bytes that are not UTF-8 and says where', () => {
    expect(() => decodeUtf8(Buffer.from([0x61, 0x62, 0xff, 0x63]), 'latin.yaml')).toThrow(/not valid UTF-8 \(first bad byte at offset 2\)/);
    expect(() => decodeUtf8(Buffer.from([0xff, 0xfe, 0x61, 0x00]), 'utf16.yaml')).toThrow(/UTF-16/);
  });

  it('drops a UTF-8 byte-order mark', () => {
    expect(decodeUtf8(Buffer.from([0xef, 0xbb, 0xbf, 0x61]), 'bom')).toBe('a');
  });

  it('reads JSON or YAML whatever the name, and names the line of a YAML syntax error', () => {
    expect(parseJsonOrYaml('{"a": 1}', 'x.yaml')).toEqual({ a: 1 });
    expect(parseJsonOrYaml('a: 1\nb: [2]', 'x.json')).toEqual({ a: 1, b: [2] });
    expect(() => parseJsonOrYaml('a: 1\nb: [2\nc: 3', 'x.yaml')).toThrow(/line \d+, column \d+/);
  });

  it('names a missing file plainly', () => {
    expect(() => readTextFile(join(dir, 'nope.yaml'))).toThrow(/cannot read .*nope\.yaml: no such file/);
  });
});
