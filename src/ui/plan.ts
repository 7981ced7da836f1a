import { ApiError, call, canWrite, getJson } from './api.js';
import { confirmDialog, h, render } from './dom.js';

type Risk = { kind: string; level: string; reason: string; field: string };
type Gate = { id: string; kind: string; level: string; resolution: 'manual' | 'auto'; reason: string };
type Review = { verdict: string; highest_risk_level: string; risk_count: number; manual_review_gate_count: number; auto_resolvable_gate_count: number; human_review_required: boolean };
type Draft = { name: string; description: string; route: { method: string; endpoint: string; operation: string }; trust_card: { source_digest_sha256: string; draft_digest_sha256: string; license: string | null; provenance: string | null; activation_review: Review }; risks: Risk[]; review_gates: Gate[] };
type Plan = { source: { name: string; kind: string }; plan_digest_sha256: string; source_digest_sha256: string; drafts: Draft[]; warnings: string[] };
/** A manifest as GET /admin/api/import-drafts lists it. */
type Drafts = {
  id: string;
  source: { name: string; kind: string };
  plan_digest_sha256: string;
  drafts: { name: string; verdict: string }[];
  skipped: { draft: string; reason: string }[];
  activated: { name: string; at: string; by: string }[];
};

const VERDICT_CLASS: Record<string, string> = { ready: 'ok', needs_review: '', blocked: 'bad' };

function verdictBadge(verdict: string) {
  return h('span', { class: `badge ${VERDICT_CLASS[verdict] ?? ''}` }, verdict);
}

function problemText(err: unknown): string {
  return err instanceof ApiError ? `${err.problem.code ?? err.status}: ${err.message}` : String(err);
}

function trustCard(d: Draft) {
  const r = d.trust_card.activation_review;
  return h('details', { class: 'trust' },
    h('summary', {}, h('strong', {}, d.name), ' ', verdictBadge(r.verdict), ` ${d.route.method} ${d.route.operation}`,
      h('span', { class: 'hint' }, ` — highest risk ${r.highest_risk_level}, ${r.risk_count} risks, ${r.manual_review_gate_count} manual / ${r.auto_resolvable_gate_count} automatic gates`)),
    h('p', {}, d.description),
    h('p', { class: 'hint' }, `license ${d.trust_card.license ?? 'none'} · provenance ${d.trust_card.provenance ?? 'none'} · draft digest ${d.trust_card.draft_digest_sha256.slice(0, 16)}…`),
    d.risks.length ? h('ul', {}, d.risks.map((x) => h('li', {}, h('strong', {}, `${x.level} ${x.kind}`), ` (${x.field}): ${x.reason}`))) : h('p', {}, 'No risks found.'),
    d.review_gates.length ? h('ul', {}, d.review_gates.map((g) => h('li', {}, `gate ${g.id}: ${g.resolution === 'manual' ? 'a person decides' : 'a safe default resolves it'} — ${g.reason}`))) : null);
}

function planView(plan: Plan) {
  const counts = plan.drafts.reduce<Record<string, number>>((a, d) => ((a[d.trust_card.activation_review.verdict] = (a[d.trust_card.activation_review.verdict] ?? 0) + 1), a), {});
  return [
    h('h2', {}, `${plan.drafts.length} drafts from ${plan.source.name} (${plan.source.kind})`),
    h('p', {}, Object.entries(counts).map(([v, n]) => `${n} ${v}`).join(' · '), h('br'), h('span', { class: 'hint' }, `plan digest ${plan.plan_digest_sha256} · source digest ${plan.source_digest_sha256}`)),
    plan.warnings.length ? h('div', { class: 'alert' }, h('ul', {}, plan.warnings.map((w) => h('li', {}, w)))) : null,
    plan.drafts.map(trustCard),
  ];
}

/** Wait (up to 15 s) until the gateway serves the activated tool. */
async function served(name: string): Promise<boolean> {
  for (let i = 0; i < 30; i += 1) {
    try {
      await getJson(`/tools/${encodeURIComponent(name)}`);
      return true;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** One manifest's drafts: verdict, whether active (by whom), and an approval button for the drafts that may be approved. */
function draftsTable(m: Drafts, onApprove: (m: Drafts, draft: string) => void) {
  const writable = canWrite();
  const rows = [
    ...m.drafts.map((d) => h('tr', {},
      h('td', {}, d.name), h('td', {}, verdictBadge(d.verdict)), h('td', {}, 'disabled draft, waiting for review'),
      h('td', {}, d.verdict === 'blocked' ? h('span', { class: 'hint' }, 'blocked drafts cannot be approved')
        : writable ? h('button', { type: 'button', class: 'primary', 'aria-label': `Approve activation of ${d.name}`, onclick: () => onApprove(m, d.name) }, 'Approve activation') : null))),
    ...m.activated.map((a) => h('tr', {}, h('td', {}, a.name), h('td', {}, h('span', { class: 'badge ok' }, 'active')), h('td', {}, `activated ${a.at} by ${a.by}`), h('td', {}, h('a', { href: `#/test/${encodeURIComponent(a.name)}` }, 'Test it')))),
    ...m.skipped.map((s) => h('tr', {}, h('td', {}, s.draft), h('td', {}, h('span', { class: 'badge' }, 'skipped')), h('td', {}, s.reason), h('td', {}))),
  ];
  return h('section', { 'aria-label': `Drafts of plan ${m.id}` },
    h('h3', {}, `${m.source.name} (${m.source.kind}) · plan ${m.id}`),
    h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'draft'), h('th', {}, 'verdict'), h('th', {}, 'state'), h('th', {}, h('span', { class: 'sr' }, 'actions')))), h('tbody', {}, rows))));
}

