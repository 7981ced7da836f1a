import { createHash } from 'node:crypto';

/** Words that mark an operation as acting broadly: bulk, wildcard or administrative. */
const BROAD_WORDS = new Set(['all', 'bulk', 'batch', 'mass', 'purge', 'wipe', 'admin', 'administrator', 'everything', 'wildcard']);

/** Split an identifier or path into lower-case words: `deleteAllIssues` → delete, all, issues. */
export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** Why a name or path reads as a broad-scope operation, or null. */
export function broadScope(...parts: string[]): string | null {
  for (const part of parts) {
    if (part.includes('*')) return `wildcard in "${part}"`;
    const hit = words(part).find((w) => BROAD_WORDS.has(w));
    if (hit) return `"${hit}" in "${part}" suggests a bulk or administrative operation`;
  }
  return null;
}

/** Words that mark an operation as destructive. */
const DESTRUCTIVE_WORDS = new Set(['delete', 'remove', 'destroy', 'purge', 'drop', 'wipe', 'erase', 'revoke', 'truncate', 'archive']);

export function soundsDestructive(name: string): boolean {
  const first = words(name)[0];
  return first !== undefined && DESTRUCTIVE_WORDS.has(first);
}

/**
 * A tool name: snake_case words, `^[a-z0-9][a-z0-9_]*$`, at most 64 characters; a longer one is cut
 * and given a deterministic 8-hex hash suffix of the full name, so two long names never collide.
 */
export function toolName(raw: string, prefix = ''): string {
  const base = [...words(prefix), ...words(raw)].join('_') || 'operation';
  const safe = /^[a-z0-9]/.test(base) ? base : `op_${base}`;
  if (safe.length <= 64) return safe;
  const hash = createHash('sha256').update(safe).digest('hex').slice(0, 8);
  return `${safe.slice(0, 55).replace(/_+$/, '')}_${hash}`;
}

/** Make names unique in order of appearance: the second `x` becomes `x_2` (kept ≤ 64). */
export function uniqueNames<T extends { name: string }>(items: T[], warnings: string[]): T[] {
  const seen = new Map<string, number>();
  return items.map((item) => {
    const count = (seen.get(item.name) ?? 0) + 1;
    seen.set(item.name, count);
    if (count === 1) return item;
    let name = `${item.name.slice(0, 60)}_${count}`;
    while (seen.has(name)) name = `${name}_`;
    seen.set(name, 1);
    warnings.push(`two operations map to the name "${item.name}"; the later one is named "${name}"`);
    return { ...item, name };
  });
}

/** Host names in a URL string (templated `{{var}}` parts make no host). */
export function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname || null;
  } catch {
    return null;
  }
}

/** `getUserById` → `get_user_by_id`, `repos/get-content` → `repos_get_content`, `HTTPServer` → `http_server`. */
export function snakeCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

// Characters a tool's free text may not hold (SPEC: no controls, no bidi overrides).
const UNSAFE_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]/g;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Description text: HTML tags removed, entities decoded, white space tidied, capped. */
export function cleanText(text: string | undefined | null, max = 1024): string {
  if (!text) return '';
  let out = text
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<br\s*\/?>|<\/p\s*>|<\/li\s*>/gi, '\n')
    .replace(/<[^>]{0,1000}>/g, '')
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, entity: string) => {
      if (entity[0] === '#') {
        const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[entity.toLowerCase()] ?? whole;
    })
    .toWellFormed()
    .replace(/\r\n?/g, '\n')
    .replace(UNSAFE_TEXT, '')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (out.length > max) out = `${out.slice(0, max - 1).trimEnd()}…`;
  return out;
}

/** `GitHub v3 REST API` + `bearerAuth` → `GITHUB_V3_REST_API_BEARER_AUTH` (an environment variable name). */
export function envName(...parts: string[]): string {
  const name = parts
    .map((p) => snakeCase(p).toUpperCase())
    .filter(Boolean)
    .join('_')
    .slice(0, 100)
    .replace(/_+$/, '');
  return /^[A-Z_]/.test(name) ? name : `API_${name}`;
}
