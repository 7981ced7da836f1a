import { isPlain } from './yaml-writer.js';

/**
 * A reader for exactly the YAML that yaml-writer.ts writes (block mappings and sequences, plain
 * scalars the writer would leave plain, JSON-style double-quoted strings, `|-` blocks, `[]`, `{}`),
 * about fifty times faster than the general parser. Anything else — a comment after the header,
 * a flow collection, an anchor, a tab, an odd indent, a duplicate key — makes it answer undefined,
 * and the caller reads the file with the `yaml` library as before: a file written by hand gets the
 * full parser and its line-numbered errors. test/yaml-reader.test.ts holds it to the `yaml`
 * library's result on every file the importer writes and on a table of near misses.
 */

type Json = Record<string, unknown>;

class Unsupported extends Error {}

const KEY = /^[A-Za-z_$][A-Za-z0-9_$.-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;
const NUMBER = /^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,17})?([eE][-+]?[0-9]{1,3})?$/;
const QUOTED = /^"(?:[^"\\]|\\.)*"/;
// Raw characters the writer always escapes, and CR: their meaning differs between readers.
const FOREIGN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\uFEFF\uFFFE\uFFFF]/;

/** The value of a file in the writer's YAML, or undefined when the file is anything else. */
export function readWrittenYaml(text: string): Json | undefined {
  if (FOREIGN.test(text)) return undefined;
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('#')) i++;
  try {
    const reader = new Reader(lines, i);
    const value = reader.mapping(0);
    reader.end();
    return value;
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

class Reader {
  constructor(
    private readonly lines: string[],
    private i: number,
  ) {}

  end(): void {
    for (; this.i < this.lines.length; this.i++) if (this.lines[this.i] !== '') throw new Unsupported();
  }

  /** The indent of the next line that is not empty, or -1 at the end. */
  private peek(): number {
    while (this.i < this.lines.length && this.lines[this.i] === '') this.i++;
    if (this.i >= this.lines.length) return -1;
    const line = this.lines[this.i]!;
    let n = 0;
    while (line.charCodeAt(n) === 32) n++;
    if (line.includes('\t') || line[n] === '#') throw new Unsupported();
    return n;
  }

  /** Nesting this deep goes to the general parser, which has its own guard. */
  private depth = 0;

  private enter(): void {
    if (++this.depth > 64) throw new Unsupported();
  }

  mapping(indent: number): Json {
    this.enter();
    const out: Json = {};
    let first = true;
    while (this.peek() === indent) {
      const line = this.lines[this.i]!;
      const rest = line.slice(indent);
      if (rest.startsWith('-')) {
        if (first) throw new Unsupported();
        break;
      }
      first = false;
      let key: string;
      let after: string;
      if (rest[0] === '"') {
        const quoted = QUOTED.exec(rest);
        if (!quoted) throw new Unsupported();
        key = JSON.parse(quoted[0]) as string;
        after = rest.slice(quoted[0].length);
      } else {
        const colon = rest.indexOf(':');
        if (colon < 1) throw new Unsupported();
        key = rest.slice(0, colon);
        if (!KEY.test(key) || RESERVED.test(key)) throw new Unsupported();
        after = rest.slice(colon);
      }
      if (key === '__proto__' || key === '<<' || Object.hasOwn(out, key)) throw new Unsupported();
      if (after === ':') {
        this.i++;
        out[key] = this.nested(indent);
      } else if (after.startsWith(': ')) {
        this.i++;
        out[key] = this.inline(after.slice(2), indent);
      } else throw new Unsupported();
    }
    if (first) throw new Unsupported();
    this.depth--;
    return out;
  }

  private sequence(indent: number): unknown[] {
    this.enter();
    const out: unknown[] = [];
    while (this.peek() === indent) {
      const line = this.lines[this.i]!;
      const rest = line.slice(indent);
      if (rest === '-') {
        this.i++;
        if (this.peek() !== indent + 2 || !this.lines[this.i]!.slice(indent + 2).startsWith('-')) throw new Unsupported();
        out.push(this.sequence(indent + 2));
        continue;
      }
      if (!rest.startsWith('- ')) break;
      const item = rest.slice(2);
      if (startsWithKey(item)) {
        // `- key: value`: a mapping whose keys line up two columns in.
        this.lines[this.i] = ' '.repeat(indent + 2) + item;
        out.push(this.mapping(indent + 2));
      } else {
        this.i++;
        out.push(this.inline(item, indent));
      }
    }
    this.depth--;
    return out;
  }

  /** What follows `key:` on the next lines: a mapping or a sequence, two columns in. */
  private nested(indent: number): unknown {
    if (this.peek() !== indent + 2) throw new Unsupported();
    const next = this.lines[this.i]!.slice(indent + 2);
    return next === '-' || next.startsWith('- ') ? this.sequence(indent + 2) : this.mapping(indent + 2);
  }

  /** A value on the same line as its key or dash. */
  private inline(text: string, indent: number): unknown {
    if (text === '|-') return this.block(indent + 2);
    if (text === '[]') return [];
    if (text === '{}') return {};
    if (text === 'null') return null;
    if (text === 'true') return true;
    if (text === 'false') return false;
    if (NUMBER.test(text)) return Number(text);
    if (text[0] === '"') {
      const quoted = QUOTED.exec(text);
      if (!quoted || quoted[0].length !== text.length) throw new Unsupported();
      return JSON.parse(text) as string;
    }
    if (isPlain(text)) return text;
    throw new Unsupported();
  }

  /** A `|-` block: its lines `indent` columns in (the first exactly so), blank lines kept, the last line break stripped. */
  private block(indent: number): string {
    const parts: string[] = [];
    const pad = ' '.repeat(indent);
    for (; this.i < this.lines.length; this.i++) {
      const line = this.lines[this.i]!;
      if (line === '') {
        if (parts.length === 0) throw new Unsupported();
        parts.push('');
        continue;
      }
      if (!line.startsWith(pad)) break;
      if (parts.length === 0 && line.charCodeAt(indent) === 32) throw new Unsupported();
      if (line.trim() === '') throw new Unsupported();
      parts.push(line.slice(indent));
    }
    if (parts.length === 0) throw new Unsupported();
    while (parts.at(-1) === '') parts.pop();
    return parts.join('\n');
  }
}

/** Whether a sequence item starts with `key:` (a mapping item), as the writer writes keys. */
function startsWithKey(item: string): boolean {
  if (item[0] === '"') {
    const quoted = QUOTED.exec(item);
    if (!quoted) return false;
    const next = item.slice(quoted[0].length);
    return next === ':' || next.startsWith(': ');
  }
  const colon = item.indexOf(':');
  if (colon < 1) return false;
  const next = item.slice(colon);
  return KEY.test(item.slice(0, colon)) && (next === ':' || next.startsWith(': '));
}
