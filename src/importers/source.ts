import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import type { Document, LineCounter } from 'yaml';
import { GatewayError } from '../errors.js';

/**
 * Reading untrusted documents (API descriptions, capability files) with guards: a size cap,
 * strict UTF-8, YAML alias limits, and a nesting limit, each a clear error rather than a hang,
 * an out-of-memory or a stack overflow.
 */

export { DEFAULT_MAX_BYTES } from './limits.js';
import { DEFAULT_MAX_BYTES } from './limits.js';
/** Deeper than any real API description (GitHub's reaches 22); keeps recursive walkers safe. */
export const MAX_DEPTH = 256;
const MAX_ALIASES = 100;

// The YAML parser loads on first use: a JSON document (most API descriptions) and a gateway whose
// capability files `cap import` wrote (read with js-yaml) never need it (some 9 MB resident).
const require = createRequire(import.meta.url);
let yamlModule: typeof import('yaml') | undefined;
/** The `yaml` library, loaded on first use. */
export const yaml = (): typeof import('yaml') => (yamlModule ??= require('yaml') as typeof import('yaml'));

/** Read a file as UTF-8 text, refusing anything over `maxBytes` before reading it. */
export function readTextFile(path: string, maxBytes = DEFAULT_MAX_BYTES): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(code ?? error);
    throw new GatewayError('DOCUMENT_UNREADABLE', `cannot read ${path}: ${why}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new GatewayError('DOCUMENT_UNREADABLE', `cannot read ${path}: not a regular file`);
    if (stat.size > maxBytes) {
      throw new GatewayError('DOCUMENT_REJECTED', `${path} is ${stat.size} bytes, over the limit of ${maxBytes} bytes (raise it with --max-bytes)`);
    }
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < stat.size) {
      const n = readSync(fd, buffer, read, stat.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return decodeUtf8(buffer.subarray(0, read), path);
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('DOCUMENT_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** Strict UTF-8 (a UTF-8 byte-order mark is dropped); any other encoding is refused with where. */
export function decodeUtf8(buffer: Buffer, label: string): string {
  if (buffer.length >= 2 && ((buffer[0] === 0xff && buffer[1] === 0xfe) || (buffer[0] === 0xfe && buffer[1] === 0xff))) {
    throw new GatewayError('DOCUMENT_REJECTED', `${label} is UTF-16 (byte-order mark); convert it to UTF-8`);
  }
  if (!isUtf8(buffer)) {
    const offset = firstInvalidUtf8(buffer);
    throw new GatewayError('DOCUMENT_REJECTED', `${label} is not valid UTF-8 (first bad byte at offset ${offset}); convert it to UTF-8`);
  }
  const text = buffer.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The offset of the first byte that breaks UTF-8, for the error message. */
function firstInvalidUtf8(buffer: Buffer): number {
  let i = 0;
  while (i < buffer.length) {
    const b = buffer[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > buffer.length) return i;
    if (len > 1 && !isUtf8(buffer.subarray(i, i + len))) return i;
    i += len;
  }
  return i;
}

/** A parsed YAML document with what is needed to point at lines. */
export interface YamlSource {
  doc: Document;
  lines: LineCounter;
}

/** Parse YAML with alias and nesting guards; syntax errors name the line and column. */
export function parseYaml(text: string, label: string): { value: unknown; source: YamlSource } {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, merge: true, uniqueKeys: true, prettyErrors: true, strict: true });
  } catch (error) {
    throw rejectDeep(error, label);
  }
  const first = doc.errors[0];
  if (first && /call stack/i.test(first.message)) {
    throw new GatewayError('DOCUMENT_REJECTED', `${label} is nested too deeply to parse; refusing to process it`);
  }
  if (first) {
    const pos = first.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
    throw new GatewayError('DOCUMENT_UNREADABLE', `${label} is not valid YAML or JSON (${where}): ${first.message.split('\n')[0]}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    const message = (error as Error).message ?? '';
    if (/alias/i.test(message)) {
      throw new GatewayError('DOCUMENT_REJECTED', `${label} uses YAML aliases excessively (an "alias bomb"); refusing to expand it`);
    }
    throw rejectDeep(error, label);
  }
  checkDepth(value, label);
  return { value, source: { doc, lines } };
}

/**
 * Parse a JSON or YAML document, whatever its file name says; JSON goes through the fast path.
 * `depthChecked: false` leaves the JSON nesting check to a caller that walks the value anyway.
 */
export function parseJsonOrYaml(text: string, label: string, options: { depthChecked?: boolean } = {}): unknown {
  const first = /\S/.exec(text)?.[0];
  if (first === '{' || first === '[') {
    try {
      const value: unknown = JSON.parse(text);
      if (options.depthChecked !== false) checkDepth(value, label);
      return value;
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      if (error instanceof RangeError) throw rejectDeep(error, label);
      // Not JSON after all (YAML flow style is a superset): let YAML say what is wrong.
    }
  }
  return parseYaml(text, label).value;
}

/** Refuse values nested deeper than MAX_DEPTH (walked without recursion). */
export function checkDepth(value: unknown, label: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > MAX_DEPTH) {
      throw new GatewayError('DOCUMENT_REJECTED', `${label} is nested more than ${MAX_DEPTH} levels deep; refusing to process it`);
    }
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}

function rejectDeep(error: unknown, label: string): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof RangeError) {
    return new GatewayError('DOCUMENT_REJECTED', `${label} is nested too deeply to parse; refusing to process it`);
  }
  return new GatewayError('DOCUMENT_UNREADABLE', `${label} cannot be parsed: ${(error as Error).message}`);
}
