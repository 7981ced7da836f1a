import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toYaml } from './yaml-writer.js';

const TRICKY = [
  '', ' ', 'a', '1.0', '0x1F', '-1', '.inf', 'true', 'False', 'null', '~', 'yes', 'on', 'y', 'N',
  'env:API_TOKEN', 'https://api.example.com/v1', '/items/{id}', '{body}', '[x]', '- item', '? q', 'a: b', 'a:', 'a #b', 'a#b', '#x',
  '*alias', '&anchor', '!tag', '|', '>', '%x', '@x', '`x`', "it's", 'say "hi"', 'back\\slash', 'tab\there', 'trailing ', ' leading',
  'line1\nline2', 'line1\n\nline3', '\nstarts with newline', 'ends with newline\n', 'spaced\n  \nblank', 'crlf\r\nline', 'nul\u0000x',
  'bell\u0007', 'nel\u0085x', 'bom\uFEFFx', 'ls\u2028x', 'emoji 😀', 'ümlaut', '---', '...', 'a  b', '<<', 'key: value\nmore: x',
  '  indented\nlines', '- a\n- b', '# heading\n\ntext', 'x\n\t\ttabbed',
];

describe('toYaml', () => {
  it.each(TRICKY.map((s) => [JSON.stringify(s), s]))('writes the string %s so YAML reads it back unchanged, as value and as key', (_label, text) => {
    const value = { v: text, [text]: 1, list: [text, { k: text, n: [text] }] };
    expect(parse(toYaml(value))).toEqual(value);
  });

  it('writes numbers, booleans, null and empty collections', () => {
    const value = { a: 0, b: -1.5e-7, c: 12345678901234, d: true, e: false, f: null, g: [], h: {}, i: [[], {}, [1, [2, []]], null] };
    expect(parse(toYaml(value))).toEqual(value);
  });

  it('reads back random strings unchanged', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const alphabet = 'ab :#-?[]{}!&*|>\'"%@`,\n\t\\/ .0123456789~=ü😀\u0085';
    const chars = Array.from(alphabet);
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: rand(12) }, () => chars[rand(chars.length)]).join('');
      const value = { [text || 'k']: text, l: [text] };
      expect(parse(toYaml(value)), JSON.stringify(text)).toEqual(value);
    }
  });

  it('uses plain scalars and literal blocks where they are safe, for people reading the files', () => {
    expect(toYaml({ fulcrum: '1.0', key: 'env:TOKEN', path: '/v1/items/{id}', body: '{body}', description: 'First\n\nSecond' })).toBe(
      'fulcrum: "1.0"\nkey: env:TOKEN\npath: /v1/items/{id}\nbody: "{body}"\ndescription: |-\n  First\n\n  Second\n',
    );
  });
});
