import { createHash } from 'node:crypto';

/**
 * Federated names (SPEC §3): `{prefix}{sep}{upstream name}`, always `^[a-zA-Z0-9_-]{1,64}$`.
 * A name that had to be changed (characters outside the set) or shortened gets a hash suffix of
 * the full intended name, so the result is deterministic and two different upstream names do
 * not fold onto one.
 */

export const MCP_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
export const MAX_NAME_LENGTH = 64;
export const DEFAULT_SEPARATOR = '__';
const HASH_CHARS = 8;

/** The prefix a gateway's names get: its name_prefix, else its name. */
export function gatewayPrefix(gateway: { name: string; name_prefix: string | null }): string {
  return gateway.name_prefix ?? gateway.name;
}

/** The MCP name for an upstream name, before collisions are considered. */
export function federatedName(prefix: string, separator: string, original: string): string {
  const intended = prefix === '' ? original : `${prefix}${separator}${original}`;
  if (MCP_NAME_PATTERN.test(intended)) return intended;
  return hashed(intended, intended);
}

/** A variant of `name` carrying a hash of `seed`: used to keep a colliding tool visible. */
export function disambiguated(name: string, seed: string): string {
  return hashed(name, `${seed}\u0000${name}`);
}

function hashed(intended: string, seed: string): string {
  const digest = createHash('sha256').update(seed, 'utf8').digest('hex').slice(0, HASH_CHARS);
  const safe = intended.replace(/[^a-zA-Z0-9_-]/g, '_');
  const head = safe.slice(0, MAX_NAME_LENGTH - HASH_CHARS - 1) || 'x';
  return `${head}_${digest}`;
}

/** A separator is 1–4 characters from the name set. */
export function validSeparator(separator: string): boolean {
  return /^[a-zA-Z0-9_-]{1,4}$/.test(separator);
}
