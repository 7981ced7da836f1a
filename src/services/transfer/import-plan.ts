import type { AuthCipher } from '../../crypto/auth-value.js';
import { KIND_DEFS, type Kind } from '../../domain/entities.js';
import { IMPORT_ORDER, keyOf } from '../../domain/export-document.js';
import { canonicalJson } from '../../domain/merge-patch.js';
import { GatewayError, type FieldError } from '../../errors.js';
import { resolveCredentials } from '../credentials.js';
import type { ReadDocument } from './import-document.js';
import { invalid } from './import-document.js';
import { editable } from '../../domain/fields.js';
import { isGlob } from '../../mcp/curation.js';

/**
 * The import plan (SPEC §5): for each object in a document, what importing it into a target
 * does. Pure: the target is given as its current objects, so the CLI (over HTTP) and the bulk
 * endpoint (in one transaction) plan the same way.
 */

export const CONFLICT_MODES = ['update', 'skip', 'fail', 'rename'] as const;
export type ConflictMode = (typeof CONFLICT_MODES)[number];

export type PlanAction = 'create' | 'update' | 'unchanged' | 'skip' | 'rename' | 'conflict';

export interface PlanItem {
  kind: Kind;
  /** The object's key in the file. */
  key: string;
  /** Its JSON path in the file. */
  path: string;
  /** Its index in the document's list of its kind. */
  index: number;
  /** For `update`, `skip`, `conflict` and `rename`: the fields whose values differ from the target's. */
  changes?: string[];
  action: PlanAction;
  /** For `rename`: the key it is created under. */
  newKey?: string;
  /** The object as it should be on the target (for `rename`, under its new key). */
  desired: Record<string, unknown>;
  /** The target's object with this key, as GET returns it, if there is one. */
  current?: Record<string, unknown>;
}

export interface Plan {
  items: PlanItem[];
  /** Findings that stop the import (references that resolve nowhere, managed tools). */
  errors: FieldError[];
  /** Findings that do not (MCP tools their gateway will bring, references kept in missing_refs). */
  warnings: FieldError[];
  /** References that resolve nowhere: the server keeps them in missing_refs. */
  missing: MissingRef[];
}

export interface MissingRef {
  server: string;
  kind: 'tools' | 'prompts' | 'resources';
  name: string;
  /** Where the reference is in the file. */
  path: string;
}

/** The target's current objects of each kind, by key, as GET returns them (inactive included). */
export type TargetState = Record<Kind, Map<string, Record<string, unknown>>>;

/** Work out what importing `read` into `target` does under a conflict mode. */
export function planImport(read: ReadDocument, target: TargetState, conflict: ConflictMode): Plan {
  const { doc, paths } = read;
  const errors: FieldError[] = [];
  const items: PlanItem[] = [];
  const renames: Partial<Record<Kind, Map<string, string>>> = {};

  // Servers come last among the kinds others refer to, so renames are known before them.
  const order: Kind[] = ['gateways', 'tools', 'resources', 'prompts', 'servers'];
  for (const kind of order) {
    const taken = new Set([...target[kind].keys(), ...doc[kind].map((o) => keyOf(kind, o))]);
    doc[kind].forEach((object, index) => {
      const key = keyOf(kind, object);
      const path = paths[kind][index]!;
      const desired = kind === 'servers' ? withRenamedRefs(object, renames) : object;
      const current = target[kind].get(key);
      const item: PlanItem = { kind, key, path, index, action: 'create', desired };
      if (current) {
        item.current = current;
        const changes = changedFields(kind, desired, current);
        if (changes.length > 0) item.changes = changes;
        if (changes.length === 0) item.action = 'unchanged';
        else if (conflict === 'skip') item.action = 'skip';
        else if (conflict === 'fail') item.action = 'conflict';
        else if (conflict === 'rename') {
          item.action = 'rename';
          item.newKey = freeKey(kind, key, taken);
          taken.add(item.newKey);
          item.desired = { ...desired, [KIND_DEFS[kind].keyField]: item.newKey };
          if (kind === 'resources' && desired.name === key) item.desired.name = item.newKey;
          (renames[kind] ??= new Map()).set(key, item.newKey);
        } else {
          item.action = 'update';
          if (kind === 'tools' && current.integration_type === 'MCP') {
            errors.push({
              path,
              message: `tool "${key}" on the target comes from gateway "${String(current.gateway)}" and cannot be replaced; use --conflict skip or rename`,
            });
          }
        }
      }
      items.push(item);
    });
  }
  const warnings: FieldError[] = [];
  const missing: MissingRef[] = [];
  checkReferences(read, items, target, missing, warnings);
  // Report in the order the import writes.
  items.sort((a, b) => IMPORT_ORDER.indexOf(a.kind) - IMPORT_ORDER.indexOf(b.kind));
  return { items, errors, warnings, missing };
}

/** Throw if the plan cannot be carried out: unresolved references, or conflicts under `fail`. */
export function assertPlan(plan: Plan): void {
  if (plan.errors.length > 0) throw invalid(plan.errors);
  const conflicts = plan.items.filter((i) => i.action === 'conflict');
  if (conflicts.length > 0) {
    const names = conflicts.slice(0, 20).map((i) => `${KIND_DEFS[i.kind].singular} "${i.key}"`);
    const more = conflicts.length > 20 ? ` and ${conflicts.length - 20} more` : '';
    throw new GatewayError(
      'IMPORT_CONFLICT',
      `${conflicts.length} object${conflicts.length > 1 ? 's' : ''} already exist on the target with different content (--conflict fail): ${names.join(', ')}${more}; nothing was written`,
      conflicts.slice(0, 50).map((i) => ({ path: i.path, message: `${KIND_DEFS[i.kind].singular} "${i.key}" exists with different content` })),
    );
  }
}

