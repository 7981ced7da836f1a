import { AuthValueError, samePayload, type AuthCipher } from '../crypto/auth-value.js';
import { GatewayError, validationError } from '../errors.js';

/**
 * stdio gateways' `env` values are secrets (API keys, mostly): write-only and encrypted like
 * `auth_value`. The stored and returned `env` keeps the names with every value masked; the
 * values live in `env_value`, one AES-256-GCM encrypted JSON map (the same cipher and key as
 * `auth_value`, so export carries it and `export rekey` re-encrypts it).
 */
export const ENV_MASK = '********';

/** The stored form of a gateway's environment. */
export interface StoredEnv {
  env: Record<string, string>;
  env_value: string | null;
}

/**
 * Resolve a write's `env` / `env_value` against the stored gateway. A value equal to the mask
 * keeps the stored (or the given `env_value`'s) value of that name, so a GET body sent back with
 * PUT, or an export re-imported, changes nothing. `hasEnv` says the body named `env` at all:
 * with only `env_value`, its names are the environment.
 */
export function resolveEnv(
  input: { env?: Record<string, string>; env_value?: string | null },
  hasEnv: boolean,
  cipher: AuthCipher,
  current: StoredEnv | undefined,
  label: string,
): StoredEnv {
  let known: Record<string, string> = {};
  if (typeof input.env_value === 'string' && input.env_value !== '') {
    known = open(cipher, input.env_value, label, '$.env_value', 'AUTH_VALUE_UNDECRYPTABLE');
  } else if (current) {
    known = plainEnv(current, cipher);
  }
  const wanted = hasEnv ? (input.env ?? {}) : known;
  const result: Record<string, string> = {};
  const errors = [];
  for (const [name, value] of Object.entries(wanted)) {
    if (value === ENV_MASK) {
      if (known[name] === undefined) errors.push({ path: `$.env.${name}`, message: 'is masked, but no stored value of this name exists; send the value' });
      else result[name] = known[name]!;
    } else {
      result[name] = value;
    }
  }
  if (errors.length > 0) throw validationError(errors);
  if (Object.keys(result).length === 0) return { env: {}, env_value: null };
  const env = Object.fromEntries(Object.keys(result).map((name) => [name, ENV_MASK]));
  // The same values keep the same ciphertext: replaying an export changes nothing.
  for (const candidate of [input.env_value, current?.env_value]) {
    if (typeof candidate === 'string' && candidate !== '') {
      try {
        if (samePayload(cipher.decrypt(candidate), result)) return { env, env_value: candidate };
      } catch {
        // not ours: encrypt anew
      }
    }
  }
  return { env, env_value: cipher.encrypt(result) };
}

/**
 * The plaintext environment of a stored gateway, for spawning its child. Rows written before
 * values were encrypted hold plaintext in `env`: those values are used as they are.
 */
export function plainEnv(fields: { env?: unknown; env_value?: unknown }, cipher: AuthCipher): Record<string, string> {
  const result: Record<string, string> = {};
  const env = (fields.env ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string' && value !== ENV_MASK) result[name] = value;
  if (typeof fields.env_value === 'string' && fields.env_value !== '') {
    Object.assign(result, open(cipher, fields.env_value, 'gateway', '$.env_value', 'AUTH_VALUE_UNDECRYPTABLE'));
  }
  return result;
}

/** A stored gateway's `env` as it is shown: names, every value masked (legacy plaintext rows too). */
export function maskedEnv(env: unknown): Record<string, string> {
  if (env === null || typeof env !== 'object') return {};
  return Object.fromEntries(Object.keys(env).map((name) => [name, ENV_MASK]));
}

/**
 * Replace every occurrence of a known secret value in text (a child's stderr, an error) with
 * `***`. Values shorter than 4 characters are left alone: they would mask ordinary words.
 */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  const values = [...new Set([...secrets].filter((s) => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const value of values) out = out.split(value).join('***');
  return out;
}

function open(cipher: AuthCipher, value: string, label: string, path: string, code: 'AUTH_VALUE_UNDECRYPTABLE'): Record<string, string> {
  let payload: Record<string, unknown>;
  try {
    payload = cipher.decrypt(value);
  } catch (error) {
    const reason = error instanceof AuthValueError ? error.message.replace(/auth_value/g, 'env_value') : 'it cannot be decrypted';
    throw new GatewayError(code, `${label}: env_value cannot be used here: ${reason}`, [{ path, message: reason }]);
  }
  if (Object.values(payload).some((v) => typeof v !== 'string')) {
    throw validationError([{ path, message: 'decrypts, but not to a map of variable names to strings' }]);
  }
  return payload as Record<string, string>;
}
