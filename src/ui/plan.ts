import { ApiError, call } from './api.js';
import { h, render } from './dom.js';

type Risk = { kind: string; level: string; reason: string; field: string };
type Gate = { id: string; kind: string; level: string; resolution: 'manual' | 'auto'; reason: string };
type Review = { verdict: string; highest_risk_level: string; risk_count: number; manual_review_gate_count: number; auto_resolvable_gate_count: number; human_review_required: boolean };
type Draft = { name: string; description: string; route: { method: string; endpoint: string; operation: string }; trust_card: { source_digest_sha256: string; draft_digest_sha256: string; license: string | null; provenance: string | null; activation_review: Review }; risks: Risk[]; review_gates: Gate[] };
type Plan = { source: { name: string; kind: string }; plan_digest_sha256: string; source_digest_sha256: string; drafts: Draft[]; warnings: string[] };

const VERDICT_CLASS: Record<string, string> = { ready: 'ok', needs_review: '', blocked: 'bad' };

function trustCard(d: Draft) {
  const r = d.trust_card.activation_review;
  return h('details', { class: 'trust' },
    h('summary', {}, h('strong', {}, d.name), ' ', h('span', { class: `badge ${VERDICT_CLASS[r.verdict] ?? ''}` }, r.verdict), ` ${d.route.method} ${d.route.operation}`,
      h('span', { class: 'hint' }, ` — highest risk ${r.highest_risk_level}, ${r.risk_count} risks, ${r.manual_review_gate_count} manual / ${r.auto_resolvable_gate_count} automatic gates`)),
    h('p', {}, d.description),
    h('p', { class: 'hint' }, `license ${d.trust_card.license ?? 'none'} · provenance ${d.trust_card.provenance ?? 'none'} · draft digest ${d.trust_card.draft_digest_sha256.slice(0, 16)}…`),
    d.risks.length ? h('ul', {}, d.risks.map((x) => h('li', {}, h('strong', {}, `${x.level} ${x.kind}`), ` (${x.field}): ${x.reason}`))) : h('p', {}, 'No risks found.'),
    d.review_gates.length ? h('ul', {}, d.review_gates.map((g) => h('li', {}, `gate ${g.id}: ${g.resolution === 'manual' ? 'a person decides' : 'a safe default resolves it'} — ${g.reason}`))) : null);
}

/** Upload an API description and read the planner's drafts and TrustCards (writes nothing). */
export function planPage(main: HTMLElement): void {
  const kind = h('select', { id: 'plan-kind' }, ['openapi', 'graphql', 'postman', 'oci-mcp-package'].map((k) => h('option', { value: k }, k)));
  const name = h('input', { type: 'text', id: 'plan-name', placeholder: 'e.g. petstore' });
  const file = h('input', { type: 'file', id: 'plan-file' });
  const out = h('section', { 'aria-live': 'polite', 'aria-label': 'Plan' });
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = file.files?.[0];
    if (!f) return render(out, h('div', { class: 'alert' }, 'Choose a file first.'));
    render(out, h('p', {}, 'Planning…'));
    const q = new URLSearchParams({ kind: kind.value });
    if (name.value.trim()) q.set('source_name', name.value.trim());
    try {
      const plan = (await call(`/admin/api/import-plan?${q}`, { method: 'POST', body: await f.text(), contentType: 'application/octet-stream' })).body as Plan;
      const counts = plan.drafts.reduce<Record<string, number>>((a, d) => ((a[d.trust_card.activation_review.verdict] = (a[d.trust_card.activation_review.verdict] ?? 0) + 1), a), {});
      render(out,
        h('h2', {}, `${plan.drafts.length} drafts from ${plan.source.name} (${plan.source.kind})`),
        h('p', {}, Object.entries(counts).map(([v, n]) => `${n} ${v}`).join(' · '), h('br'), h('span', { class: 'hint' }, `plan digest ${plan.plan_digest_sha256} · source digest ${plan.source_digest_sha256}`)),
        plan.warnings.length ? h('div', { class: 'alert' }, h('ul', {}, plan.warnings.map((w) => h('li', {}, w)))) : null,
        h('p', { class: 'hint' }, 'Drafts are disabled until activated. To activate: mcpgateway import apply --kind ', kind.value, ' FILE, then mcpgateway import activate MANIFEST --approve (recorded in the audit file).'),
        plan.drafts.map(trustCard));
    } catch (err) {
      render(out, h('div', { class: 'alert' }, err instanceof ApiError ? `${err.problem.code ?? err.status}: ${err.message}` : String(err)));
    }
  };
  render(main,
    h('h1', {}, 'Import planner'),
    h('form', { onsubmit: submit, 'aria-label': 'Plan an API import' },
      h('label', { for: 'plan-kind' }, 'Kind of document'), kind,
      h('label', { for: 'plan-name' }, 'Source name'), name,
      h('label', { for: 'plan-file' }, 'OpenAPI / Swagger, GraphQL, Postman or server.json file'), file,
      h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Preview plan'))),
    out);
}
