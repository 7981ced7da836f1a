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
  return mapping(value, 0);
}

const PADS: string[] = [];
function pad(indent: number): string {
  return (PADS[indent] ??= ' '.repeat(indent));
}

// Strings are built by concatenation: V8 joins them lazily, which beats collecting parts.
function mapping(map: Record<string, unknown>, indent: number): string {
  let out = '';
  for (const key in map) {
    const value = map[key];
    if (value === undefined) continue;
    out += pad(indent) + formatKey(key) + ':' + after(value, indent);
  }
  return out;
}

/** After `key:` or `-`: a scalar on the same line, or a nested collection below. */
function after(value: unknown, indent: number): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'string' && isLiteralBlock(value)) {
      const inner = pad(indent + 2);
      let out = ' |-\n';
      for (const line of value.split('\n')) out += line ? inner + line + '\n' : '\n';
      return out;
    }
    return ' ' + scalar(value) + '\n';
  }
  if (Array.isArray(value)) return value.length === 0 ? ' []\n' : '\n' + sequence(value, indent + 2);
  for (const _key in value) return '\n' + mapping(value as Record<string, unknown>, indent + 2);
  return ' {}\n';
}

function sequence(list: unknown[], indent: number): string {
  let out = '';
  for (const item of list) {
    if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > 0) {
      // `- key: value` with the following keys aligned under the first.
      out += pad(indent) + '- ' + mapping(item as Record<string, unknown>, indent + 2).slice(indent + 2);
    } else if (Array.isArray(item) && item.length > 0) {
      out += pad(indent) + '-\n' + sequence(item, indent + 2);
    } else {
      out += pad(indent) + '-' + after(item, indent);
    }
  }
  return out;
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  const text = String(value);
  return isPlain(text) ? text : quote(text);
}

// Keys repeat (type, properties, description…): each is judged once.
const KEYS = new Map<string, string>();
function formatKey(key: string): string {
  let formatted = KEYS.get(key);
  if (formatted === undefined) {
    formatted = /^[A-Za-z_$][A-Za-z0-9_$.-]*$/.test(key) && !RESERVED.test(key) ? key : quote(key);
    if (KEYS.size < 50_000) KEYS.set(key, formatted);
  }
  return formatted;
}

function quote(text: string): string {
  return JSON.stringify(text).replace(NEEDS_ESCAPE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A plain scalar that every YAML reader takes as this exact string. */
export function isPlain(text: string): boolean {
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
