import { describe, expect, it } from 'vitest';
import { activationReview } from './plan.js';
import { detectRisks, gatesFor, isLocalHost, sensitiveFields } from './risks.js';
import type { Operation, OperationFacts, RiskKind, SourceInfo } from './types.js';

const SOURCE: SourceInfo = { name: 's', kind: 'openapi', uri: null, license: 'MIT', provenance: 'https://example.org/release/1' };

function op(facts: Partial<OperationFacts> = {}, schemas: { input?: Record<string, unknown>; output?: Record<string, unknown> } = {}): Operation {
  return {
    name: 'get_thing',
    title: 'Get thing',
    description: '',
    route: { protocol: 'http', method: 'GET', endpoint: 'http://127.0.0.1/thing', operation: 'getThing' },
    input_schema: schemas.input ?? { type: 'object', properties: { id: { type: 'string' } } },
    output_schema: schemas.output ?? null,
    tags: [],
    facts: {
      effect: 'read',
      destructive: false,
      auth_schemes: ['bearer'],
      auth_declared: true,
      broad_scope: null,
      unbounded_list: false,
      selection_depth: null,
      egress_hosts: ['127.0.0.1'],
      plaintext_http: false,
      ...facts,
    },
    target: { type: 'capability', capability: {} },
  };
}

const kinds = (o: Operation, source = SOURCE) => detectRisks(o, source).map((r) => r.kind);
const levelOf = (o: Operation, kind: RiskKind, source = SOURCE) => detectRisks(o, source).find((r) => r.kind === kind)?.level;

