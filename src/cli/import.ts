import type { Command } from 'commander';
import { KIND_DEFS } from '../domain/entities.js';
import { IMPORT_ORDER } from '../domain/export-document.js';
import { GatewayError, type FieldError } from '../errors.js';
import { readDocument } from '../services/import-document.js';
import { CONFLICT_MODES, type ConflictMode } from '../services/import-plan.js';
import { replay, type ReplayItem } from '../services/import-replay.js';
import type { ImportReport } from '../services/import.js';
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
    .action(async (file: string, flags: ImportFlags) => {
      const conflict = parseConflict(flags.conflict);
      const concurrency = parseConcurrency(flags.concurrency);
      const limit = maxFileBytes(flags.maxBytes);
      try {
        await runImport(file, { conflict, concurrency, limit, dryRun: flags.dryRun ?? false, bulk: flags.bulk ?? false });
      } catch (error) {
        if (!(error instanceof GatewayError) || !error.errors?.length) throw error;
        printFindings(error.message, error.errors);
        process.exitCode = EXIT.FAILED;
      }
    });
  return command;
}

async function runImport(file: string, o: { conflict: ConflictMode; concurrency: number; limit: number; dryRun: boolean; bulk: boolean }): Promise<void> {
  const read = readDocument(readJsonFile(file, o.limit));
  for (const note of read.notes) process.stderr.write(`note: ${note}\n`);
  const client = new AdminClient(targetFromEnv());

  if (o.bulk) {
    const query = `conflict=${o.conflict}${o.dryRun ? '&dry_run=true' : ''}`;
    const report = await client.json<ImportReport>('POST', `/import?${query}`, { body: JSON.stringify(read.doc), timeoutMs: 600_000 });
    printWarnings(report.warnings);
    if (o.dryRun) printPlan(report.items.map((i) => ({ kind: i.kind, key: i.key, outcome: i.outcome, ...(i.new_key ? { newKey: i.new_key } : {}) })));
    printSummary(report.items);
    finish(report.items, o.dryRun);
    return;
  }

  const progress = createProgress();
  let result;
  try {
    result = await replay(read, client, {
      conflict: o.conflict,
      dryRun: o.dryRun,
      concurrency: o.concurrency,
      onPlan: (writes) => progress.plan(writes),
      onObject: (item) => progress.object(item),
      onKindDone: (kind, items) => progress.kindDone(kind, items),
    });
  } finally {
    progress.stop();
  }
  printWarnings(result.warnings);
  if (o.dryRun) printPlan(result.items);
  printSummary(result.items);
  finish(result.items, o.dryRun);
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
  const lines = items.map((i) => `${i.outcome.padEnd(10)} ${KIND_DEFS[i.kind].singular.padEnd(9)} ${i.key}${i.newKey ? ` -> ${i.newKey}` : ''}`);
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
