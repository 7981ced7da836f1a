import { AuthCipher, AuthValueError, samePayload, type AuthPayload } from '../crypto/auth-value.js';
import type { AuthType } from '../domain/entities.js';
import { GatewayError, validationError, type FieldError } from '../errors.js';

/** The credential part of a validated write body: plaintext fields still present. */
export interface CredentialInput {
  auth_type?: AuthType;
  auth_value?: string | null;
  auth_username?: string;
  auth_password?: string;
  auth_token?: string;
  auth_headers?: Record<string, string>;
  auth_query_params?: Record<string, string>;
  auth_oauth2?: { token_url: string; client_id: string; client_secret: string; scope?: string };
}

/** What is stored: the type and the encrypted value, never plaintext. */
export interface StoredCredentials {
  auth_type: AuthType;
  auth_value: string | null;
}

type PlainFamily = Exclude<AuthType, 'none'>;

/**
 * Turn write-only plaintext credentials (or a foreign `auth_value`) into the stored form.
 * `current` is the object's stored credentials: when the new payload means the same, its
 * `auth_value` is kept, so replaying an export or re-sending a password changes nothing.
 * `label` names the object in messages (never the secret).
 */
export function resolveCredentials(
  input: CredentialInput,
  cipher: AuthCipher,
  current: StoredCredentials | undefined,
  label: string,
): StoredCredentials {
  const errors: FieldError[] = [];
  const families = plaintextFamilies(input);
  if (families.length > 1) {
    errors.push({ path: '$', message: `credentials for more than one auth_type given (${families.join(', ')})` });
  }
  const family = families[0];
  const declared = input.auth_type;
  if (family && declared && declared !== family) {
    errors.push({ path: '$.auth_type', message: `is "${declared}" but ${family} credentials were given` });
  }
  if (family && input.auth_value) {
    errors.push({ path: '$.auth_value', message: 'give either auth_value or plaintext credentials, not both' });
  }
  if (errors.length > 0) throw validationError(errors);

  const authType: AuthType = family ?? declared ?? 'none';
  if (authType === 'none') {
    if (input.auth_value) throw validationError([{ path: '$.auth_type', message: 'is required with auth_value (basic, bearer, headers, oauth2 or query_param)' }]);
    return { auth_type: 'none', auth_value: null };
  }

  let payload: AuthPayload;
  if (family) {
    payload = payloadFor(family, input);
  } else if (input.auth_value) {
    try {
      payload = cipher.decrypt(input.auth_value);
    } catch (error) {
      const reason = error instanceof AuthValueError ? error.message : 'it cannot be decrypted';
      throw new GatewayError('AUTH_VALUE_UNDECRYPTABLE', `${label}: auth_value cannot be used here: ${reason}`, [
        { path: '$.auth_value', message: reason },
      ]);
    }
    checkPayloadShape(authType, payload);
  } else {
    throw validationError([{ path: '$', message: `auth_type "${authType}" needs ${requiredFields(authType)} (or an auth_value)` }]);
  }

  if (current && current.auth_type === authType && current.auth_value) {
    try {
      if (samePayload(cipher.decrypt(current.auth_value), payload)) return current;
    } catch {
      // The stored value no longer decrypts (the secret changed): replace it.
    }
  }
  // A foreign auth_value that decrypts here is kept byte for byte.
  const value = !family && input.auth_value ? input.auth_value : cipher.encrypt(payload);
  return { auth_type: authType, auth_value: value };
}

function plaintextFamilies(input: CredentialInput): PlainFamily[] {
  const found: PlainFamily[] = [];
  if (input.auth_username !== undefined || input.auth_password !== undefined) found.push('basic');
  if (input.auth_token !== undefined) found.push('bearer');
  if (input.auth_headers !== undefined) found.push('headers');
  if (input.auth_query_params !== undefined) found.push('query_param');
  if (input.auth_oauth2 !== undefined) found.push('oauth2');
  return found;
}

function payloadFor(family: PlainFamily, input: CredentialInput): AuthPayload {
  switch (family) {
    case 'basic': {
      if (input.auth_username === undefined || input.auth_password === undefined) {
        throw validationError([{ path: '$', message: 'basic auth needs both auth_username and auth_password' }]);
      }
      const encoded = Buffer.from(`${input.auth_username}:${input.auth_password}`, 'utf8').toString('base64');
      return { Authorization: `Basic ${encoded}` };
    }
    case 'bearer':
      return { Authorization: `Bearer ${input.auth_token}` };
    case 'headers': {
      const headers = input.auth_headers ?? {};
      if (Object.keys(headers).length === 0) throw validationError([{ path: '$.auth_headers', message: 'must name at least one header' }]);
      return { ...headers };
    }
    case 'query_param': {
      const params = input.auth_query_params ?? {};
      if (Object.keys(params).length === 0) throw validationError([{ path: '$.auth_query_params', message: 'must name at least one query parameter' }]);
      return { ...params };
    }
    case 'oauth2':
      return { ...input.auth_oauth2 };
  }
}

function requiredFields(type: PlainFamily): string {
  return {
    basic: 'auth_username and auth_password',
    bearer: 'auth_token',
    headers: 'auth_headers',
    query_param: 'auth_query_params',
    oauth2: 'auth_oauth2',
  }[type];
}

function checkPayloadShape(type: PlainFamily, payload: AuthPayload): void {
  const problem = (message: string) => validationError([{ path: '$.auth_value', message }]);
  if (type === 'oauth2') {
    if (typeof payload.client_id !== 'string' || typeof payload.token_url !== 'string') {
      throw problem('decrypts, but not to an oauth2 configuration (token_url, client_id, client_secret)');
    }
    return;
  }
  const values = Object.values(payload);
  if (values.length === 0 || values.some((v) => typeof v !== 'string')) {
    throw problem(type === 'query_param' ? 'decrypts, but not to a map of query parameter names to strings' : 'decrypts, but not to a map of header names to strings');
  }
  const authorization = Object.entries(payload).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  if (type === 'basic' && !(typeof authorization === 'string' && /^Basic /i.test(authorization))) {
    throw problem('decrypts, but holds no "Authorization: Basic" header for auth_type basic');
  }
  if (type === 'bearer' && !(typeof authorization === 'string' && /^Bearer /i.test(authorization))) {
    throw problem('decrypts, but holds no "Authorization: Bearer" header for auth_type bearer');
  }
}
