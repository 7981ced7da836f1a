import { describe, expect, it } from 'vitest';
import { AuthCipher, AuthValueError, samePayload } from './auth-value.js';

// Vectors computed independently with Python's `cryptography` AESGCM (key = SHA-256 of the secret).
const SECRET = 'my-test-salt-0123456789abcdef01';
const NONCE = Buffer.from('000102030405060708090a0b', 'hex');
const BASIC_PAYLOAD = { Authorization: 'Basic YWRtaW46Y2hhbmdlbWU=' }; // admin:changeme
const BASIC_VECTOR = 'AAECAwQFBgcICQoLdtqkaI9H6lAHPp6oRHKqjM_0lW0E2vSNEvkicvDbD0546CJX6yL_70xqia5LeTGOaIbHkUr3I8xVYXfCxTs';
// The same payload as ContextForge's Python writes it: json.dumps with spaces.
const SPACED_VECTOR = 'AAECAwQFBgcICQoLdtqkaI9H6lAHPp6oRHKqjM_29U4WwP7Oa_cnVOXtbEwXg3hX4S3250Jfi8ZUJmLdDA4jk31Up4udYBVYN3ud';

describe('AuthCipher', () => {
  const cipher = new AuthCipher(SECRET);

  it('encrypts a known payload with a known nonce to the exact reference bytes', () => {
    expect(cipher.encrypt(BASIC_PAYLOAD, NONCE)).toBe(BASIC_VECTOR);
  });

  it('decrypts the reference vector to the payload', () => {
    expect(cipher.decrypt(BASIC_VECTOR)).toEqual(BASIC_PAYLOAD);
  });

  it('reads ContextForge spaced JSON as the same payload', () => {
    expect(cipher.decrypt(SPACED_VECTOR)).toEqual(BASIC_PAYLOAD);
    expect(SPACED_VECTOR).not.toBe(BASIC_VECTOR);
  });

  it('uses base64url without padding, laid out as nonce, ciphertext, tag', () => {
    const value = cipher.encrypt(BASIC_PAYLOAD);
    expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    const raw = Buffer.from(value, 'base64url');
    expect(raw.length).toBe(12 + JSON.stringify(BASIC_PAYLOAD).length + 16);
  });

  it('uses a fresh nonce each time, so equal payloads give different values', () => {
    expect(cipher.encrypt(BASIC_PAYLOAD)).not.toBe(cipher.encrypt(BASIC_PAYLOAD));
  });

  it('refuses a value made with another secret, with an error naming the cause and no plaintext', () => {
    const other = new AuthCipher('another-secret-0123456789abcdef0123');
    let caught: unknown;
    try {
      other.decrypt(BASIC_VECTOR);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AuthValueError);
    expect((caught as Error).message).toMatch(/wrong AUTH_ENCRYPTION_SECRET/);
    expect((caught as Error).message).not.toContain('YWRtaW46Y2hhbmdlbWU');
  });

  it('refuses a tampered value', () => {
    const raw = Buffer.from(BASIC_VECTOR, 'base64url');
    raw[20] = raw[20]! ^ 1;
    expect(() => cipher.decrypt(raw.toString('base64url'))).toThrow(AuthValueError);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'not base64!'],
    ['too short', 'AAECAwQFBgcICQoL'],
  ])('refuses a malformed value (%s)', (_label, value) => {
    expect(() => cipher.decrypt(value)).toThrow(AuthValueError);
  });

  it('refuses a value that decrypts to something other than a JSON object', () => {
    const arrayValue = cipher.encrypt([1, 2] as unknown as Record<string, unknown>, NONCE);
    expect(() => cipher.decrypt(arrayValue)).toThrow(/not to a JSON object/);
  });
});

describe('samePayload', () => {
  it('compares by meaning, ignoring key order', () => {
    expect(samePayload({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(samePayload({ a: '1' }, { a: '2' })).toBe(false);
  });
});
