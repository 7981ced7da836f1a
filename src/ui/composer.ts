import { ApiError, call, canWrite, getJson, listPage } from './api.js';
import { h, render, uid } from './dom.js';
import { setFlash, takeFlash } from './kinds.js';

type Obj = Record<string, unknown>;

interface Picker {
  element: HTMLElement;
  selected(): string[];
}

/** A searchable checkbox list of every object of a kind; references that resolve nowhere stay listed, marked missing. */
function picker(legend: string, options: { key: string; label: string; source: string }[], chosen: string[], missing: string[], disabled: boolean, onChange: () => void = () => undefined): Picker {
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
        onChange();
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

/** The JSON merge patch that turns the stored tool_overrides into the wanted ones (a name dropped is null). */
function overridePatch(old: Record<string, Obj>, wanted: Record<string, Obj>): Record<string, Obj | null> {
  const patch: Record<string, Obj | null> = {};
  for (const k of new Set([...Object.keys(old), ...Object.keys(wanted)])) {
    if (!wanted[k]) patch[k] = null;
    else patch[k] = { ...wanted[k], ...(old[k]?.name !== undefined && wanted[k].name === undefined ? { name: null } : {}) };
  }
  return patch;
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
  const known = { tools: new Set(tools.items.map((t) => String(t.name))), prompts: new Set(prompts.items.map((p) => String(p.name))), resources: new Set(resources.items.map((r) => String(r.uri))) };
  const overrides = { ...((server?.tool_overrides ?? {}) as Record<string, Obj>) };
  const servedAs = new Map<string, HTMLInputElement>();
  const checkBox = h('div', { 'aria-live': 'polite', id: 'compose-check' });
  const namesBox = h('div', {});
  const check = () => drawCheck();
  const toolPicker = picker('Tools', tools.items.map((t) => ({ key: String(t.name), label: String(t.title ?? t.description ?? '').slice(0, 80), source: sourceOf(t) })), (server?.tools as string[]) ?? [], missing.tools ?? [], !writable, check);
  const promptPicker = picker('Prompts', prompts.items.map((p) => ({ key: String(p.name), label: String(p.description ?? '').slice(0, 80), source: sourceOf(p) })), (server?.prompts as string[]) ?? [], missing.prompts ?? [], !writable, check);
  const resourcePicker = picker('Resources', resources.items.map((r) => ({ key: String(r.uri), label: String(r.name ?? ''), source: sourceOf(r) })), (server?.resources as string[]) ?? [], missing.resources ?? [], !writable, check);
  /** The name a picked tool is served under: its "served as" field, else its override, else its own. */
  const servedName = (tool: string) => servedAs.get(tool)?.value.trim() || String(overrides[tool]?.name ?? '') || tool;
  /** Before save: picked tools served under one name, and picked references that resolve nowhere. */
  const findings = () => {
    const byName = new Map<string, string[]>();
    for (const t of toolPicker.selected().filter((x) => !/[*?[{]/.test(x))) byName.set(servedName(t), [...(byName.get(servedName(t)) ?? []), t]);
    const collisions = [...byName].filter(([, ts]) => ts.length > 1).map(([n, ts]) => `${ts.join(' and ')} would both be served as "${n}"`);
    const missingNow = [
      ...toolPicker.selected().filter((x) => !known.tools.has(x) && !/[*?[{]/.test(x)).map((x) => `tools: ${x}`),
      ...promptPicker.selected().filter((x) => !known.prompts.has(x)).map((x) => `prompts: ${x}`),
      ...resourcePicker.selected().filter((x) => !known.resources.has(x)).map((x) => `resources: ${x}`),
    ];
    return { collisions, missingNow };
  };
  function drawCheck(): void {
    const picked = toolPicker.selected().filter((x) => !/[*?[{]/.test(x)).sort();
    for (const t of picked) {
      if (!servedAs.has(t)) servedAs.set(t, h('input', { type: 'text', 'aria-label': `${t} served as`, value: String(overrides[t]?.name ?? ''), placeholder: t, disabled: !writable, autocomplete: 'off', oninput: () => drawFindings() }));
    }
    render(namesBox, picked.length ? h('details', { open: picked.length <= 20 }, h('summary', {}, `Names clients see (${picked.length} tools)`),
      h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'tool'), h('th', {}, 'served as (empty: its own name)'))),
        h('tbody', {}, picked.map((t) => h('tr', {}, h('td', {}, t), h('td', {}, servedAs.get(t)!))))))) : null);
    drawFindings();
  }
  function drawFindings(): void {
    const { collisions, missingNow } = findings();
    render(checkBox,
      collisions.length ? h('div', { class: 'alert', id: 'name-collisions' }, h('strong', {}, 'Name collisions: '), h('ul', {}, collisions.map((c) => h('li', {}, c))), h('div', { class: 'hint' }, 'Give one of them another name under "served as" before saving.')) : null,
      missingNow.length ? h('div', { class: 'alert', id: 'missing-now' }, h('strong', {}, 'Missing references: '), missingNow.join(', '), h('div', { class: 'hint' }, 'They are kept and resolve when those objects appear.')) : null);
  }
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
  drawCheck();
  const save = async (e: Event) => {
    e.preventDefault();
    nameError.textContent = '';
    if (findings().collisions.length) {
      render(status, h('div', { class: 'alert' }, 'Not saved: two picked tools would be served under one name (see above).'));
      status.focus();
      return;
    }
    const toolOverrides: Record<string, Obj> = {};
    for (const t of toolPicker.selected()) {
      const { name: _old, ...rest } = overrides[t] ?? {};
      const as = servedAs.get(t)?.value.trim();
      const o = { ...rest, ...(as && as !== t ? { name: as } : {}) };
      if (Object.keys(o).length) toolOverrides[t] = o;
    }
    const body = { name: nameInput.value.trim(), description: descInput.value, tools: toolPicker.selected(), prompts: promptPicker.selected(), resources: resourcePicker.selected(), tool_overrides: toolOverrides };
    try {
      const saved = server
        ? await call(`/servers/${encodeURIComponent(name!)}`, { method: 'PATCH', body: { description: body.description, tools: body.tools, prompts: body.prompts, resources: body.resources, tool_overrides: overridePatch(overrides, toolOverrides) }, contentType: 'application/merge-patch+json' })
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
      missingBox, checkBox,
      h('div', { class: 'cols' }, toolPicker.element, promptPicker.element, resourcePicker.element),
      namesBox,
      writable ? h('button', { type: 'submit', class: 'primary' }, 'Save server') : null,
      status));
}
