import { isIP } from 'node:net';
import { RISK_LEVELS, type JsonObject, type Operation, type ReviewGate, type Risk, type RiskKind, type RiskLevel, type SourceInfo } from './types.js';

/** Selections deeper than this are an unbounded-query risk. */
export const MAX_SELECTION_DEPTH = 3;

// Field names that mark sensitive data, by category; matched as whole words of the name.
const SENSITIVE: { category: string; level: RiskLevel; words: RegExp; formats: string[] }[] = [
  {
    category: 'secrets',
    level: 'high',
    words: /(^|_)(password|passwd|secret|token|api_?key|private_?key|credentials?|client_secret)($|_)/,
    formats: ['password'],
  },
  {
    category: 'payment data',
    level: 'high',
    words: /(^|_)(card_?number|credit_?card|cvv|cvc|iban|account_?number|routing_?number|pan|bank_?account)($|_)/,
    formats: ['credit-card'],
  },
  {
    category: 'personal data',
    level: 'medium',
    words: /(^|_)(ssn|social_?security(_number)?|email|e_?mail_?address|phone(_?number)?|birth_?date|date_?of_?birth|dob|passport(_?number)?|tax_?id|national_?id|home_?address|street_?address)($|_)/,
    formats: ['email', 'phone'],
  },
];

/** Every risk of one operation, deduplicated by kind (the highest level is kept). */
export function detectRisks(op: Operation, source: SourceInfo): Risk[] {
  const risks: Risk[] = [];
  const add = (kind: RiskKind, level: RiskLevel, reason: string, field: string) => risks.push({ kind, level, reason, field });
  const f = op.facts;
  const noAuth = f.auth_declared && f.auth_schemes.length === 0;

  if (f.effect !== 'read') add('mutating', 'medium', `${op.route.method} ${op.route.operation} changes state`, 'route.method');
  if (f.destructive || f.effect === 'delete') {
    const why = f.destructive_reason ? ` (${f.destructive_reason})` : '';
    if (noAuth) add('destructive', 'critical', `destructive operation that the source declares needs no authentication${why}`, 'route.method');
    else add('destructive', 'high', `destructive operation: deletes or overwrites data${why}`, 'route.method');
  }
  if (f.broad_scope) add('broad_scope', f.effect === 'delete' ? 'critical' : 'high', f.broad_scope, 'route.endpoint');
  if (f.effect !== 'read' && !f.auth_declared) add('ambiguous_auth', 'high', 'mutating operation with no declared authentication', 'auth');
  const schemeTypes = new Set(f.auth_schemes.map((s) => s.split(':', 1)[0]));
  if (schemeTypes.size > 1) add('ambiguous_auth', 'medium', `several authentication schemes declared (${f.auth_schemes.join(', ')})`, 'auth');
  if (f.unbounded_list) add('unbounded_query', 'medium', 'returns a list with no pagination or limit argument', 'output_schema');
  if (f.selection_depth !== null && f.selection_depth > MAX_SELECTION_DEPTH) {
    add('unbounded_query', 'medium', `selection depth ${f.selection_depth} exceeds ${MAX_SELECTION_DEPTH}`, 'route.operation');
  }
  for (const found of sensitiveFields(op.input_schema, '$.input_schema').concat(sensitiveFields(op.output_schema, '$.output_schema'))) {
    add('sensitive_data', found.level, `${found.category}: ${found.name}`, found.path);
  }
  const external = f.egress_hosts.filter((h) => !isLocalHost(h));
  if (f.plaintext_http && external.length > 0) add('external_network', 'high', `sends requests over plain http to ${external.join(', ')}`, 'route.endpoint');
  else if (external.length > 0) add('external_network', 'medium', `sends requests to ${external.join(', ')}`, 'route.endpoint');
  if (f.provenance_gap) add('missing_provenance', 'medium', f.provenance_gap, 'route.endpoint');
  risks.push(...sourceRisks(source));
  return dedupe(risks);
}

/** Risks that come from the source as a whole: license, provenance, digests. */
export function sourceRisks(source: SourceInfo): Risk[] {
  const risks: Risk[] = [];
  if (!source.license) risks.push({ kind: 'missing_license', level: 'low', reason: 'the source declares no license', field: 'source.license' });
  if (!source.provenance) {
    risks.push({ kind: 'missing_provenance', level: 'medium', reason: 'the source carries no provenance (who published it, from where)', field: 'source.provenance' });
  }
  if (source.declared_digest && source.referenced_digest && normalizeDigest(source.declared_digest) !== normalizeDigest(source.referenced_digest)) {
    risks.push({
      kind: 'digest_mismatch',
      level: 'critical',
      reason: `the declared digest ${source.declared_digest} does not match the referenced artifact ${source.referenced_digest}`,
      field: 'source.digest',
    });
  }
  return risks;
}

