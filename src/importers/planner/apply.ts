import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, rmSync, rmdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { formatCapability, formatProblems, parseCapabilityText } from '../../capabilities/file.js';
import { capabilitySchema } from '../../capabilities/schema.js';
import { GatewayError } from '../../errors.js';
import { makeFolder, writeFileAtomic } from '../../files/writer.js';
import type { Draft, ImportPlan } from './types.js';

/** What `import apply` records: enough to review, activate and roll back exactly. */
export interface Manifest {
  schema_version: 1;
  source: ImportPlan['source'];
  source_digest_sha256: string;
  plan_digest_sha256: string;
  output_dir: string;
  created_output_dir: boolean;
  written: { draft: string; file: string; sha256: string; draft_digest_sha256: string; verdict: string }[];
  skipped: { draft: string; reason: string }[];
  gate_counts: { total: number; manual: number; auto: number; blocked_drafts: number };
  next_steps: string[];
  rollback: { command: string; files: string[] };
  activated: { draft: string; file: string; sha256: string; at: string; by: string }[];
}

const SAFE_FILE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** `import-plan-<first 12 hex of the plan digest>.manifest.json` */
export function manifestName(plan: ImportPlan): string {
  return `import-plan-${plan.plan_digest_sha256.slice(0, 12)}.manifest.json`;
}

/**
 * Write each capability draft (enabled: false) and the manifest into `outputDir`. Every target is
 * checked before anything is written; without `force` no existing file is replaced.
 */
export function applyPlan(plan: ImportPlan, outputDir: string, options: { force?: boolean; manifestDir?: string } = {}): { manifest: Manifest; manifestPath: string } {
  const outDir = resolve(outputDir);
  const files: { draft: Draft; path: string; text: string }[] = [];
  const skipped: Manifest['skipped'] = [];
  for (const draft of plan.drafts) {
    if (draft.target.type !== 'capability') {
      skipped.push({ draft: draft.name, reason: draft.target.reason });
      continue;
    }
    const path = safeChild(outDir, `${draft.name}.yaml`);
    const parsed = capabilitySchema.safeParse(draft.target.capability);
    if (!parsed.success) {
      skipped.push({ draft: draft.name, reason: `the generated capability is invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}` });
      continue;
    }
    files.push({ draft, path, text: formatCapability({ ...parsed.data, enabled: false }, header(plan, draft)) });
  }
  const manifestPath = join(outDir, manifestName(plan));
  const existing = [...files.map((f) => f.path), manifestPath].filter((p) => existsSync(p));
  if (existing.length > 0 && !options.force) {
    throw new GatewayError('IMPORT_OUTPUT_EXISTS', `would overwrite ${existing.length} file(s), e.g. ${existing[0]}; nothing was written (use --force to replace drafts)`);
  }
  const createdDir = !existsSync(outDir);
  makeFolder(outDir);
  const written: Manifest['written'] = [];
  for (const f of files) {
    writeFileAtomic(f.path, f.text);
    written.push({
      draft: f.draft.name,
      file: relative(outDir, f.path),
      sha256: sha256(f.text),
      draft_digest_sha256: f.draft.trust_card.draft_digest_sha256,
      verdict: f.draft.trust_card.activation_review.verdict,
    });
  }
  const gates = plan.drafts.flatMap((d) => d.review_gates).concat(plan.review_gates);
  const manifest: Manifest = {
    schema_version: 1,
    source: plan.source,
    source_digest_sha256: plan.source_digest_sha256,
    plan_digest_sha256: plan.plan_digest_sha256,
    output_dir: outputDir,
    created_output_dir: createdDir,
    written,
    skipped,
    gate_counts: {
      total: gates.length,
      manual: gates.filter((g) => g.resolution === 'manual').length,
      auto: gates.filter((g) => g.resolution === 'auto').length,
      blocked_drafts: plan.drafts.filter((d) => d.trust_card.activation_review.verdict === 'blocked').length,
    },
    next_steps: [
      `Review each draft in ${outputDir} and its risks (mcpgateway import preview --kind ${plan.source.kind} FILE -f table).`,
      'Validate any draft you edit: mcpgateway cap validate FILE.',
      `Activate approved drafts: mcpgateway import activate ${relative(process.cwd(), manifestPath) || manifestPath} --draft NAME --approve`,
      `Undo this apply: mcpgateway import rollback ${relative(process.cwd(), manifestPath) || manifestPath}`,
    ],
    rollback: { command: `mcpgateway import rollback ${relative(process.cwd(), manifestPath) || manifestPath}`, files: written.map((w) => w.file).concat(relative(outDir, manifestPath)) },
    activated: [],
  };
  writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, manifestPath };
}