/**
 * The import planner's review: upload an API description and read the drafts' TrustCards
 * (preview writes nothing), write the drafts disabled, and approve activation — the same rules
 * and audit record as `mcpgateway import activate --approve`.
 */
export async function planPage(main: HTMLElement): Promise<void> {
  const writable = canWrite();
  const kind = h('select', { id: 'plan-kind' }, ['openapi', 'graphql', 'postman', 'oci-mcp-package'].map((k) => h('option', { value: k }, k)));
  const name = h('input', { type: 'text', id: 'plan-name', placeholder: 'e.g. petstore' });
  const endpoint = h('input', { type: 'url', id: 'plan-endpoint', placeholder: 'the API\'s GraphQL URL' });
  const file = h('input', { type: 'file', id: 'plan-file' });
  const out = h('section', { 'aria-live': 'polite', 'aria-label': 'Plan' });
  const status = h('div', { role: 'status', id: 'approve-status' });
  const list = h('div', {});

  const drawList = async () => {
    const all = await getJson<Drafts[]>('/admin/api/import-drafts');
    render(list, all.length ? all.map((m) => draftsTable(m, approve)) : h('p', { class: 'hint' }, 'No drafts yet: write the drafts of a plan above, or run mcpgateway import apply into IMPORT_DRAFTS_DIR.'));
  };
  const approve = async (m: Drafts, draft: string) => {
    const ok = await confirmDialog(`Approve activation of ${draft}? It moves into the served capability folder, enabled, and the approval is recorded in the audit trail under your name.`, 'Approve');
    if (!ok) return;
    render(status, h('p', {}, `Activating ${draft}…`));
    try {
      await call(`/admin/api/import-drafts/${m.id}/activate`, { method: 'POST', body: { drafts: [draft], approve: true } });
      await drawList();
      render(status, h('p', {}, `Activated ${draft}; waiting for the gateway to serve it…`));
      const up = await served(draft);
      render(status, up
        ? h('p', { class: 'ok' }, `${draft} is served. `, h('a', { href: `#/test/${encodeURIComponent(draft)}` }, `Call ${draft} in the tool tester`))
        : h('div', { class: 'alert' }, `${draft} was activated but is not served yet; check the gateway's log for the capability file.`));
    } catch (err) {
      render(status, h('div', { class: 'alert' }, problemText(err)));
    }
    status.focus();
  };
  const upload = async (path: string): Promise<unknown> => {
    const f = file.files?.[0];
    if (!f) {
      render(out, h('div', { class: 'alert' }, 'Choose a file first.'));
      return undefined;
    }
    const q = new URLSearchParams({ kind: kind.value });
    if (name.value.trim()) q.set('source_name', name.value.trim());
    if (endpoint.value.trim()) q.set('endpoint', endpoint.value.trim());
    render(out, h('p', {}, 'Planning…'));
    try {
      return (await call(`${path}?${q}`, { method: 'POST', body: await f.text(), contentType: 'application/octet-stream' })).body;
    } catch (err) {
      render(out, h('div', { class: 'alert' }, problemText(err)));
      return undefined;
    }
  };
  const preview = async (e: Event) => {
    e.preventDefault();
    const plan = (await upload('/admin/api/import-plan')) as Plan | undefined;
    if (plan) render(out, planView(plan), h('p', { class: 'hint' }, 'Preview only: nothing was written. Write the drafts to approve some of them.'));
  };
  const write = async () => {
    const r = (await upload('/admin/api/import-drafts')) as (Drafts & { plan: Plan; existing: boolean }) | undefined;
    if (!r) return;
    render(out, h('p', { class: 'ok' }, r.existing ? `These drafts were already written (plan ${r.id}); review them below.` : `Wrote ${r.drafts.length} disabled drafts (plan ${r.id}); skipped ${r.skipped.length}. Review and approve them below.`), planView(r.plan));
    await drawList();
  };

  render(main,
    h('h1', {}, 'Import planner'),
    h('form', { onsubmit: preview, 'aria-label': 'Plan an API import' },
      h('label', { for: 'plan-kind' }, 'Kind of document'), kind,
      h('label', { for: 'plan-name' }, 'Source name'), name,
      h('label', { for: 'plan-endpoint' }, 'GraphQL endpoint ', h('span', { class: 'hint' }, '(for an SDL or introspection file, which names none)')), endpoint,
      h('label', { for: 'plan-file' }, 'OpenAPI / Swagger, GraphQL, Postman or server.json file'), file,
      h('div', { class: 'toolbar' },
        h('button', { type: 'submit', class: writable ? undefined : 'primary' }, 'Preview plan'),
        writable ? h('button', { type: 'button', class: 'primary', onclick: write }, 'Write drafts for review') : null)),
    out,
    h('h2', {}, 'Drafts awaiting review'),
    h('p', { class: 'hint' }, 'Approving a draft is mcpgateway import activate --approve: blocked drafts are refused, every draft is validated, an active capability is never replaced, and the approval is recorded in the audit trail.'),
    status,
    list);
  status.tabIndex = -1;
  await drawList();
}
