import { KIND_DEFS, KINDS, type Kind } from '../../domain/entities.js';
import { IMPORT_ORDER, type ExportDocument } from '../../domain/export-document.js';
import { canonicalJson, isObject, mergePatch } from '../../domain/merge-patch.js';
import { GatewayError, type FieldError } from '../../errors.js';
import type { ReadDocument } from './import-document.js';
import { invalid } from './import-document.js';
import { assertPlan, planImport, type ConflictMode, type Plan, type PlanItem, type TargetState } from './import-plan.js';
import type { ImportReport, Outcome } from './import.js';
import { editable } from '../../domain/fields.js';

/** The Admin API calls an import replays through (SPEC §5); the CLI's HTTP client implements it. */
export interface AdminApi {
  list(kind: Kind): Promise<Record<string, unknown>[]>;
  /** `POST /import?dry_run=true`: the target checks references and that every auth_value decrypts. */
  dryRun(doc: ExportDocument, conflict: ConflictMode): Promise<ImportReport>;
  create(kind: Kind, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  patch(kind: Kind, id: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  replace(kind: Kind, id: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export interface ReplayOptions {
  conflict: ConflictMode;
  dryRun: boolean;
  concurrency: number;
  /** Called once the plan is known, with how many writes each kind needs. */
  onPlan?(writes: Record<Kind, number>): void;
  /** Called after each object that needed a request. */
  onObject?(item: ReplayItem): void;
  /** Called when a kind is finished. */
  onKindDone?(kind: Kind, items: ReplayItem[]): void;
}

export interface ReplayItem {
  kind: Kind;
  key: string;
  outcome: Outcome | 'failed';
  newKey?: string;
  /** For a planned update (or conflict, skip): the fields that differ. */
  changes?: string[];
  /** Why it failed. */
  error?: string;
}

export interface ReplayResult {
  plan: Plan;
  items: ReplayItem[];
  warnings: FieldError[];
}

/**
 * Replay a validated document through the Admin API: the target validates it first (dry run),
 * then each kind in order, POST for new keys and PATCH for existing ones that differ, with
 * bounded concurrency. Unchanged objects get no request at all, so a second run writes nothing.
 */
export async function replay(read: ReadDocument, api: AdminApi, options: ReplayOptions): Promise<ReplayResult> {
  let check: ImportReport;
  try {
    check = await api.dryRun(read.doc, options.conflict);
  } catch (error) {
    throw relocate(error, read);
  }
  const target = {} as TargetState;
  for (const kind of KINDS) {
    target[kind] = new Map((await api.list(kind)).map((item) => [String(item[KIND_DEFS[kind].keyField]), item]));
  }
  const plan = planImport(read, target, options.conflict);
  if (plan.errors.length > 0) throw invalid(plan.errors);
  const warnings = check.warnings;
  if (options.dryRun) {
    return {
      plan,
      warnings,
      items: plan.items.map((i) => ({ kind: i.kind, key: i.key, outcome: i.action, ...(i.newKey ? { newKey: i.newKey } : {}), ...(i.changes ? { changes: i.changes } : {}) })),
    };
  }
  assertPlan(plan);

  const writes = Object.fromEntries(IMPORT_ORDER.map((kind) => [kind, plan.items.filter((i) => i.kind === kind && needsWrite(i)).length])) as Record<Kind, number>;
  options.onPlan?.(writes);
  const items: ReplayItem[] = [];
  for (const kind of IMPORT_ORDER) {
    const ofKind = plan.items.filter((i) => i.kind === kind);
    const done = await pool(ofKind, options.concurrency, async (item) => {
      if (!needsWrite(item)) return { kind, key: item.key, outcome: item.action === 'skip' ? 'skipped' : 'unchanged' } satisfies ReplayItem;
      const result = await write(api, item);
      options.onObject?.(result);
      return result;
    });
    items.push(...done);
    options.onKindDone?.(kind, done);
  }
  return { plan, items, warnings };
}

/**
 * The target checked the converted document: point its findings (`$.tools[0].auth_value`) at
 * the file as written (`$.entities.tools[1].auth_value`).
 */
export function relocate(error: unknown, read: ReadDocument): unknown {
  if (!(error instanceof GatewayError) || read.format === 'native') return error;
  const inFile = (text: string) => text.replace(/\$\.(?:gateways|servers|tools|prompts|resources)\[\d+\](?:\.\w+)?/g, (path) => read.origin(path));
  return new GatewayError(error.code, inFile(error.message), error.errors?.map((e) => ({ path: inFile(e.path), message: inFile(e.message) })));
}

function needsWrite(item: PlanItem): boolean {
  return item.action === 'create' || item.action === 'update' || item.action === 'rename';
}

async function write(api: AdminApi, item: PlanItem): Promise<ReplayItem> {
  const base = { kind: item.kind, key: item.key };
  try {
    if (item.action === 'create') {
      await api.create(item.kind, item.desired);
      return { ...base, outcome: 'created' };
    }
    if (item.action === 'rename') {
      await api.create(item.kind, item.desired);
      return { ...base, outcome: 'renamed', newKey: item.newKey! };
    }
    const current = item.current!;
    const id = String(current.id);
    const patch = mergeDiff(editable(KIND_DEFS[item.kind], current), editable(KIND_DEFS[item.kind], item.desired));
    const after = patch ? await api.patch(item.kind, id, patch) : await api.replace(item.kind, id, item.desired);
    return { ...base, outcome: after.updated_at === current.updated_at ? 'unchanged' : 'updated' };
  } catch (error) {
    if (error instanceof GatewayError && (error.code === 'TARGET_UNREACHABLE' || error.code === 'TARGET_AUTH_FAILED')) throw error;
    return { ...base, outcome: 'failed', error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`, or undefined when merge patch
 * cannot say it (a null inside a nested object, which a merge patch would delete): then PUT.
 * A top-level null is fine: every nullable field defaults to null, so the server restores it.
 */
export function mergeDiff(from: Record<string, unknown>, to: Record<string, unknown>): Record<string, unknown> | undefined {
  const diff = diffObjects(from, to);
  return canonicalJson(withoutNulls(mergePatch(from, diff))) === canonicalJson(withoutNulls(to)) ? diff : undefined;
}

function withoutNulls(value: unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== null));
}

function diffObjects(from: Record<string, unknown>, to: Record<string, unknown>): Record<string, unknown> {
  const diff: Record<string, unknown> = {};
  for (const key of Object.keys(from)) if (!(key in to) && from[key] !== undefined) diff[key] = null;
  for (const [key, value] of Object.entries(to)) {
    if (canonicalJson(from[key]) === canonicalJson(value)) continue;
    diff[key] = isObject(from[key]) && isObject(value) ? diffObjects(from[key] as Record<string, unknown>, value) : value;
  }
  return diff;
}

/** Run `work` over `list` with at most `limit` at a time, keeping the list's order in the result. */
async function pool<T, R>(list: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(list.length);
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const index = next++;
      results[index] = await work(list[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, list.length)) }, worker));
  return results;
}
