import type { Command } from 'commander';
import { KIND_DEFS } from '../domain/entities.js';
import { IMPORT_ORDER } from '../domain/export-document.js';
import { GatewayError, type FieldError } from '../errors.js';
import { AuthCipher } from '../crypto/auth-value.js';
import { isObject } from '../domain/merge-patch.js';
import { readDocument, type ReadDocument } from '../services/transfer/import-document.js';
import { CONFLICT_MODES, type ConflictMode, type MissingRef } from '../services/transfer/import-plan.js';
import { parseInclude, selectDocument, type Dependency, type Selection } from '../services/transfer/import-select.js';
import { rekeyValues } from './rekey.js';
import { relocate, replay, type ReplayItem } from '../services/transfer/import-replay.js';
import type { ImportReport } from '../services/transfer/import.js';
import { AdminClient, targetFromEnv } from './admin-client.js';
import { EXIT } from './exit.js';
import { createProgress } from './progress.js';
import { maxFileBytes, readJsonFile } from './read-file.js';

interface ImportFlags {
  conflict: string;
  dryRun?: boolean;
  concurrency: string;
  bulk?: boolean;
  maxBytes?: string;
  include?: string;
  rekey?: boolean;
  format: string;
}

interface RunOptions {
  conflict: ConflictMode;
  concurrency: number;
  limit: number;
  dryRun: boolean;
  bulk: boolean;
  selection?: Selection;
  rekey: boolean;
  json: boolean;
}

const MAX_CONCURRENCY = 64;

/** `mcpgateway import FILE`: replay an export (or a ContextForge export) through the Admin API. */
export function importCommand(program: Command): Command {
  const command = program
    .command('import')
    .description('import an export file (or a ContextForge export) into the gateway at MCPGATEWAY_URL; or plan a safe import of an API description (preview, apply, activate, rollback)')
    .argument('<file>', 'the export document')
    .option('--conflict <mode>', `when a name exists with other content: ${CONFLICT_MODES.join(', ')}`, 'update')
    .option('--dry-run', 'print the plan (create / update / unchanged / conflict per object) and write nothing')
    .option('--concurrency <n>', `requests in flight at once, 1-${MAX_CONCURRENCY}`, '8')
    .option('--bulk', 'send the whole file to POST /import: one transaction on the gateway')
    .option('--max-bytes <n>', 'refuse files larger than this (MCPGATEWAY_IMPORT_MAX_BYTES, default 256 MiB)')
    .option('--include <selection>', 'import only these objects and what they need, as "tools:a,b;servers:x" (a kind alone: all of it)')
    .option('--rekey', 're-encrypt the file\'s credentials from OLD_AUTH_ENCRYPTION_SECRET to AUTH_ENCRYPTION_SECRET (the target\'s) while importing')
    .option('-f, --format <format>', 'report for people (table) or machines (json)', 'table')
    .action(async (file: string, flags: ImportFlags) => {
      const conflict = parseConflict(flags.conflict);
      const concurrency = parseConcurrency(flags.concurrency);
      const limit = maxFileBytes(flags.maxBytes);
      if (flags.format !== 'table' && flags.format !== 'json') throw new GatewayError('CLI_USAGE', `--format must be table or json, not "${flags.format}"`);
      const selection = flags.include !== undefined ? parseInclude(flags.include) : undefined;
      try {
        await runImport(file, {
          conflict,
          concurrency,
          limit,
          dryRun: flags.dryRun ?? false,
          bulk: flags.bulk ?? false,
          ...(selection ? { selection } : {}),
          rekey: flags.rekey ?? false,
          json: flags.format === 'json',
        });
      } catch (error) {
        if (!(error instanceof GatewayError) || !error.errors?.length) throw error;
        printFindings(error.message, error.errors);
        process.exitCode = EXIT.FAILED;
      }
    });
  return command;
}

