import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { loadConfig } from '../config.js';
import { GatewayError } from '../errors.js';
import { FORMATS, formatPlan, type Format } from '../importers/planner/format.js';
import { IMPORT_KINDS, type ImportKind, type ImportPlan } from '../importers/planner/types.js';

// The planner and its parsers load only when a planner command runs, so other commands start fast.
const planner = () => import('../importers/planner/apply.js');

interface PlanFlags {
  kind: ImportKind;
  format: Format;
  sourceName?: string;
  contextIntegrityProfile?: string;
  endpoint?: string;
  maxBytes?: string;
  validate?: boolean;
}

/** `import preview`, `import apply`, `import activate`, `import rollback`: the safe import planner. */
export function importPlanCommands(importCommand: Command): void {
  const planOptions = (command: Command) =>
    command
      .addOption(new Option('--kind <kind>', 'what FILE is').choices([...IMPORT_KINDS]).makeOptionMandatory())
      .addOption(new Option('-f, --format <format>', 'output for people (table), tools (json) or grep (plain)').choices([...FORMATS]).default('table'))
      .option('--source-name <name>', 'the source name in the plan (default: the file name without extension)')
      .option('--context-integrity-profile <profile>', 'policy profile attached to every draft', 'imported_tool_baseline')
      .option('--endpoint <url>', 'GraphQL endpoint for an SDL or introspection file, which names none')
      .option('--max-bytes <n>', 'refuse sources larger than this (default 64 MiB)')
      .option('--validate', 'openapi: also run the full OpenAPI validation (slow on large descriptions); findings become plan warnings');

  planOptions(importCommand.command('preview').description('print the deterministic import plan; writes nothing').argument('<file>', 'the source document')).action(
    async (file: string, flags: PlanFlags) => {
      process.stdout.write(formatPlan(await plan(file, flags), flags.format));
    },
  );

  planOptions(
    importCommand
      .command('apply')
      .description('write the plan\'s drafts (enabled: false) and a manifest; never overwrites without --force')
      .argument('<file>', 'the source document')
      .option('-o, --output <dir>', 'draft directory (kept apart from the served capability directories)', 'capability-drafts')
      .option('--force', 'replace existing drafts and manifest'),
  ).action(async (file: string, flags: PlanFlags & { output: string; force?: boolean }) => {
    const { applyPlan } = await planner();
    const result = applyPlan(await plan(file, flags), flags.output, { force: Boolean(flags.force) });
    const m = result.manifest;
    if (flags.format === 'json') {
      process.stdout.write(`${JSON.stringify({ manifest_path: result.manifestPath, ...m }, null, 2)}\n`);
      return;
    }
    if (flags.format === 'plain') {
      for (const w of m.written) process.stdout.write(`written\t${w.file}\t${w.verdict}\t${w.sha256}\n`);
      for (const s of m.skipped) process.stdout.write(`skipped\t${s.draft}\t${s.reason}\n`);
      process.stdout.write(`manifest\t${result.manifestPath}\n`);
      return;
    }
    process.stdout.write(
      [
        `Wrote ${m.written.length} disabled draft(s) to ${flags.output}; skipped ${m.skipped.length}.`,
        ...m.skipped.map((s) => `  skipped ${s.draft}: ${s.reason}`),
        `Review gates: ${m.gate_counts.total} (${m.gate_counts.manual} manual, ${m.gate_counts.auto} auto); blocked drafts: ${m.gate_counts.blocked_drafts}.`,
        `Manifest: ${result.manifestPath}`,
        'Next:',
        ...m.next_steps.map((s) => `  - ${s}`),
        '',
      ].join('\n'),
    );
  });

  importCommand
    .command('activate')
    .description('move approved drafts into the first CAPABILITY_DIRS folder, enabled, and audit it')
    .argument('<manifest>', 'the manifest import apply wrote')
    .option('--draft <name...>', 'only these drafts (default: every draft in the manifest)')
    .option('--approve', 'confirm that the drafts were reviewed')
    .option('--capability-dir <dir>', 'where to activate (default: the first of CAPABILITY_DIRS)')
    .option('--actor <name>', 'who approves, for the audit record (default: the login name)')
    .option('--force', 'replace an active capability of the same name')
    .action(async (manifest: string, flags: { draft?: string[]; approve?: boolean; capabilityDir?: string; actor?: string; force?: boolean }) => {
      const { activate } = await planner();
      const capabilityDir = flags.capabilityDir ?? loadConfig().capabilityDirs[0];
      if (!capabilityDir) throw new GatewayError('CONFIG_INVALID', 'CAPABILITY_DIRS is empty; pass --capability-dir');
      const result = activate(manifest, {
        ...(flags.draft ? { drafts: flags.draft } : {}),
        approve: Boolean(flags.approve),
        capabilityDir,
        actor: flags.actor ?? process.env.USER ?? userInfo().username,
        force: Boolean(flags.force),
      });
      for (const file of result.activated) process.stdout.write(`activated\t${file}\n`);
      process.stdout.write(`audit\t${result.auditFile}\n`);
    });

  importCommand
    .command('rollback')
    .description('remove exactly the drafts and manifest an apply wrote (edited drafts are kept unless --force)')
    .argument('<manifest>', 'the manifest import apply wrote')
    .option('--force', 'remove drafts edited since apply too')
    .option('--capability-dir <dir>', 'where the audit record goes (default: the first of CAPABILITY_DIRS)')
    .option('--actor <name>', 'who rolls back, for the audit record (default: the login name)')
    .action(async (manifest: string, flags: { force?: boolean; capabilityDir?: string; actor?: string }) => {
      const { rollback } = await planner();
      const auditDir = flags.capabilityDir ?? loadConfig().capabilityDirs[0];
      const result = rollback(manifest, {
        force: Boolean(flags.force),
        ...(auditDir ? { auditDir } : {}),
        actor: flags.actor ?? process.env.USER ?? userInfo().username,
      });
      for (const file of result.removed) process.stdout.write(`removed\t${file}\n`);
      for (const file of result.kept) process.stdout.write(`kept\t${file}\n`);
      if (result.auditFile) process.stdout.write(`audit\t${result.auditFile}\n`);
      if (result.kept.length > 0) process.exitCode = 1;
    });
}

async function plan(file: string, flags: PlanFlags): Promise<ImportPlan> {
  const { planSource } = await import('../importers/planner/preview.js');
  let maxBytes: number | undefined;
  if (flags.maxBytes !== undefined) {
    if (!/^\d+$/.test(flags.maxBytes)) throw new GatewayError('CLI_USAGE', `--max-bytes must be a whole number, not "${flags.maxBytes}"`);
    maxBytes = Number(flags.maxBytes);
  }
  if (flags.contextIntegrityProfile && !/^[a-z0-9_]{1,64}$/.test(flags.contextIntegrityProfile)) {
    throw new GatewayError('CLI_USAGE', '--context-integrity-profile must be 1-64 characters of a-z, 0-9 and "_"');
  }
  if (flags.endpoint && !/^https?:\/\/[^\s]+$/.test(flags.endpoint)) throw new GatewayError('CLI_USAGE', '--endpoint must be an http or https URL');
  return planSource({
    kind: flags.kind,
    file,
    ...(flags.sourceName ? { sourceName: flags.sourceName } : {}),
    ...(flags.contextIntegrityProfile ? { contextIntegrityProfile: flags.contextIntegrityProfile } : {}),
    ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
    validate: Boolean(flags.validate),
  });
}