export interface RollbackOptions {
  force?: boolean;
  /** With `actor`: append a rollback record to `capability-audit.jsonl` in this folder. */
  auditDir?: string;
  actor?: string;
  now?: Date;
}

/**
 * Remove exactly what an apply wrote; files edited since are kept unless `force`. With `auditDir`
 * and `actor`, the drafts removed are recorded in that folder's `capability-audit.jsonl`.
 */
export function rollback(manifestPath: string, options: RollbackOptions = {}): { removed: string[]; kept: string[]; auditFile?: string } {
  const { manifest, dir } = readManifest(manifestPath);
  const removed: string[] = [];
  const kept: string[] = [];
  const drafts: { name: string; file: string; applied_sha256: string; verdict: string }[] = [];
  for (const entry of manifest.written) {
    const path = safeChild(dir, entry.file);
    if (!existsSync(path)) continue; // activated (moved) or already removed
    if (!options.force && sha256(readFileSync(path, 'utf8')) !== entry.sha256) {
      kept.push(`${entry.file} (edited since apply; use --force to remove it)`);
      continue;
    }
    rmSync(path);
    removed.push(path);
    drafts.push({ name: entry.draft, file: path, applied_sha256: entry.sha256, verdict: entry.verdict });
  }
  if (kept.length === 0) {
    rmSync(resolve(manifestPath));
    removed.push(resolve(manifestPath));
    if (manifest.created_output_dir && readdirSync(dir).length === 0) rmdirSync(dir);
  }
  if (options.auditDir === undefined || options.actor === undefined || drafts.length === 0) return { removed, kept };
  const auditDir = resolve(options.auditDir);
  makeFolder(auditDir);
  const auditFile = join(auditDir, 'capability-audit.jsonl');
  const record = {
    at: (options.now ?? new Date()).toISOString(),
    actor: options.actor,
    action: 'rollback',
    plan_digest_sha256: manifest.plan_digest_sha256,
    source_digest_sha256: manifest.source_digest_sha256,
    source: manifest.source,
    manifest: resolve(manifestPath),
    drafts,
  };
  appendFileSync(auditFile, `${JSON.stringify(record)}\n`);
  return { removed, kept, auditFile };
}

export interface ActivateOptions {
  drafts?: string[];
  approve: boolean;
  capabilityDir: string;
  actor: string;
  force?: boolean;
  now?: Date;
}

/**
 * Move approved drafts into the capability directory with `enabled: true` and append an audit
 * record. Checks come first (approval, verdicts, digests, hand edits validated, targets free);
 * if any fails, nothing moves.
 */
