/**
 * The safe import planner's model (SPEC §7, issue 6). Every importer (openapi, graphql, postman,
 * oci-mcp-package) turns its source into `SourceInfo` and `Operation`s; the planner alone turns
 * those into risks, review gates, TrustCards, digests and the plan.
 */

export const IMPORT_KINDS = ['openapi', 'graphql', 'postman', 'oci-mcp-package'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

export type JsonObject = Record<string, unknown>;

/** What is known about where the source came from. */
export interface SourceInfo {
  name: string;
  kind: ImportKind;
  uri: string | null;
  license: string | null;
  provenance: string | null;
  /** A digest the source declares for the artifact it describes (OCI images, packages). */
  declared_digest?: string | null;
  /** The digest the artifact reference actually names, when the source gives both. */
  referenced_digest?: string | null;
}

export type Effect = 'read' | 'write' | 'delete';

/** Facts an importer reads off the source; risk detection works from these alone. */
export interface OperationFacts {
  effect: Effect;
  /** The source itself says the operation is destructive (MCP destructiveHint, DELETE). */
  destructive: boolean;
  /** Why it reads as destructive (HTTP DELETE, a verb in its name, its return type, its description). */
  destructive_reason?: string;
  /** Auth schemes the source declares for this operation ([] = declared as none). */
  auth_schemes: string[];
  /** Whether the source says anything at all about auth for this operation. */
  auth_declared: boolean;
  /** Why the operation acts broadly (bulk, wildcard, admin scope), if it does. */
  broad_scope: string | null;
  /** Returns a list with no pagination or limit argument. */
  unbounded_list: boolean;
  /** Depth of the generated selection (GraphQL), when that applies. */
  selection_depth: number | null;
  /** The hosts the operation sends requests to. */
  egress_hosts: string[];
  /** Whether the endpoint is plain http rather than https. */
  plaintext_http: boolean;
  /** Why what runs cannot be pinned down (an unpinned package version or image tag), if so. */
  provenance_gap?: string | null;
}

/** What a draft would become: a REST tool capability, or a gateway registration (packages). */
export type DraftTarget = { type: 'capability'; capability: JsonObject } | { type: 'gateway'; gateway: JsonObject; reason: string };

/** One operation as an importer describes it. */
export interface Operation {
  name: string;
  title: string;
  description: string;
  route: { protocol: 'http' | 'graphql' | 'mcp'; method: string; endpoint: string; operation: string };
  input_schema: JsonObject;
  output_schema: JsonObject | null;
  tags: string[];
  facts: OperationFacts;
  target: DraftTarget;
}

/** What every importer gives the planner: where the source came from, its operations, its warnings. */
export interface ImporterResult {
  source: SourceInfo;
  /** The parsed document the source digest is taken over. */
  document: unknown;
  operations: Operation[];
  warnings: string[];
}

/** One source file, as every importer is given it. */
export interface ImporterInput {
  file: string;
  sourceName: string;
  /** Largest source read (IMPORT_MAX_BYTES); a bigger one is IMPORT_TOO_LARGE. */
  maxBytes: number;
  /** GraphQL SDL and introspection files name no endpoint. */
  endpoint?: string;
  /** OpenAPI: the parser's full validation instead of the structural checks. */
  validate?: boolean;
}

/** The one shape of an importer: a kind of source in, the planner's operations out. */
export interface Importer {
  readonly kind: ImportKind;
  read(input: ImporterInput): Promise<ImporterResult>;
}

export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export const RISK_KINDS = [
  'mutating',
  'destructive',
  'broad_scope',
  'ambiguous_auth',
  'unbounded_query',
  'sensitive_data',
  'external_network',
  'missing_license',
  'missing_provenance',
  'digest_mismatch',
] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

export interface Risk {
  kind: RiskKind;
  level: RiskLevel;
  reason: string;
  /** Where in the draft or source the risk was seen (a JSON path or a field name). */
  field: string;
}

export interface ReviewGate {
  id: string;
  kind: RiskKind;
  level: RiskLevel;
  /** manual: a person must decide; auto: a safe policy default resolves it on activation. */
  resolution: 'manual' | 'auto';
  reason: string;
}

export type Verdict = 'ready' | 'needs_review' | 'blocked';

export interface ActivationReview {
  enabled_by_default: false;
  verdict: Verdict;
  highest_risk_level: RiskLevel | 'none';
  risk_count: number;
  review_gate_count: number;
  manual_review_gate_count: number;
  auto_resolvable_gate_count: number;
  human_review_required: boolean;
}

export interface TrustCard {
  source_name: string;
  source_kind: ImportKind;
  source_digest_sha256: string;
  draft_digest_sha256: string;
  uri: string | null;
  license: string | null;
  provenance: string | null;
  evidence: 'generated' | 'verified';
  activation_review: ActivationReview;
}

export interface PolicyDefaults {
  activation: 'manual';
  auth: 'required' | 'as_declared';
  confirm_before_call: boolean;
  network_egress: { allowed_hosts: string[]; review: 'manual' | 'auto' };
  context_integrity_profile: string;
  audit_required: true;
  rollback_required: true;
}

export interface Draft {
  id: string;
  name: string;
  title: string;
  description: string;
  enabled: false;
  route: Operation['route'];
  input_schema: JsonObject;
  output_schema: JsonObject | null;
  tags: string[];
  trust_card: TrustCard;
  risks: Risk[];
  review_gates: ReviewGate[];
  policy_defaults: PolicyDefaults;
  target: DraftTarget;
}

export interface ImportPlan {
  plan_version: '1';
  source: { name: string; kind: ImportKind; uri: string | null; license: string | null; provenance: string | null };
  source_digest_sha256: string;
  plan_digest_sha256: string;
  drafts: Draft[];
  review_gates: ReviewGate[];
  safe_defaults: {
    drafts_disabled: true;
    destructive_actions_confirm: true;
    ambiguous_auth_review: 'manual';
    broad_egress_review: 'manual';
    rollback_required: true;
  };
  reversible: true;
  warnings: string[];
}
