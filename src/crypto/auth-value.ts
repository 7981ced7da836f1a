import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * `auth_value` encoding (SPEC §6), compatible with IBM ContextForge:
 * base64url without padding of nonce(12) ‖ ciphertext ‖ tag(16), AES-256-GCM,
 * key = SHA-256 of the UTF-8 secret, plaintext = compact JSON of what is sent upstream.
 */

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Raised when an auth_value cannot be opened; never carries plaintext or key material. */
export class AuthValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthValueError';
  }
}

/** The credential payload: header map for basic/bearer/headers, a config object for oauth2. */
export type AuthPayload = Record<string, unknown>;

/** A key derived once from the secret; holds no plaintext secret. */
export class AuthCipher {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHash('sha256').update(secret, 'utf8').digest();
  }

  /** Encrypt a payload as compact JSON. `nonce` is for test vectors only. */
  encrypt(payload: AuthPayload, nonce: Buffer = randomBytes(NONCE_BYTES)): string {
    if (nonce.length !== NONCE_BYTES) throw new AuthValueError('nonce must be 12 bytes');
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** Decrypt and parse; throws AuthValueError on a wrong key, tampering or a malformed value. */
  decrypt(authValue: string): AuthPayload {
    if (typeof authValue !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(authValue)) {
      throw new AuthValueError('auth_value is not base64url text');
    }
    const raw = Buffer.from(authValue, 'base64url');
    if (raw.length < NONCE_BYTES + TAG_BYTES + 1) throw new AuthValueError('auth_value is too short');
    const nonce = raw.subarray(0, NONCE_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const body = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
    let text: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, nonce);
      decipher.setAuthTag(tag);
      text = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new AuthValueError('auth_value does not decrypt with this secret (wrong AUTH_ENCRYPTION_SECRET, or the value was altered)');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AuthValueError('auth_value decrypts, but not to JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new AuthValueError('auth_value decrypts, but not to a JSON object');
    }
    return parsed as AuthPayload;
  }

  /** True if the value opens with this key. */
  opens(authValue: string): boolean {
    try {
      this.decrypt(authValue);
      return true;
    } catch {
      return false;
    }
  }
}

/** Compare two payloads by meaning (parsed JSON), not bytes: older files use spaced JSON. */
export function samePayload(a: AuthPayload, b: AuthPayload): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
