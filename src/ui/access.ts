import { ApiError, call, getJson, listPage } from './api.js';
import { ago, confirmDialog, copyButton, h, render } from './dom.js';

type Token = { id: string; name: string; prefix: string; role: string; servers: string[] | null; created_at: string; created_by: string; expires_at: string | null; last_used_at: string | null; revoked_at: string | null };
type AuditEvent = { id: string; at: string; actor_subject: string | null; actor_method: string | null; source: string | null; action: string; kind: string; object_name: string | null; fields: string[] | null; outcome: string; count?: number };

function problemBox(err: unknown) {
  if (!(err instanceof ApiError)) return h('div', { class: 'alert' }, String(err));
  return h('div', { class: 'alert' }, h('strong', {}, err.problem.code ?? String(err.status)), ' ', err.message,
    err.problem.errors?.length ? h('ul', {}, err.problem.errors.map((x) => h('li', {}, `${x.path}: ${x.message}`))) : null);
}

/** Stored tokens: list (never a secret), mint (the secret shown once), revoke. */
export async function tokensPage(main: HTMLElement): Promise<void> {
  const tokens = await getJson<Token[]>('/tokens');
  const name = h('input', { type: 'text', id: 'token-name', autocomplete: 'off', placeholder: 'e.g. ci-bot' });
  const role = h('select', { id: 'token-role' }, ['client', 'viewer', 'editor', 'admin'].map((r) => h('option', { value: r }, r)));
  const servers = h('input', { type: 'text', id: 'token-servers', autocomplete: 'off', placeholder: 'demo, docs (client tokens only)' });
  const expires = h('input', { type: 'text', id: 'token-expires', autocomplete: 'off', placeholder: 'e.g. 30d (empty: never)' });
  const minted = h('div', { 'aria-live': 'polite' });
  const status = h('div', { role: 'status' });
  const mint = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = { name: name.value.trim(), role: role.value };
    const list = servers.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (list.length) body.servers = list;
    if (expires.value.trim()) body.expires_in = expires.value.trim();
    try {
      const t = (await call('/tokens', { method: 'POST', body })).body as Token & { token: string };
      await tokensPage(main);
      // Only in this page's memory, never stored by the page; gone on the next navigation.
      render(main.querySelector('#minted')!, h('div', { class: 'card', id: 'new-token' },
        h('p', {}, h('strong', {}, `Token ${t.name} (${t.role})`), ' — copy it now: it is shown this once, only its hash is kept.'),
        h('pre', { id: 'new-token-secret' }, t.token), copyButton(t.token, `Copy the token ${t.name}`)));
    } catch (err) {
      render(minted, problemBox(err));
    }
  };
  const revoke = async (t: Token) => {
    if (!(await confirmDialog(`Revoke the token ${t.name}? Every request with it is refused from now on.`, 'Revoke'))) return;
    try {
      await call(`/tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' });
      await tokensPage(main);
      render(main.querySelector('#token-status')!, h('p', { class: 'ok' }, `Revoked ${t.name}.`));
    } catch (err) {
      render(status, problemBox(err));
    }
  };
  const state = (t: Token) => (t.revoked_at ? h('span', { class: 'badge bad' }, 'revoked') : t.expires_at && Date.parse(t.expires_at) < Date.now() ? h('span', { class: 'badge' }, 'expired') : h('span', { class: 'badge ok' }, 'active'));
  status.id = 'token-status';
  minted.id = 'minted';
  render(main,
    h('h1', {}, 'Tokens'),
    h('form', { onsubmit: mint, 'aria-label': 'Mint a token', novalidate: true },
      h('label', { for: 'token-name' }, 'name *'), name,
      h('label', { for: 'token-role' }, 'role'), role,
      h('label', { for: 'token-servers' }, 'servers ', h('span', { class: 'hint' }, '(limit a client token to these virtual servers, comma separated)')), servers,
      h('label', { for: 'token-expires' }, 'expires in'), expires,
      h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Mint token'))),
    minted, status,
    h('h2', {}, `${tokens.length} tokens`),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, ['name', 'role', 'prefix', 'servers', 'created', 'expires', 'last used', 'state'].map((c) => h('th', {}, c)), h('th', {}, h('span', { class: 'sr' }, 'actions')))),
      h('tbody', {}, tokens.map((t) => h('tr', {},
        h('td', {}, t.name), h('td', {}, t.role), h('td', {}, h('code', {}, `${t.prefix}…`)), h('td', {}, t.servers?.join(', ') ?? 'all'),
        h('td', {}, `${ago(t.created_at)} by ${t.created_by}`), h('td', {}, t.expires_at ?? 'never'), h('td', {}, ago(t.last_used_at)), h('td', {}, state(t)),
        h('td', {}, t.revoked_at ? null : h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${t.name}`, onclick: () => revoke(t) }, 'Revoke'))))))));
}