export function activate(manifestPath: string, options: ActivateOptions): { activated: string[]; auditFile: string } {
  if (!options.approve) throw new GatewayError('IMPORT_NOT_APPROVED', 'activation changes what agents can call: review the drafts, then run again with --approve');
  const { manifest, dir } = readManifest(manifestPath);
  const wanted = options.drafts?.length ? options.drafts : manifest.written.map((w) => w.draft);
  const entries = wanted.map((name) => {
    const entry = manifest.written.find((w) => w.draft === name);
    if (!entry) {
      const why = manifest.activated.some((a) => a.draft === name) ? 'is already active' : manifest.skipped.some((s) => s.draft === name) ? 'was skipped by apply' : 'is not in this manifest';
      throw new GatewayError('IMPORT_MANIFEST_INVALID', `draft "${name}" ${why}`);
    }
    return entry;
  });
  const blocked = entries.filter((e) => e.verdict === 'blocked').map((e) => e.draft);
  if (blocked.length) throw new GatewayError('IMPORT_NOT_APPROVED', `blocked drafts cannot be approved: ${blocked.join(', ')}`);

  const capDir = resolve(options.capabilityDir);
  const plans = entries.map((entry) => {
    const from = safeChild(dir, entry.file);
    if (!existsSync(from)) throw new GatewayError('IMPORT_MANIFEST_INVALID', `draft file ${entry.file} is missing`);
    const text = readFileSync(from, 'utf8');
    const digest = sha256(text);
    const edited = digest !== entry.sha256;
    // Every draft is validated; a hand-edited one is also re-digested into the audit record.
    const check = parseCapabilityText(text, from);
    if (!check.ok) throw new GatewayError('IMPORT_MANIFEST_INVALID', `draft ${entry.file} does not pass cap validate: ${formatProblems(check.problems).join('; ')}`);
    if (check.capability.name !== entry.draft && !edited) throw new GatewayError('IMPORT_MANIFEST_INVALID', `draft ${entry.file} names "${check.capability.name}", not "${entry.draft}"`);
    const to = safeChild(capDir, `${check.capability.name}.yaml`);
    if (existsSync(to) && !options.force) throw new GatewayError('IMPORT_OUTPUT_EXISTS', `${to} exists; nothing was activated (use --force to replace it)`);
    const doc = parseDocument(text);
    doc.set('enabled', true);
    const at = (options.now ?? new Date()).toISOString();
    const activatedText = `# Activated ${at} by ${options.actor} (plan ${manifest.plan_digest_sha256.slice(0, 12)})\n${doc.toString({ lineWidth: 0 })}`;
    return { entry, from, to, edited, digest, text: activatedText, at };
  });

  makeFolder(capDir);
  for (const p of plans) {
    writeFileAtomic(p.to, p.text);
    rmSync(p.from);
  }
  const at = plans[0]?.at ?? (options.now ?? new Date()).toISOString();
  manifest.written = manifest.written.filter((w) => !plans.some((p) => p.entry === w));
  manifest.activated.push(...plans.map((p) => ({ draft: p.entry.draft, file: p.to, sha256: sha256(p.text), at: p.at, by: options.actor })));
  writeFileAtomic(resolve(manifestPath), `${JSON.stringify(manifest, null, 2)}\n`);
  const auditFile = join(capDir, 'capability-audit.jsonl');
  const record = {
    at,
    actor: options.actor,
    action: 'activate',
    plan_digest_sha256: manifest.plan_digest_sha256,
    source_digest_sha256: manifest.source_digest_sha256,
    source: manifest.source,
    manifest: resolve(manifestPath),
    drafts: plans.map((p) => ({
      name: p.entry.draft,
      file: p.to,
      draft_digest_sha256: p.entry.draft_digest_sha256,
      applied_sha256: p.entry.sha256,
      reviewed_sha256: p.digest,
      hand_edited: p.edited,
      verdict: p.entry.verdict,
    })),
  };
  appendFileSync(auditFile, `${JSON.stringify(record)}\n`);
  return { activated: plans.map((p) => p.to), auditFile };
}

function readManifest(manifestPath: string): { manifest: Manifest; dir: string } {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch (error) {
    throw new GatewayError('IMPORT_MANIFEST_INVALID', `cannot read manifest ${manifestPath}: ${(error as Error).message}`);
  }
  if (manifest?.schema_version !== 1 || !Array.isArray(manifest.written) || !Array.isArray(manifest.activated)) {
    throw new GatewayError('IMPORT_MANIFEST_INVALID', `${manifestPath} is not an import manifest (schema_version 1)`);
  }
  return { manifest, dir: dirname(resolve(manifestPath)) };
}

/** A file directly inside `dir`; a name that could leave it (`..`, `/`, `\\`) is refused. */
export function safeChild(dir: string, fileName: string): string {
  if (!SAFE_FILE.test(fileName) || fileName.includes('..')) {
    throw new GatewayError('IMPORT_MANIFEST_INVALID', `refusing the file name ${JSON.stringify(fileName)}: file names are letters, digits, ".", "_" and "-" only`);
  }
  const path = resolve(dir, fileName);
  if (dirname(path) !== resolve(dir)) throw new GatewayError('IMPORT_MANIFEST_INVALID', `refusing ${JSON.stringify(fileName)}: it leaves ${dir}`);
  return path;
}

function header(plan: ImportPlan, draft: Draft): string {
  const r = draft.trust_card.activation_review;
  return [
    `Generated by mcpgateway import apply; enabled: false until approved with mcpgateway import activate.`,
    `Source: ${plan.source.name} (${plan.source.kind}), digest ${plan.source_digest_sha256}`,
    `Plan digest: ${plan.plan_digest_sha256}`,
    `Draft digest: ${draft.trust_card.draft_digest_sha256}`,
    `Verdict: ${r.verdict}; highest risk ${r.highest_risk_level}; gates ${r.review_gate_count} (${r.manual_review_gate_count} manual, ${r.auto_resolvable_gate_count} auto)`,
    ...draft.risks.map((risk) => `Risk ${risk.level} ${risk.kind}: ${risk.reason.replace(/\s+/g, ' ').slice(0, 200)}`),
  ].join('\n');
}


function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