const GATE_RESOLUTION: Record<RiskKind, 'manual' | 'auto'> = {
  mutating: 'auto', // resolved by the confirm-before-call policy default
  destructive: 'manual',
  broad_scope: 'manual',
  ambiguous_auth: 'manual',
  unbounded_query: 'auto', // resolved by the result-size limit policy default
  sensitive_data: 'manual',
  external_network: 'manual',
  missing_license: 'auto', // recorded in the audit trail
  missing_provenance: 'manual',
  digest_mismatch: 'manual',
};

/** One review gate per risk. */
export function gatesFor(prefix: string, risks: Risk[]): ReviewGate[] {
  return risks.map((risk) => ({
    id: `${prefix}:${risk.kind}`,
    kind: risk.kind,
    level: risk.level,
    resolution: GATE_RESOLUTION[risk.kind],
    reason: risk.reason,
  }));
}

export function levelRank(level: RiskLevel): number {
  return RISK_LEVELS.indexOf(level);
}

/** Keep one risk per kind: the highest level, naming every field that raised it. */
function dedupe(risks: Risk[]): Risk[] {
  const byKind = new Map<RiskKind, Risk[]>();
  for (const risk of risks) byKind.set(risk.kind, [...(byKind.get(risk.kind) ?? []), risk]);
  const result: Risk[] = [];
  for (const [, group] of byKind) {
    const sorted = [...group].sort((a, b) => levelRank(b.level) - levelRank(a.level) || a.field.localeCompare(b.field));
    const top = sorted[0]!;
    const others = [...new Set(sorted.slice(1).map((r) => r.reason))].filter((r) => r !== top.reason);
    const more = others.length > 0 ? `; also ${others.slice(0, 5).join('; ')}${others.length > 5 ? ` (and ${others.length - 5} more)` : ''}` : '';
    result.push({ ...top, reason: top.reason + more });
  }
  return result.sort((a, b) => a.kind.localeCompare(b.kind));
}

interface SensitiveField {
  category: string;
  level: RiskLevel;
  name: string;
  path: string;
}

/** Properties of a JSON Schema whose names or formats mark sensitive data (follows $defs, bounded). */
export function sensitiveFields(schema: JsonObject | null, base: string): SensitiveField[] {
  const found: SensitiveField[] = [];
  const seen = new Set<unknown>();
  const walk = (node: unknown, path: string, depth: number) => {
    if (!node || typeof node !== 'object' || seen.has(node) || depth > 32 || found.length > 50) return;
    seen.add(node);
    if (Array.isArray(node)) {
      node.forEach((child, i) => walk(child, `${path}[${i}]`, depth + 1));
      return;
    }
    const obj = node as JsonObject;
    const props = obj.properties;
    if (props && typeof props === 'object' && !Array.isArray(props)) {
      for (const [name, sub] of Object.entries(props as JsonObject)) {
        const hit = classify(name, (sub as JsonObject | null)?.format);
        if (hit) found.push({ ...hit, name, path: `${path}.properties.${name}` });
      }
    }
    for (const [key, value] of Object.entries(obj)) if (typeof value === 'object') walk(value, `${path}.${key}`, depth + 1);
  };
  walk(schema, base, 0);
  return found;
}

function classify(name: string, format: unknown): { category: string; level: RiskLevel } | undefined {
  const snake = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[-\s.]+/g, '_').toLowerCase();
  for (const rule of SENSITIVE) {
    if (rule.words.test(snake) || (typeof format === 'string' && rule.formats.includes(format))) return { category: rule.category, level: rule.level };
  }
  return undefined;
}

/** Loopback, private and link-local addresses, and names that only resolve locally. */
export function isLocalHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal')) return true;
  if (isIP(h) === 4) {
    const [a, b] = h.split('.').map(Number) as [number, number];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  if (isIP(h) === 6) return h === '::1' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80');
  return false;
}

function normalizeDigest(d: string): string {
  return d.toLowerCase().replace(/^sha256:/, '');
}
