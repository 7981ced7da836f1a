import { capabilitySchema } from '../../capabilities/schema.js';
import { assemble, canonicalJson, canonicalParts, digest, sha256 } from './digest.js';
import { detectRisks, gatesFor, isLocalHost, levelRank, sourceRisks } from './risks.js';
import type { ActivationReview, Draft, ImportPlan, Operation, PolicyDefaults, ReviewGate, Risk, SourceInfo, TrustCard, Verdict } from './types.js';

export const DEFAULT_PROFILE = 'imported_tool_baseline';

export interface PlanOptions {
  contextIntegrityProfile?: string;
  /** Notes from the importer (skipped items, duplicates repaired), carried into the plan. */
  warnings?: string[];
}

/**
 * Build the deterministic plan: same source and operations, same bytes. The source digest is
 * taken over the parsed document and its kind, so formatting does not change it.
 */
export function buildPlan(source: SourceInfo, document: unknown, operations: Operation[], options: PlanOptions = {}): ImportPlan {
  const profile = options.contextIntegrityProfile ?? DEFAULT_PROFILE;
  const sourceDigest = digest({ kind: source.kind, document });
  const names = new Set<string>();
  for (const op of operations) {
    if (names.has(op.name)) throw new Error(`importer produced two operations named "${op.name}"`);
    names.add(op.name);
  }
  // A draft apply would refuse is not offered: preview and apply agree on what is valid.
  const notes = [...(options.warnings ?? [])];
  const valid = operations.filter((op) => {
    if (op.target.type !== 'capability') return true;
    const parsed = capabilitySchema.safeParse(op.target.capability);
    if (parsed.success) return true;
    const issue = parsed.error.issues[0];
    notes.push(`draft "${op.name}" left out: the generated capability is invalid: ${issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'unknown'}`);
    return false;
  });
  const built = [...valid]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((op) => buildDraft(op, source, sourceDigest, profile));
  const drafts = built.map((b) => b.draft);
  const body: Omit<ImportPlan, 'plan_digest_sha256'> = {
    plan_version: '1',
    source: { name: source.name, kind: source.kind, uri: source.uri, license: source.license, provenance: source.provenance },
    source_digest_sha256: sourceDigest,
    drafts,
    review_gates: gatesFor('plan', sourceRisks(source)),
    safe_defaults: {
      drafts_disabled: true,
      destructive_actions_confirm: true,
      ambiguous_auth_review: 'manual',
      broad_egress_review: 'manual',
      rollback_required: true,
    },
    reversible: true,
    warnings: notes.sort(),
  };
  // The plan digest is over the canonical plan; each draft's canonical JSON is reused, not redone.
  const { drafts: _drafts, ...rest } = body;
  const parts = canonicalParts(rest);
  parts.set('drafts', `[${built.map((b) => b.canonical).join(',')}]`);
  const planDigest = sha256(assemble(parts));
  // Put the plan digest right after the source digest, for people reading the JSON.
  const { review_gates, safe_defaults, reversible, warnings, ...head } = rest;
  return { ...head, plan_digest_sha256: planDigest, drafts, review_gates, safe_defaults, reversible, warnings };
}

function buildDraft(op: Operation, source: SourceInfo, sourceDigest: string, profile: string): { draft: Draft; canonical: string } {
  const risks = detectRisks(op, source);
  const gates = gatesFor(`${source.kind}:${op.name}`, risks);
  const withoutCard = {
    id: `${source.kind}:${op.name}`,
    name: op.name,
    title: op.title,
    description: op.description,
    enabled: false as const,
    route: op.route,
    input_schema: op.input_schema,
    output_schema: op.output_schema,
    tags: [...op.tags].sort(),
    risks,
    review_gates: gates,
    policy_defaults: policyDefaults(op, profile),
    target: op.target,
  };
  const parts = canonicalParts(withoutCard);
  const trustCard: TrustCard = {
    source_name: source.name,
    source_kind: source.kind,
    source_digest_sha256: sourceDigest,
    draft_digest_sha256: sha256(assemble(parts)),
    uri: source.uri,
    license: source.license,
    provenance: source.provenance,
    evidence: isVerified(source) ? 'verified' : 'generated',
    activation_review: activationReview(risks, gates),
  };
  parts.set('trust_card', canonicalJson(trustCard));
  const { risks: r, review_gates: g, policy_defaults: p, target, ...rest } = withoutCard;
  return { draft: { ...rest, trust_card: trustCard, risks: r, review_gates: g, policy_defaults: p, target }, canonical: assemble(parts) };
}

/** The draft digest as recorded in its TrustCard: over the draft without the card. */
export function draftDigest(draft: Draft): string {
  const { trust_card: _card, ...withoutCard } = draft;
  return digest(withoutCard);
}

export function activationReview(risks: Risk[], gates: ReviewGate[]): ActivationReview {
  const highest = risks.reduce<Risk['level'] | 'none'>((top, r) => (top === 'none' || levelRank(r.level) > levelRank(top) ? r.level : top), 'none');
  const manual = gates.filter((g) => g.resolution === 'manual').length;
  const verdict: Verdict = highest === 'critical' ? 'blocked' : manual > 0 ? 'needs_review' : 'ready';
  return {
    enabled_by_default: false,
    verdict,
    highest_risk_level: highest,
    risk_count: risks.length,
    review_gate_count: gates.length,
    manual_review_gate_count: manual,
    auto_resolvable_gate_count: gates.length - manual,
    human_review_required: verdict !== 'ready',
  };
}

function policyDefaults(op: Operation, profile: string): PolicyDefaults {
  const f = op.facts;
  const hosts = [...new Set(f.egress_hosts)].sort();
  return {
    activation: 'manual',
    auth: f.auth_schemes.length > 0 ? 'required' : 'as_declared',
    confirm_before_call: f.effect !== 'read' || f.destructive,
    network_egress: { allowed_hosts: hosts, review: hosts.some((h) => !isLocalHost(h)) ? 'manual' : 'auto' },
    context_integrity_profile: profile,
    audit_required: true,
    rollback_required: true,
  };
}

function isVerified(source: SourceInfo): boolean {
  return Boolean(source.provenance && source.declared_digest && source.referenced_digest && source.declared_digest === source.referenced_digest);
}
