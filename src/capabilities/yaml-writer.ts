/**
 * Block-style YAML 1.2 for plain JSON data (what capability files hold), written directly.
 *
 * Why not a YAML library here: `cap import` writes thousands of files, and general emitters
 * (`yaml`, js-yaml) spend 0.5-2 s on GitHub's 1,223 — more than the whole budget. Plain JSON data
 * needs only mappings, sequences and scalars; every string that is not unmistakably plain is
 * written double-quoted with JSON escapes, which YAML 1.2 reads identically. Reading stays with
 * the `yaml` library, and the tests read back every file written for 1,300+ real operations.
 */

const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;
// Printable in YAML (c-printable) and unambiguous inside double quotes.
const NEEDS_ESCAPE = /[\u007F-\u009F\u2028\u2029\uFEFF\uFFFE\uFFFF]/g;

/** YAML text for a JSON value (object at the top), ending with a newline. */
export function toYaml(value: Record<string, unknown>): string {
  const out: string[] = [];
  writeMapping(value, 0, out);
  return out.join('');
}

function writeMapping(map: Record<string, unknown>, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const [key, value] of Object.entries(map)) {
    if (value === undefined) continue;
    out.push(pad, formatKey(key), ':');
    writeValue(value, indent, out);
  }
}

/** After `key:` or `-`: a scalar on the same line, or a nested collection below. */
function writeValue(value: unknown, indent: number, out: string[]): void {
  if (Array.isArray(value)) {
    if (value.length === 0) out.push(' []\n');
    else {
      out.push('\n');
      writeSequence(value, indent + 2, out);
    }
  } else if (value !== null && typeof value === 'object') {
    if (Object.keys(value).length === 0) out.push(' {}\n');
    else {
      out.push('\n');
      writeMapping(value as Record<string, unknown>, indent + 2, out);
    }
  } else if (typeof value === 'string' && isLiteralBlock(value)) {
    const pad = ' '.repeat(indent + 2);
    out.push(' |-\n');
    for (const line of value.split('\n')) out.push(line ? pad + line : '', '\n');
  } else out.push(' ', scalar(value), '\n');
}

function writeSequence(list: unknown[], indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const item of list) {
    if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > 0) {
      // `- key: value` with the following keys aligned under the first.
      const inner: string[] = [];
      writeMapping(item as Record<string, unknown>, indent + 2, inner);
      const text = inner.join('');
      out.push(pad, '- ', text.slice(indent + 2));
    } else if (Array.isArray(item) && item.length > 0) {
      out.push(pad, '-\n');
      writeSequence(item, indent + 2, out);
    } else {
      out.push(pad, '-');
      writeValue(item, indent, out);
    }
  }
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  const text = String(value);
  return isPlain(text) ? text : quote(text);
}

function formatKey(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$.-]*$/.test(key) && !RESERVED.test(key) ? key : quote(key);
}

function quote(text: string): string {
  return JSON.stringify(text).replace(NEEDS_ESCAPE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A plain scalar that every YAML reader takes as this exact string. */
function isPlain(text: string): boolean {
  return (
    /^[A-Za-z_/$][A-Za-z0-9 _./$@+=,()'"\\!?&%^*<>;:#{}[\]|`~-]*$/.test(text) &&
    !/[ :]$/.test(text) &&
    !text.includes(': ') &&
    !text.includes(' #') &&
    !text.includes('  ') &&
    !RESERVED.test(text)
  );
}

/** Multi-line text readable as a `|-` block: printable, no CR, no leading space, no blank-but-spaced lines. */
function isLiteralBlock(text: string): boolean {
  if (!text.includes('\n') || text.endsWith('\n') || /^[ \t\n]/.test(text)) return false;
  if (/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\uFEFF\uFFFE\uFFFF]/.test(text) || text.includes('\r')) return false;
  return !text.split('\n').some((line) => line.length > 0 && line.trim() === '');
}