/**
 * Check that every credential in the document can be used here: each `auth_value` must decrypt
 * with this instance's secret and hold what its `auth_type` needs. Names the objects that fail.
 */
export function checkCredentials(read: ReadDocument, cipher: AuthCipher): void {
  const mismatched: { label: string; path: string }[] = [];
  const errors: FieldError[] = [];
  for (const kind of IMPORT_ORDER) {
    if (!KIND_DEFS[kind].hasAuth) continue;
    read.doc[kind].forEach((object, index) => {
      if ((object.auth_type ?? 'none') === 'none' && !object.auth_value) return;
      const label = `${KIND_DEFS[kind].singular} "${keyOf(kind, object)}"`;
      const path = read.paths[kind][index]!;
      try {
        resolveCredentials({ auth_type: object.auth_type as never, auth_value: object.auth_value as string | null }, cipher, undefined, label);
      } catch (error) {
        if (!(error instanceof GatewayError)) throw error;
        if (error.code === 'AUTH_VALUE_UNDECRYPTABLE') mismatched.push({ label, path });
        else for (const e of error.errors ?? [{ path: '$', message: error.message }]) errors.push({ path: path + e.path.slice(1), message: e.message });
      }
    });
  }
  if (mismatched.length > 0) {
    const names = mismatched.slice(0, 20).map((m) => `${m.label} (${m.path})`);
    const more = mismatched.length > 20 ? ` and ${mismatched.length - 20} more` : '';
    throw new GatewayError(
      'IMPORT_SECRET_MISMATCH',
      `the auth_value of ${mismatched.length} object${mismatched.length > 1 ? 's' : ''} does not decrypt with this gateway's AUTH_ENCRYPTION_SECRET: ` +
        `${names.join(', ')}${more}. Nothing was written. Re-encrypt the file for this gateway with ` +
        '`OLD_AUTH_ENCRYPTION_SECRET=<source secret> AUTH_ENCRYPTION_SECRET=<this gateway\'s secret> mcpgateway export rekey --in FILE --out FILE`',
      mismatched.slice(0, 50).map((m) => ({ path: `${m.path}.auth_value`, message: `${m.label}: does not decrypt with this gateway's secret` })),
    );
  }
  if (errors.length > 0) throw invalid(errors);
}

/** The fields (top-level) whose values importing `desired` over `current` would change. */
export function changedFields(kind: Kind, desired: Record<string, unknown>, current: Record<string, unknown>): string[] {
  const def = KIND_DEFS[kind];
  const a = editable(def, desired);
  const b = editable(def, current);
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((field) => canonicalJson(a[field]) !== canonicalJson(b[field])).sort();
}

/** True when importing `desired` over `current` would change nothing. */
export function same(kind: Kind, desired: Record<string, unknown>, current: Record<string, unknown>): boolean {
  const def = KIND_DEFS[kind];
  return canonicalJson(editable(def, desired)) === canonicalJson(editable(def, current));
}

function checkReferences(read: ReadDocument, items: PlanItem[], target: TargetState, missing: MissingRef[], warnings: FieldError[]): void {
  const known: Record<'tools' | 'prompts' | 'resources', Set<string>> = {
    tools: new Set(target.tools.keys()),
    prompts: new Set(target.prompts.keys()),
    resources: new Set(target.resources.keys()),
  };
  for (const item of items) {
    if (item.kind in known) known[item.kind as keyof typeof known].add(keyOf(item.kind, item.desired));
  }
  const prefixes = read.doc.gateways.map((g) => String(g.name_prefix ?? g.name).toLowerCase());
  for (const item of items) {
    if (item.kind !== 'servers' || item.action === 'skip') continue;
    for (const refKind of ['tools', 'prompts', 'resources'] as const) {
      ((item.desired[refKind] as string[] | undefined) ?? []).forEach((ref, j) => {
        if (known[refKind].has(ref) || (refKind === 'tools' && isGlob(ref))) return; // a glob selects, it never dangles
        const path = read.origin(`$.servers[${item.index}].${refKind}[${j}]`);
        const singular = KIND_DEFS[refKind].singular;
        const gateway = refKind === 'tools' ? prefixes.find((p) => p === '' || ref.toLowerCase().startsWith(`${p}__`)) : undefined;
        if (gateway !== undefined) {
          warnings.push({ path, message: `tool "${ref}" is not in the file or on the target yet; it is expected from a gateway in the file once it is discovered` });
        } else {
          // The same model as the Admin API: the server keeps the name and lists it in missing_refs.
          missing.push({ server: item.key, kind: refKind, name: ref, path });
          warnings.push({ path, message: `${singular} "${ref}" is in neither the file nor the target: server "${item.key}" keeps it, listed in missing_refs until it exists` });
        }
      });
    }
  }
}

function withRenamedRefs(server: Record<string, unknown>, renames: Partial<Record<Kind, Map<string, string>>>): Record<string, unknown> {
  const out = { ...server };
  for (const refKind of ['tools', 'prompts', 'resources'] as const) {
    const map = renames[refKind];
    if (map && Array.isArray(out[refKind])) out[refKind] = (out[refKind] as string[]).map((ref) => map.get(ref) ?? ref);
  }
  return out;
}

/** A key not yet taken: `name-imported`, `name-imported-2`, … (`uri#imported…` for resources). */
function freeKey(kind: Kind, key: string, taken: Set<string>): string {
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? '-imported' : `-imported-${n}`;
    const candidate = kind === 'resources' ? `${key}#${suffix.slice(1)}` : `${key.slice(0, 64 - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}
