import type { CredentialRef } from './entities.js';

/**
 * `env:VAR` credential references. A capability file's author controls the host, so a file may
 * name any variable but the gateway's own settings; a tool stored through the Admin API may only
 * name variables the operator allowed (ENV_REF_ALLOWLIST), or an API user could have the gateway
 * send its environment to a URL of their choosing.
 */

/** The gateway's own secrets and settings: never sent to an API, whoever asks. */
export const GATEWAY_VARIABLES: ReadonlySet<string> = new Set([
  'AUTH_ENCRYPTION_SECRET',
  'OLD_AUTH_ENCRYPTION_SECRET',
  'JWT_SECRET_KEY',
  'BASIC_AUTH_USER',
  'BASIC_AUTH_PASSWORD',
  'DATABASE_URL',
  'TEST_DATABASE_URL',
  'REDIS_URL',
  'MCPGATEWAY_BEARER_TOKEN',
  'MCPGATEWAY_BASIC_AUTH',
]);

/** Every variable a reference names, with the field it is in. */
export function referencedVariables(ref: CredentialRef): { field: string; name: string }[] {
  return Object.entries(ref)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].startsWith('env:'))
    .map(([field, value]) => ({ field, name: value.slice('env:'.length) }));
}

/** Whether an allow-list (names, or prefixes ending in `*`) admits a variable. */
export function allowedByList(name: string, allowlist: readonly string[]): boolean {
  if (GATEWAY_VARIABLES.has(name)) return false;
  return allowlist.some((entry) => (entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : name === entry));
}
