import { KIND_DEFS, KINDS, type Kind } from '../../domain/entities.js';
import { IMPORT_ORDER } from '../../domain/export-document.js';
import type { FieldError } from '../../errors.js';
import type { Repository } from '../../store/store.js';
import type { Reenter } from '../../domain/contextforge.js';
import type { ReadDocument } from './import-document.js';
import { assertPlan, checkCredentials, planImport, type ConflictMode, type MissingRef, type PlanAction, type TargetState } from './import-plan.js';
import type { Dependency } from './import-select.js';
import type { Registry } from '../registry.js';

/** What happened (or, for a dry run, would happen) to one object. */
export type Outcome = PlanAction | 'created' | 'updated' | 'skipped' | 'renamed';

export interface ImportReport {
  dry_run: boolean;
  conflict: ConflictMode;
  format: ReadDocument['format'];
  /** Per kind, how many objects had each outcome. */
  summary: Record<Kind, Partial<Record<Outcome, number>>>;
  items: { kind: Kind; key: string; outcome: Outcome; new_key?: string; path?: string; changes?: string[] }[];
  warnings: FieldError[];
  notes: string[];
  /** Objects imported without the credentials the file does not hold: enter them again. */
  credentials_to_reenter: Reenter[];
  /** References that resolve nowhere, kept in the servers' missing_refs. */
  missing_refs: MissingRef[];
  /** With a selection: objects brought along because a selected one needs them. */
  dependencies: Dependency[];
}

/** The target's objects by key, inactive ones included. */
export async function loadTarget(registry: Registry, repo: Repository = registry.store): Promise<TargetState> {
  const state = {} as TargetState;
  for (const kind of KINDS) {
    const { items } = await registry.list(kind, { includeInactive: true }, repo);
    state[kind] = new Map(items.map((item) => [String(item[KIND_DEFS[kind].keyField]), item]));
  }
  return state;
}

/**
 * `POST /import`: validate the whole document against this gateway (references, conflicts,
 * credentials), then write it in one transaction; any failure rolls everything back.
 * A dry run validates and plans without writing.
 */
export async function importDocument(
  registry: Registry,
  read: ReadDocument,
  options: { dryRun: boolean; conflict: ConflictMode; dependencies?: Dependency[] },
): Promise<ImportReport> {
  const report: ImportReport = {
    dry_run: options.dryRun,
    conflict: options.conflict,
    format: read.format,
    summary: Object.fromEntries(IMPORT_ORDER.map((kind) => [kind, {}])) as ImportReport['summary'],
    items: [],
    warnings: [],
    notes: read.notes,
    credentials_to_reenter: read.reenter,
    missing_refs: [],
    dependencies: options.dependencies ?? [],
  };
  const record = (kind: Kind, key: string, outcome: Outcome, newKey?: string, extra: { path?: string; changes?: string[] } = {}) => {
    report.items.push({ kind, key, outcome, ...(newKey ? { new_key: newKey } : {}), ...extra });
    report.summary[kind][outcome] = (report.summary[kind][outcome] ?? 0) + 1;
  };
  checkCredentials(read, registry.cipher);

  if (options.dryRun) {
    const plan = planImport(read, await loadTarget(registry), options.conflict);
    report.warnings = [...read.warnings, ...plan.warnings];
    report.missing_refs = plan.missing;
    if (plan.errors.length > 0) assertPlan(plan);
    for (const item of plan.items) record(item.kind, item.key, item.action, item.newKey, { path: item.path, ...(item.changes ? { changes: item.changes } : {}) });
    return report;
  }

  await registry.transaction(async (repo) => {
    const plan = planImport(read, await loadTarget(registry, repo), options.conflict);
    assertPlan(plan);
    report.warnings = [...read.warnings, ...plan.warnings];
    report.missing_refs = plan.missing;
    for (const item of plan.items) {
      switch (item.action) {
        case 'create':
          await registry.create(item.kind, item.desired, repo);
          record(item.kind, item.key, 'created');
          break;
        case 'rename':
          await registry.create(item.kind, item.desired, repo);
          record(item.kind, item.key, 'renamed', item.newKey);
          break;
        case 'update': {
          const { changed } = await registry.replace(item.kind, String(item.current!.id), item.desired, repo);
          record(item.kind, item.key, changed ? 'updated' : 'unchanged');
          break;
        }
        case 'skip':
          record(item.kind, item.key, 'skipped');
          break;
        default:
          record(item.kind, item.key, 'unchanged');
      }
    }
  });
  return report;
}
