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

/** Clean a description: strip HTML tags, collapse white space, cap the length. */
export function cleanText(text: string | undefined | null, max = 1024): string {
  if (!text) return '';
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/\s*\n\s*/g, '\n')
    .trim();
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
}