async function runImport(file: string, o: RunOptions): Promise<void> {
  const raw = readJsonFile(file, o.limit);
  let rekeyed = 0;
  if (o.rekey) rekeyed = rekeyInMemory(raw);
  let read = readDocument(raw);
  let dependencies: Dependency[] = [];
  if (o.selection) {
    const selected = selectDocument(read, o.selection);
    if (selected.unmatched.length > 0) throw new GatewayError('CLI_USAGE', `--include names what is not in ${file}: ${selected.unmatched.join(', ')}`);
    read = selected.read;
    dependencies = selected.dependencies;
  }
  const client = new AdminClient(targetFromEnv());
  if (!o.json) {
    if (o.rekey) process.stderr.write(`re-encrypted ${rekeyed} encrypted value${rekeyed === 1 ? '' : 's'} for the target (OLD_AUTH_ENCRYPTION_SECRET -> AUTH_ENCRYPTION_SECRET)\n`);
    for (const note of read.notes) process.stderr.write(`note: ${note}\n`);
    printWarnings(read.warnings);
    for (const d of dependencies) process.stderr.write(`dependency: ${KIND_DEFS[d.kind].singular} "${d.key}" comes along: ${d.needed_by} needs it\n`);
  }

  if (o.bulk) {
    const query = `conflict=${o.conflict}${o.dryRun ? '&dry_run=true' : ''}`;
    let report: ImportReport;
    try {
      report = await client.json<ImportReport>('POST', `/import?${query}`, { body: JSON.stringify(read.doc), timeoutMs: 600_000 });
    } catch (error) {
      throw relocate(error, read);
    }
    const items = report.items.map((i) => ({ kind: i.kind, key: i.key, outcome: i.outcome, ...(i.new_key ? { newKey: i.new_key } : {}), ...(i.changes ? { changes: i.changes } : {}) }));
    const missing = report.missing_refs;
    report.warnings = report.warnings.map((w) => ({ ...w, path: read.origin(w.path) }));
    output(o, read, items, [...read.warnings, ...report.warnings], missing.map((m) => ({ ...m, path: read.origin(m.path) })), dependencies);
    finish(items, o.dryRun);
    return;
  }

  const progress = o.json ? undefined : createProgress();
  let result;
  try {
    result = await replay(read, client, {
      conflict: o.conflict,
      dryRun: o.dryRun,
      concurrency: o.concurrency,
      onPlan: (writes) => progress?.plan(writes),
      onObject: (item) => progress?.object(item),
      onKindDone: (kind, items) => progress?.kindDone(kind, items),
    });
  } finally {
    progress?.stop();
  }
  // The plan's own findings carry paths in the file; the target's dry run saw the converted document.
  const warnings = [...read.warnings, ...result.plan.warnings];
  output(o, read, result.items, warnings, result.plan.missing, dependencies);
  finish(result.items, o.dryRun);
}

