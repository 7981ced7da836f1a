import { isObject } from './merge-patch.js';

/**
 * Where encrypted values sit in an export document (ours or ContextForge's), per kind: the one
 * walk `export rekey`, `import --rekey` and `POST /import`'s `rekey_secret` share. A path is a
 * dotted field list; `*` stands for every value of a map. Add a kind's new encrypted field here
 * and every re-encryption covers it.
 */
export const ENCRYPTED_FIELDS: Record<string, string[]> = {
  // Every kind that has credentials: our auth_value, and ContextForge's camelCase spelling.
  '*': ['auth_value', 'authValue'],
  // ContextForge keeps each query parameter credential encrypted on its own; stdio env values are one encrypted map (env_value).
  gateways: ['auth_query_params.*', 'authQueryParams.*', 'env_value'],
};

/** One encrypted string found in a document. */
export interface EncryptedValue {
  /** JSON path in the document, e.g. `$.entities.gateways[0].auth_query_params.api_key`. */
  path: string;
  /** The object's name (or URI), for messages. */
  label: string;
  value: string;
  /** Replace the value in the document. */
  set(next: string): void;
}

/** Every encrypted value in a native (`$.gateways[…]`) or ContextForge (`$.entities.gateways[…]`) document. */
export function encryptedValues(file: Record<string, unknown>, base = '$'): EncryptedValue[] {
  const contextForge = isObject(file.entities);
  const container = (contextForge ? file.entities : file) as Record<string, unknown>;
  const prefix = contextForge ? `${base}.entities` : base;
  const found: EncryptedValue[] = [];
  for (const [kind, list] of Object.entries(container)) {
    if (!Array.isArray(list)) continue;
    const fields = [...(ENCRYPTED_FIELDS['*'] ?? []), ...(ENCRYPTED_FIELDS[kind] ?? [])];
    list.forEach((object: unknown, index) => {
      if (!isObject(object)) return;
      const label = String(object.name ?? object.uri ?? '?');
      for (const field of fields) collect(object, field.split('.'), `${prefix}.${kind}[${index}]`, label, found);
    });
  }
  return found;
}

function collect(holder: Record<string, unknown>, steps: string[], path: string, label: string, found: EncryptedValue[]): void {
  const [step, ...rest] = steps;
  const keys = step === '*' ? Object.keys(holder) : step !== undefined && step in holder ? [step] : [];
  for (const key of keys) {
    const value = holder[key];
    const at = `${path}.${key}`;
    if (rest.length > 0) {
      if (isObject(value)) collect(value, rest, at, label, found);
    } else if (typeof value === 'string' && value !== '' && value !== '*****') {
      found.push({ path: at, label, value, set: (next) => (holder[key] = next) });
    }
  }
}