describe('detectRisks', () => {
  it('finds nothing in an authenticated local read from a licensed, attributed source', () => {
    expect(detectRisks(op(), SOURCE)).toEqual([]);
  });

  it('flags a mutating operation, and not a read', () => {
    expect(kinds(op({ effect: 'write' }))).toContain('mutating');
    expect(kinds(op({ effect: 'read' }))).not.toContain('mutating');
  });

  it('flags a destructive operation high, and critical when the source says it needs no auth', () => {
    expect(levelOf(op({ effect: 'delete' }), 'destructive')).toBe('high');
    expect(levelOf(op({ effect: 'write', destructive: true, auth_schemes: [], auth_declared: true }), 'destructive')).toBe('critical');
    expect(kinds(op({ effect: 'write' }))).not.toContain('destructive');
  });

  it('flags broad scope, critical for a broad delete', () => {
    expect(levelOf(op({ broad_scope: 'bulk' }), 'broad_scope')).toBe('high');
    expect(levelOf(op({ broad_scope: 'bulk', effect: 'delete' }), 'broad_scope')).toBe('critical');
    expect(kinds(op())).not.toContain('broad_scope');
  });

  it('flags ambiguous auth: mutating without declared auth, or conflicting schemes', () => {
    expect(levelOf(op({ effect: 'write', auth_declared: false, auth_schemes: [] }), 'ambiguous_auth')).toBe('high');
    expect(levelOf(op({ auth_schemes: ['bearer', 'apiKey:header'] }), 'ambiguous_auth')).toBe('medium');
    expect(kinds(op({ auth_schemes: ['apiKey:header', 'apiKey:query'] }))).not.toContain('ambiguous_auth');
    expect(kinds(op({ effect: 'read', auth_declared: false, auth_schemes: [] }))).not.toContain('ambiguous_auth');
  });

  it('flags unbounded queries: lists without paging, and deep selections', () => {
    expect(kinds(op({ unbounded_list: true }))).toContain('unbounded_query');
    expect(kinds(op({ selection_depth: 4 }))).toContain('unbounded_query');
    expect(kinds(op({ selection_depth: 3 }))).not.toContain('unbounded_query');
  });

  it('flags sensitive data by field name and format, in inputs and outputs', () => {
    expect(levelOf(op({}, { input: { type: 'object', properties: { apiKey: { type: 'string' } } } }), 'sensitive_data')).toBe('high');
    expect(levelOf(op({}, { output: { type: 'object', properties: { card_number: { type: 'string' } } } }), 'sensitive_data')).toBe('high');
    expect(levelOf(op({}, { output: { type: 'object', properties: { contact: { type: 'string', format: 'email' } } } }), 'sensitive_data')).toBe('medium');
    expect(kinds(op({}, { input: { type: 'object', properties: { tokenizer: { type: 'string' }, title: { type: 'string' } } } }))).not.toContain('sensitive_data');
  });

  it('flags egress to public hosts, high over plain http, and not to local ones', () => {
    expect(levelOf(op({ egress_hosts: ['api.example.com'] }), 'external_network')).toBe('medium');
    expect(levelOf(op({ egress_hosts: ['api.example.com'], plaintext_http: true }), 'external_network')).toBe('high');
    expect(kinds(op({ egress_hosts: ['10.0.0.4', 'localhost'] }))).not.toContain('external_network');
  });

  it('flags a missing license and missing provenance from the source', () => {
    expect(kinds(op(), { ...SOURCE, license: null })).toContain('missing_license');
    expect(kinds(op(), { ...SOURCE, provenance: null })).toContain('missing_provenance');
    expect(kinds(op({ provenance_gap: 'image tag is not pinned' }))).toContain('missing_provenance');
  });

  it('flags a digest mismatch as critical, and matching digests not at all', () => {
    const a = 'sha256:' + 'a'.repeat(64);
    expect(levelOf(op(), 'digest_mismatch', { ...SOURCE, declared_digest: a, referenced_digest: 'sha256:' + 'b'.repeat(64) })).toBe('critical');
    expect(kinds(op(), { ...SOURCE, declared_digest: a, referenced_digest: a.toUpperCase().replace('SHA256', 'sha256') })).not.toContain('digest_mismatch');
  });

  it('keeps one risk per kind, at the highest level found', () => {
    const risks = detectRisks(
      op({}, { input: { type: 'object', properties: { email: { type: 'string' }, password: { type: 'string' } } } }),
      SOURCE,
    );
    const sensitive = risks.filter((r) => r.kind === 'sensitive_data');
    expect(sensitive).toHaveLength(1);
    expect(sensitive[0]!.level).toBe('high');
    expect(sensitive[0]!.reason).toMatch(/password.*also.*email|email.*password/s);
  });
});

describe('activation review', () => {
  it('is ready with no manual gates, needs review with one, blocked with a critical risk', () => {
    const ready = detectRisks(op({ effect: 'write' }), SOURCE); // mutating: an auto gate
    expect(activationReview(ready, gatesFor('x', ready)).verdict).toBe('ready');
    const review = detectRisks(op({ egress_hosts: ['api.example.com'] }), SOURCE);
    expect(activationReview(review, gatesFor('x', review))).toMatchObject({ verdict: 'needs_review', human_review_required: true, manual_review_gate_count: 1 });
    const blocked = detectRisks(op({ effect: 'delete', auth_schemes: [], auth_declared: true }), SOURCE);
    expect(activationReview(blocked, gatesFor('x', blocked))).toMatchObject({ verdict: 'blocked', highest_risk_level: 'critical', enabled_by_default: false });
  });
});

describe('helpers', () => {
  it('finds sensitive fields through $defs without looping on recursion', () => {
    const node: Record<string, unknown> = { type: 'object', properties: { ssn: { type: 'string' } } };
    (node.properties as Record<string, unknown>).self = node;
    expect(sensitiveFields({ $defs: { Person: node } }, '$').map((f) => f.name)).toEqual(['ssn']);
  });

  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['svc.internal', true],
    ['8.8.8.8', false],
    ['172.32.0.1', false],
    ['api.github.com', false],
  ])('isLocalHost(%s) is %s', (host, local) => {
    expect(isLocalHost(host)).toBe(local);
  });
});
