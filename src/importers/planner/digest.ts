import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** RFC 8785 (JCS) canonical JSON: the bytes every digest is taken over. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalized as JSON');
  return text;
}

/** SHA-256, hex, of the canonical JSON of a value. */
export function digest(value: unknown): string {
  return sha256(canonicalJson(value));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * An object's members, each already in canonical JSON. Large plans are digested piece by piece:
 * each member is canonicalized once and reused wherever the same object is digested again.
 */
export type CanonicalParts = Map<string, string>;

export function canonicalParts(object: Record<string, unknown>): CanonicalParts {
  const parts: CanonicalParts = new Map();
  for (const [key, value] of Object.entries(object)) if (value !== undefined) parts.set(key, canonicalJson(value));
  return parts;
}

/** The canonical JSON of an object from its members' canonical JSON (keys in RFC 8785 order). */
export function assemble(parts: CanonicalParts): string {
  const keys = [...parts.keys()].sort();
  return `{${keys.map((k) => `${canonicalJson(k)}:${parts.get(k)!}`).join(',')}}`;
}
