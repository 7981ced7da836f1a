import { ApiError, call, canWrite, getJson, listPage } from './api.js';
import { h, render, uid } from './dom.js';
import { setFlash, takeFlash } from './kinds.js';

type Obj = Record<string, unknown>;

interface Picker {
  element: HTMLElement;
  selected(): string[];
}

/** A searchable checkbox list of every object of a kind; references that resolve nowhere stay listed, marked missing. */
function picker(legend: string, options: { key: string; label: string; source: string }[], chosen: string[], missing: string[], disabled: boolean): Picker {
  const selected = new Set(chosen);
  const known = new Set(options.map((o) => o.key));
  const all = [...options, ...chosen.filter((c) => !known.has(c)).map((c) => ({ key: c, label: c, source: 'missing' }))];
  const searchId = uid('pick');
  const search = h('input', { type: 'search', id: searchId, placeholder: 'search' });
  const sources = [...new Set(all.map((o) => o.source))].sort();
  const source = h('select', { 'aria-label': `${legend}: filter by source` }, h('option', { value: '' }, 'all sources'), sources.map((s) => h('option', { value: s }, s)));
  const count = h('span', { class: 'hint', 'aria-live': 'polite' });
  const list = h('div', { class: 'picker' });
  const draw = () => {
    const needle = search.value.toLowerCase();
    const rows = all.filter((o) => (!needle || `${o.key} ${o.label}`.toLowerCase().includes(needle)) && (!source.value || o.source === source.value));
    render(list, rows.slice(0, 500).map((o) => {
      const box = h('input', { type: 'checkbox', value: o.key, checked: selected.has(o.key), disabled, onchange: (e: Event) => {
        if ((e.target as HTMLInputElement).checked) selected.add(o.key);
        else selected.delete(o.key);
        count.textContent = `${selected.size} selected`;
      } });
      return h('label', {}, box, ' ', o.key, o.label && o.label !== o.key ? h('span', { class: 'hint' }, ` — ${o.label}`) : null, ' ',
        h('span', { class: 'badge' }, o.source), missing.includes(o.key) ? h('span', { class: 'badge bad' }, 'missing') : null);
    }), rows.length > 500 ? h('p', { class: 'hint' }, `${rows.length - 500} more; narrow the search`) : null);
    count.textContent = `${selected.size} selected`;
  };
  search.addEventListener('input', draw);
  source.addEventListener('change', draw);
  draw();
  return {
    element: h('fieldset', {}, h('legend', {}, legend), h('div', { class: 'toolbar' }, h('label', { for: searchId, class: 'sr' }, `Search ${legend}`), search, source, count), list),
    selected: () => [...selected],
  };
}

function sourceOf(o: Obj): string {
  if (typeof o.gateway === 'string' && o.gateway) return `gateway ${o.gateway}`;
  if (o.integration_type === 'REST') return typeof o.source === 'string' ? o.source : 'REST';
  return 'stored';
}

/** Compose a virtual server: pick tools, prompts and resources; see missing references; save. */
export async function composerPage(main: HTMLElement, name: string | undefined): Promise<void> {
  const [server, tools, prompts, resources] = await Promise.all([
    name ? getJson<Obj>(`/servers/${encodeURIComponent(name)}`) : Promise.resolve(undefined),
    listPage('/tools?limit=10000&include_inactive=true'),
    listPage('/prompts?limit=10000&include_inactive=true'),
    listPage('/resources?limit=10000&include_inactive=true'),
  ]);
  const writable = canWrite();
  const missing = (server?.missing_refs ?? { tools: [], prompts: [], resources: [] }) as Record<string, string[]>;
  const toolPicker = picker('Tools', tools.items.map((t) => ({ key: String(t.name), label: String(t.title ?? t.description ?? '').slice(0, 80), source: sourceOf(t) })), (server?.tools as string[]) ?? [], missing.tools ?? [], !writable);
  const promptPicker = picker('Prompts', prompts.items.map((p) => ({ key: String(p.name), label: String(p.description ?? '').slice(0, 80), source: sourceOf(p) })), (server?.prompts as string[]) ?? [], missing.prompts ?? [], !writable);
  const resourcePicker = picker('Resources', resources.items.map((r) => ({ key: String(r.uri), label: String(r.name ?? ''), source: sourceOf(r) })), (server?.resources as string[]) ?? [], missing.resources ?? [], !writable);
  const nameInput = h('input', { type: 'text', id: 'server-name', value: server?.name ?? '', disabled: !writable || server !== undefined, 'aria-describedby': 'server-name-error', autocomplete: 'off' });
  const descInput = h('textarea', { id: 'server-description', rows: 2, disabled: !writable });
  descInput.value = String(server?.description ?? '');
  const nameError = h('div', { class: 'error', id: 'server-name-error' });
  const status = h('div', { role: 'status' });
  const missingBox = h('div', { 'aria-live': 'polite' });
  const showMissing = (refs: Record<string, string[]>) => {
    const list = Object.entries(refs).flatMap(([k, v]) => v.map((x) => `${k}: ${x}`));
    render(missingBox, list.length ? h('div', { class: 'alert' }, h('strong', {}, 'Missing references: '), list.join(', '), h('div', { class: 'hint' }, 'They are kept and resolve when those objects appear.')) : null);
  };
  showMissing(missing);
  const save = async (e: Event) => {
    e.preventDefault();
    nameError.textContent = '';
    const body = { name: nameInput.value.trim(), description: descInput.value, tools: toolPicker.selected(), prompts: promptPicker.selected(), resources: resourcePicker.selected() };
    try {
      const saved = server
        ? await call(`/servers/${encodeURIComponent(name!)}`, { method: 'PATCH', body: { description: body.description, tools: body.tools, prompts: body.prompts, resources: body.resources }, contentType: 'application/merge-patch+json' })
        : await call('/servers', { method: 'POST', body });
      const obj = saved.body as Obj;
      const message = `Saved. Endpoint: ${location.origin}/servers/${String(obj.name)}/mcp`;
      if (!server) {
        setFlash(message);
        location.hash = `#/compose/${encodeURIComponent(String(obj.name))}`;
        return;
      }
      showMissing((obj.missing_refs ?? {}) as Record<string, string[]>);
      render(status, h('p', { class: 'ok' }, message));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const nameErr = err.problem.errors?.find((x) => x.path.startsWith('$.name'));
      if (nameErr || err.problem.code === 'SERVER_NAME_EXISTS') nameError.textContent = nameErr?.message ?? err.message;
      render(status, h('div', { class: 'alert' }, h('strong', {}, err.problem.code ?? ''), ' ', err.message, h('ul', {}, (err.problem.errors ?? []).map((x) => h('li', {}, `${x.path}: ${x.message}`)))));
      (nameErr ? nameInput : status).focus();
    }
  };
  render(main,
    h('h1', {}, server ? `Virtual server ${String(server.name)}` : 'Compose a virtual server'),
    takeFlash(),
    h('p', {}, h('a', { href: '#/k/servers' }, '← Virtual servers'), server ? [' · ', h('a', { href: `#/k/servers/edit/${encodeURIComponent(name!)}` }, 'All fields')] : null),
    h('form', { onsubmit: save, novalidate: true, 'aria-label': 'Virtual server composer' },
      h('label', { for: 'server-name' }, 'name *'), nameInput, nameError,
      h('label', { for: 'server-description' }, 'description'), descInput,
      missingBox,
      h('div', { class: 'cols' }, toolPicker.element, promptPicker.element, resourcePicker.element),
      writable ? h('button', { type: 'submit', class: 'primary' }, 'Save server') : null,
      status));
}
