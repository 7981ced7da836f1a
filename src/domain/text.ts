/**
 * Rules for untrusted text. Names are ASCII by their pattern; free text may be any Unicode, but
 * never NUL (PostgreSQL refuses it), lone surrogates, or the invisible characters used to make
 * text read differently than it is (bidi overrides, zero-width joiners in identifiers).
 */

/** The pattern every gateway, server, tool and prompt name matches (SPEC §4). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const NAME_RULE = 'must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-", starting with a letter or digit';

// Patterns shared by the zod schemas (entities.ts, capabilities/schema.ts) and the zod-free check
// of generated capabilities (capabilities/generated.ts), so the two cannot drift apart.
/** `env:VAR`: a credential read from the environment when a call is made, never written down. */
export const ENV_REF_PATTERN = /^env:[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** RFC 9110 token characters (header names, and cookie names, which are tokens too). */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** Header (and cookie) values: no CR, LF or NUL. */
export const HEADER_VALUE_PATTERN = /^[^\r\n\u0000]*$/;
export const MEDIA_TYPE_PATTERN = /^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/;
/** A capability's base_url: `https://api.example.com` (a `{variable}` may stand for a host label); no credentials. */
export const BASE_URL_PATTERN = /^https?:\/\/[^\s/?#@]+(\/[^\s?#]*)?$/i;
/** An XML element name (the root element of an XML body). */
export const XML_NAME_PATTERN = /^[A-Za-z_][\w.-]*$/;

// Bidi embeddings/overrides/isolates: the "Trojan Source" characters.
const BIDI = /[\u202A-\u202E\u2066-\u2069]/;
// Zero-width and invisible formatting characters, plus C0/C1 controls, for identifiers and tags.
const INVISIBLE = /[\u0000-\u001F\u007F-\u009F\u200B-\u200F\u2060-\u2064\uFEFF]/;
// Free text keeps tab, newline and carriage return.
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** Why a free-text value is unacceptable, or undefined if it is fine. */
export function textProblem(value: string): string | undefined {
  if (!value.isWellFormed()) return 'contains a lone surrogate (not well-formed Unicode)';
  if (CONTROL_IN_TEXT.test(value)) return 'contains a control character';
  if (BIDI.test(value)) return 'contains a bidirectional override character';
  return undefined;
}

/** Why an identifier-like value (tag, header name, URI) is unacceptable, or undefined. */
export function identifierProblem(value: string): string | undefined {
  if (!value.isWellFormed()) return 'contains a lone surrogate (not well-formed Unicode)';
  if (INVISIBLE.test(value)) return 'contains a control or invisible character';
  if (BIDI.test(value)) return 'contains a bidirectional override character';
  if (value.trim() !== value) return 'has leading or trailing white space';
  return undefined;
}

/**
 * Walk any JSON value and report the first string (key or value) that is not safe to store.
 * Used on whole request bodies so free-form JSON (schemas, templates) is covered too.
 */
export function findUnsafeString(value: unknown, path = '$'): { path: string; message: string } | undefined {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) return { path, message: 'contains a lone surrogate (not well-formed Unicode)' };
    if (value.includes('\u0000')) return { path, message: 'contains a NUL character' };
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeString(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const keyPath = jsonPath(path, key);
      if (!key.isWellFormed() || key.includes('\u0000')) {
        return { path: keyPath, message: 'key contains a NUL or lone surrogate' };
      }
      const found = findUnsafeString(inner, keyPath);
      if (found) return found;
    }
  }
  return undefined;
}

/** Whether findUnsafeString would find anything: the same walk without building paths (the common, clean case). */
export function hasUnsafeString(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000') || !value.isWellFormed();
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (hasUnsafeString(item)) return true;
    return false;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (key.includes('\u0000') || !key.isWellFormed() || hasUnsafeString((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/** Append a key to a JSON path: `$.a`, or `$["odd key"]` when the key is not an identifier. */
export function jsonPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}
