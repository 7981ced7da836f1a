import { AuthCipher } from '../../crypto/auth-value.js';
import { encryptedValues } from '../../domain/encrypted-fields.js';
import { isObject } from '../../domain/merge-patch.js';
import { GatewayError, type FieldError } from '../../errors.js';
import { readDocument, type ReadDocument } from './import-document.js';
import { CONFLICT_MODES, type ConflictMode } from './import-plan.js';
import { selectDocument, selectionFromBody, type Dependency } from './import-select.js';

/**
 * `POST /import` bodies: our export document (options in the query), or ContextForge's
 * `{import_data, conflict_strategy, dry_run, rekey_secret, selected_entities}` (its
 * mcpgateway/main.py `import_configuration`), options in the body.
 */
export interface ImportRequest {
  read: ReadDocument;
  dryRun: boolean;
  conflict: ConflictMode;
  dependencies: Dependency[];
}

const BODY_FIELDS = ['import_data', 'conflict_strategy', 'dry_run', 'rekey_secret', 'selected_entities'];

/** True for ContextForge's request shape. */
export function isContextForgeRequest(body: unknown): body is Record<string, unknown> {
  return isObject(body) && 'import_data' in body && !('version' in body);
}

/** Read a ContextForge-shaped request; `cipher` is this gateway's, for `rekey_secret`. */
export function readContextForgeRequest(body: Record<string, unknown>, cipher: AuthCipher, defaults: { dryRun: boolean; conflict: ConflictMode }): ImportRequest {
  const errors: FieldError[] = [];
  for (const key of Object.keys(body)) if (!BODY_FIELDS.includes(key)) errors.push({ path: `$.${key}`, message: `is not a field of the import request (${BODY_FIELDS.join(', ')})` });
  const conflict = body.conflict_strategy === undefined ? defaults.conflict : String(body.conflict_strategy).toLowerCase();
  if (!(CONFLICT_MODES as readonly string[]).includes(conflict)) errors.push({ path: '$.conflict_strategy', message: `must be one of ${CONFLICT_MODES.join(', ')}` });
  if (body.dry_run !== undefined && typeof body.dry_run !== 'boolean') errors.push({ path: '$.dry_run', message: 'must be true or false' });
  if (body.rekey_secret !== undefined && body.rekey_secret !== null && (typeof body.rekey_secret !== 'string' || body.rekey_secret === '')) {
    errors.push({ path: '$.rekey_secret', message: 'must be a non-empty string' });
  }
  if (!isObject(body.import_data)) errors.push({ path: '$.import_data', message: 'must be an export document (an object)' });
  if (errors.length > 0) throw new GatewayError('IMPORT_INVALID', `${errors[0]!.path}: ${errors[0]!.message}`, errors);

  let data = body.import_data as Record<string, unknown>;
  if (typeof body.rekey_secret === 'string') data = rekeyForHere(data, new AuthCipher(body.rekey_secret), cipher);
  let read = readDocument(data, '$.import_data');
  let dependencies: Dependency[] = [];
  const selection = selectionFromBody(body.selected_entities, '$.selected_entities');
  if (selection) {
    const selected = selectDocument(read, selection);
    if (selected.unmatched.length > 0) {
      throw new GatewayError('IMPORT_INVALID', `$.selected_entities names what is not in import_data: ${selected.unmatched.join(', ')}`, [
        { path: '$.selected_entities', message: `not in import_data: ${selected.unmatched.join(', ')}` },
      ]);
    }
    read = selected.read;
    dependencies = selected.dependencies;
  }
  return { read, dryRun: (body.dry_run as boolean | undefined) ?? defaults.dryRun, conflict: conflict as ConflictMode, dependencies };
}

/**
 * `rekey_secret`: the secret the file's values were encrypted with. Each value that does not
 * already open here is decrypted with it and encrypted with this gateway's secret. (ContextForge
 * calls the field the "new" secret; a value made with this gateway's own secret is left as it
 * is, so a body written for either reading imports.) Nothing changes unless every value opens.
 */
function rekeyForHere(data: Record<string, unknown>, from: AuthCipher, here: AuthCipher): Record<string, unknown> {
  const copy = structuredClone(data);
  const failures: FieldError[] = [];
  const changes: (() => void)[] = [];
  for (const value of encryptedValues(copy, '$.import_data')) {
    if (here.opens(value.value)) continue;
    try {
      const plain = from.decrypt(value.value);
      changes.push(() => value.set(here.encrypt(plain)));
    } catch {
      failures.push({ path: value.path, message: `${value.label}: opens with neither rekey_secret nor this gateway's secret` });
    }
  }
  if (failures.length > 0) {
    throw new GatewayError('IMPORT_SECRET_MISMATCH', `${failures.length} encrypted value${failures.length > 1 ? 's' : ''} in import_data open${failures.length > 1 ? '' : 's'} with neither rekey_secret nor this gateway's AUTH_ENCRYPTION_SECRET; nothing was written`, failures.slice(0, 50));
  }
  for (const change of changes) change();
  return copy;
}
