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

/** Verbs that mark an operation as destructive, wherever they stand in its name (`pageDelete`, `cartLinesRemove`). */
const DESTRUCTIVE_WORDS = new Set([
  'delete', 'deletes', 'remove', 'removes', 'destroy', 'destroys', 'purge', 'purges', 'drop', 'wipe', 'erase', 'revoke', 'revokes',
  'truncate', 'archive', 'unpublish', 'uninstall', 'terminate', 'discard', 'cancel', 'void', 'unlink', 'detach', 'expunge', 'deactivate', 'disable', 'reset', 'clear',
]);
/** Field names of a mutation's result that say something was deleted (`deletedId`, `deletedProductId`). */
const DELETED_RESULT = /^(deleted|removed|destroyed)[A-Z_]|^(deleted|removed)(Ids?)?$/;
/** Descriptions that say the operation deletes or cannot be undone. */
const DESTRUCTIVE_TEXT = /\b(deletes?|deleting|removes?|removing|destroys?|purges?|erases?|wipes?|revokes?|permanently|irreversibl[ey]|cannot be undone|can't be undone|uninstalls?|unpublish(es)?)\b/i;

export function soundsDestructive(name: string): boolean {
  return words(name).some((w) => DESTRUCTIVE_WORDS.has(w));
}

/** What an operation does, read from every clue the source gives; the reason it is destructive, or null. */
export function destructiveReason(clues: { name?: string; names?: string[]; method?: string; description?: string; returnType?: string; resultFields?: string[] }): string | null {
  if (clues.method?.toUpperCase() === 'DELETE') return 'HTTP DELETE';
  for (const name of [clues.name, ...(clues.names ?? [])]) {
    if (!name) continue;
    const hit = words(name).find((w) => DESTRUCTIVE_WORDS.has(w));
    if (hit) return `"${hit}" in the name "${name}"`;
  }
  if (clues.returnType) {
    const hit = words(clues.returnType).find((w) => DESTRUCTIVE_WORDS.has(w));
    if (hit) return `returns ${clues.returnType}`;
  }
  const field = clues.resultFields?.find((f) => DELETED_RESULT.test(f));
  if (field) return `its result has "${field}"`;
  const text = clues.description ? /^[^\n]{0,400}/.exec(clues.description)?.[0] : undefined;
  const said = text ? DESTRUCTIVE_TEXT.exec(text) : null;
  if (said) return `its description says "${said[0]}"`;
  return null;
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
    return renamed(item, name);
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
// Anything one of cleanText's steps acts on: markup, entities, CR, unsafe characters, spaces before a line break, three line breaks.
const NEEDS_CLEANING = /[<&\r\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]|[ \t]\n|\n\n\n/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Description text: HTML tags removed, entities decoded, white space tidied, capped. */
export function cleanText(text: string | undefined | null, max = 1024): string {
  if (!text) return '';
  // Most text has nothing the steps below change: then trimming and capping is all they do.
  let out = !NEEDS_CLEANING.test(text) && text.isWellFormed() ? text.trim() : text
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

/** An operation under a new name, renamed inside what it writes too (the capability or gateway it targets). */
function renamed<T extends { name: string }>(item: T, name: string): T {
  const target = (item as { target?: { type?: string; capability?: Record<string, unknown>; gateway?: Record<string, unknown> } }).target;
  if (target?.type === 'capability' && target.capability) return { ...item, name, target: { ...target, capability: { ...target.capability, name } } };
  if (target?.type === 'gateway' && target.gateway) return { ...item, name, target: { ...target, gateway: { ...target.gateway, name } } };
  return { ...item, name };
}