const FILTERS = ['actor', 'kind', 'action', 'since', 'until'] as const;

/** The audit trail: filters, oldest first, paged by the API's cursor. */
export async function auditPage(main: HTMLElement, state: { filters: Record<string, string>; limit: number; cursors: string[] } = { filters: {}, limit: 50, cursors: [] }): Promise<void> {
  const q = new URLSearchParams({ limit: String(state.limit) });
  for (const [k, v] of Object.entries(state.filters)) if (v) q.set(k, k === 'since' || k === 'until' ? new Date(v).toISOString() : v);
  const cursor = state.cursors.at(-1);
  if (cursor) q.set('cursor', cursor);
  let page: { items: Record<string, unknown>[]; next: string | null } = { items: [], next: null };
  let error: unknown;
  try {
    page = await listPage(`/audit?${q}`);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 400) throw err;
    error = err;
  }
  const inputs = Object.fromEntries(FILTERS.map((f) => [f, h('input', { type: f === 'since' || f === 'until' ? 'datetime-local' : 'text', id: `audit-${f}`, value: state.filters[f] ?? '', autocomplete: 'off' })])) as Record<(typeof FILTERS)[number], HTMLInputElement>;
  const limit = h('select', { id: 'audit-limit' }, [2, 10, 50, 200].map((n) => h('option', { value: n, selected: n === state.limit }, String(n))));
  const read = () => Object.fromEntries(FILTERS.map((f) => [f, inputs[f].value.trim()]));
  const go = (cursors: string[]) => auditPage(main, { filters: read(), limit: Number(limit.value), cursors });
  const events = page.items as unknown as AuditEvent[];
  render(main,
    h('h1', {}, 'Audit trail'),
    h('form', { onsubmit: (e: Event) => { e.preventDefault(); void go([]); }, 'aria-label': 'Filter the audit trail' },
      h('div', { class: 'cols' }, FILTERS.map((f) => h('div', {}, h('label', { for: `audit-${f}` }, f, f === 'kind' ? h('span', { class: 'hint' }, ' (tokens, gateways, capabilities, tool_calls, …)') : null), inputs[f]))),
      h('div', { class: 'toolbar' }, h('label', { for: 'audit-limit' }, 'per page'), limit, h('button', { type: 'submit', class: 'primary' }, 'Apply filters'))),
    error ? problemBox(error) : null,
    h('p', { class: 'hint' }, `Oldest first; page ${state.cursors.length + 1}; ${events.length} events on this page.`),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, ['at', 'actor', 'action', 'kind', 'object', 'fields', 'outcome'].map((c) => h('th', {}, c)))),
      h('tbody', {}, events.map((e) => h('tr', {},
        h('td', {}, e.at), h('td', {}, `${e.actor_subject ?? '—'}${e.actor_method ? ` (${e.actor_method})` : ''}`), h('td', {}, e.action), h('td', {}, e.kind),
        h('td', {}, e.object_name ?? ''), h('td', {}, e.fields?.join(', ') ?? ''), h('td', {}, e.outcome, e.count && e.count > 1 ? ` ×${e.count}` : '')))))),
    h('div', { class: 'toolbar' },
      state.cursors.length ? h('button', { type: 'button', onclick: () => go(state.cursors.slice(0, -1)) }, 'Previous page') : null,
      page.next ? h('button', { type: 'button', onclick: () => go([...state.cursors, page.next!]) }, 'Next page') : null));
}