/** What the command prints: a table and lines for people, or one JSON report (`-f json`). */
function output(o: RunOptions, read: ReadDocument, items: ReplayItem[], warnings: FieldError[], missing: MissingRef[], dependencies: Dependency[]): void {
  if (o.json) {
    const report = {
      dry_run: o.dryRun,
      conflict: o.conflict,
      format: read.format,
      items: items.map((i) => ({ kind: i.kind, key: i.key, outcome: i.outcome, ...(i.newKey ? { new_key: i.newKey } : {}), ...(i.changes ? { changes: i.changes } : {}), ...(i.error ? { error: i.error } : {}) })),
      missing_refs: missing,
      dependencies,
      credentials_to_reenter: read.reenter,
      warnings,
      notes: read.notes,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  printWarnings(warnings.filter((w) => !read.warnings.includes(w)));
  if (o.dryRun) printPlan(items);
  for (const m of missing) process.stdout.write(`missing    ${KIND_DEFS[m.kind].singular.padEnd(9)} ${m.name} (server ${m.server}, ${m.path}): kept in missing_refs\n`);
  for (const d of dependencies) process.stdout.write(`dependency ${KIND_DEFS[d.kind].singular.padEnd(9)} ${d.key} (${d.needed_by} needs it)\n`);
  printSummary(items);
  if (read.reenter.length > 0) {
    process.stdout.write(`credentials to re-enter (${read.reenter.length}): the file does not hold them\n`);
    for (const r of read.reenter) process.stdout.write(`  ${KIND_DEFS[r.kind].singular} "${r.key}" (${r.path}): auth_type ${r.auth_type}\n`);
  }
}

/** `--rekey`: both secrets from the environment only, never from arguments. */
function rekeyInMemory(raw: unknown): number {
  const oldSecret = process.env.OLD_AUTH_ENCRYPTION_SECRET;
  const newSecret = process.env.AUTH_ENCRYPTION_SECRET;
  if (!oldSecret) throw new GatewayError('CONFIG_INVALID', '--rekey needs OLD_AUTH_ENCRYPTION_SECRET: the secret the file was encrypted with');
  if (!newSecret) throw new GatewayError('CONFIG_INVALID', '--rekey needs AUTH_ENCRYPTION_SECRET: the target gateway\'s secret');
  if (!isObject(raw)) return 0;
  return rekeyValues(raw, new AuthCipher(oldSecret), new AuthCipher(newSecret), 'OLD_AUTH_ENCRYPTION_SECRET').count;
}

/** Exit 0 only when every object landed (or, for a dry run, could land). */
function finish(items: ReplayItem[], dryRun: boolean): void {
  const failed = items.filter((i) => i.outcome === 'failed' || i.outcome === 'conflict');
  if (failed.length === 0) return;
  for (const item of failed) {
    process.stderr.write(`${item.outcome}: ${KIND_DEFS[item.kind].singular} "${item.key}"${item.error ? `: ${item.error}` : ' exists with different content'}\n`);
  }
  const what = dryRun ? 'would conflict (--conflict fail)' : 'were not imported';
  throw new GatewayError('IMPORT_INCOMPLETE', `${failed.length} object${failed.length > 1 ? 's' : ''} ${what}; see the lines above`);
}

function printPlan(items: ReplayItem[]): void {
  const lines = items.map(
    (i) => `${i.outcome.padEnd(10)} ${KIND_DEFS[i.kind].singular.padEnd(9)} ${i.key}${i.newKey ? ` -> ${i.newKey}` : ''}${i.changes?.length ? ` (${i.changes.join(', ')})` : ''}`,
  );
  process.stdout.write(`${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`);
}

/** The table at the end: one row per kind, one column per outcome that occurred. */
export function summaryTable(items: ReplayItem[]): string {
  const outcomes = [...new Set(items.map((i) => i.outcome))];
  const columns = outcomes.length > 0 ? outcomes : ['created'];
  const rows: string[][] = [['kind', ...columns]];
  for (const kind of IMPORT_ORDER) {
    const ofKind = items.filter((i) => i.kind === kind);
    rows.push([kind, ...columns.map((c) => String(ofKind.filter((i) => i.outcome === c).length))]);
  }
  rows.push(['total', ...columns.map((c) => String(items.filter((i) => i.outcome === c).length))]);
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ')).join('\n');
}

function printSummary(items: ReplayItem[]): void {
  process.stdout.write(`${summaryTable(items)}\n`);
}

function printWarnings(warnings: FieldError[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w.path}: ${w.message}\n`);
}

function printFindings(message: string, errors: FieldError[]): void {
  process.stderr.write(`mcpgateway: ${message}\n`);
  if (errors.length > 1 || !message.startsWith(`${errors[0]!.path}: `)) {
    for (const e of errors) process.stderr.write(`  ${e.path}: ${e.message}\n`);
  }
}

function parseConflict(value: string): ConflictMode {
  if (!(CONFLICT_MODES as readonly string[]).includes(value)) {
    throw new GatewayError('CLI_USAGE', `--conflict must be one of ${CONFLICT_MODES.join(', ')}, not "${value}"`);
  }
  return value as ConflictMode;
}

function parseConcurrency(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_CONCURRENCY) {
    throw new GatewayError('CLI_USAGE', `--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, not "${value}"`);
  }
  return Number(value);
}
