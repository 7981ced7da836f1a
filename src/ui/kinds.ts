import { ApiError, call, canWrite, getJson, KINDS, listPage, openApi, type Kind } from './api.js';
import { confirmDialog, h, render } from './dom.js';
import { SchemaForm } from './schema-form.js';

type Obj = Record<string, unknown>;
const PAGE = 25;

/** Flash message shown once on the next page. */
let flash = '';
export function setFlash(message: string): void {
  flash = message;
}
export function takeFlash() {
  const m = flash;
  flash = '';
  return m ? h('p', { role: 'status', class: 'ok' }, m) : null;
}

function keyOf(kind: Kind, o: Obj): string {
  return String(o[KINDS[kind].key]);
}

/** A kind's list: search, tags, inactive, paging, and the actions the role allows. */
export async function listKindPage(main: HTMLElement, kind: Kind, state: { tags: string; search: string; inactive: boolean; cursors: string[] } = { tags: '', search: '', inactive: true, cursors: [] }): Promise<void> {
  const def = KINDS[kind];
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (state.tags) params.set('tags', state.tags);
  if (state.inactive) params.set('include_inactive', 'true');
  const cursor = state.cursors.at(-1);
  if (cursor) params.set('cursor', cursor);
  const page = await listPage(`/${kind}?${params}`);
  const needle = state.search.toLowerCase();
  const shown = needle ? page.items.filter((o) => JSON.stringify([o.name, o.uri, o.title, o.description, o.tags]).toLowerCase().includes(needle)) : page.items;
  const search = h('input', { type: 'search', id: 'search', value: state.search, 'aria-label': `Search ${def.title.toLowerCase()}` });
  const tags = h('input', { type: 'text', id: 'tags', value: state.tags, 'aria-label': 'Tags (comma-separated)', placeholder: 'tags, e.g. prod,team=a' });
  const inactive = h('input', { type: 'checkbox', id: 'inactive', checked: state.inactive });
  const apply = (cursors: string[]) => listKindPage(main, kind, { search: search.value, tags: tags.value, inactive: inactive.checked, cursors });
  const row = (o: Obj) => {
    const key = keyOf(kind, o);
    const enc = encodeURIComponent(key);
    return h('tr', {},
      h('td', {}, h('a', { href: kind === 'servers' ? `#/compose/${enc}` : `#/k/${kind}/edit/${enc}` }, key)),
      h('td', { class: 'hide-narrow' }, String(o.title ?? o.description ?? '').slice(0, 140)),
      h('td', {}, ((o.tags as string[] | undefined) ?? []).map((t) => h('span', { class: 'badge' }, t))),
      h('td', {}, o.is_active === false ? 'inactive' : 'active'),
      h('td', {},
        kind === 'tools' ? h('a', { class: 'button', href: `#/test/${enc}` }, 'Test') : null, ' ',
        canWrite() ? h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${key}`, onclick: () => remove(main, kind, key) }, 'Delete') : null));
  };
  render(main,
    h('h1', {}, def.title),
    takeFlash(),
    h('form', { class: 'toolbar', role: 'search', onsubmit: (e: Event) => { e.preventDefault(); void apply([]); } },
      h('div', {}, h('label', { for: 'search' }, 'Search'), search),
      h('div', {}, h('label', { for: 'tags' }, 'Tags'), tags),
      h('div', {}, h('label', { for: 'inactive' }, inactive, ' include inactive')),
      h('button', { type: 'submit' }, 'Apply'),
      canWrite() ? h('a', { class: 'button primary', href: kind === 'servers' ? '#/compose/new' : `#/k/${kind}/new` }, `New ${def.singular}`) : null),
    shown.length === 0 ? h('p', {}, `No ${def.title.toLowerCase()} on this page.`) :
      h('div', { class: 'scroll' }, h('table', {},
        h('caption', { class: 'sr' }, def.title),
        h('thead', {}, h('tr', {}, [def.key === 'uri' ? 'URI' : 'Name', 'Description', 'Tags', 'State', 'Actions'].map((c, i) => h('th', { scope: 'col', class: i === 1 ? 'hide-narrow' : undefined }, c)))),
        h('tbody', {}, shown.map(row)))),
    h('div', { class: 'toolbar' },
      state.cursors.length ? h('button', { type: 'button', onclick: () => apply(state.cursors.slice(0, -1)) }, 'Previous page') : null,
      page.next ? h('button', { type: 'button', onclick: () => apply([...state.cursors, page.next!]) }, 'Next page') : null),
  );
}

async function remove(main: HTMLElement, kind: Kind, key: string): Promise<void> {
  if (!(await confirmDialog(`Delete ${KINDS[kind].singular} "${key}"? This cannot be undone.`))) return;
  try {
    await call(`/${kind}/${encodeURIComponent(key)}`, { method: 'DELETE' });
    setFlash(`Deleted ${KINDS[kind].singular} ${key}.`);
  } catch (e) {
    setFlash('');
    alert((e as Error).message);
  }
  await listKindPage(main, kind);
}

/** Create (key undefined) or edit one object, with a form generated from the API's write schema. */
export async function editKindPage(main: HTMLElement, kind: Kind, key: string | undefined): Promise<void> {
  const def = KINDS[kind];
  const doc = await openApi();
  const schema = doc.components.schemas[`${def.schema}Write`]!;
  const current = key === undefined ? undefined : await getJson<Obj>(`/${kind}/${encodeURIComponent(key)}`);
  const writable = canWrite();
  const form = new SchemaForm(schema, current, { readOnly: !writable });
  const readOnlyFacts = current ? Object.entries(current).filter(([k]) => !(schema.properties ?? {})[k] || k === 'auth_value') : [];
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = form.read();
    if (!body) return;
    try {
      if (current) await call(`/${kind}/${encodeURIComponent(key!)}`, { method: 'PATCH', body, contentType: 'application/merge-patch+json' });
      else await call(`/${kind}`, { method: 'POST', body });
      setFlash(`Saved ${def.singular} ${String(body[def.key] ?? key)}.`);
      location.hash = `#/k/${kind}`;
    } catch (err) {
      if (err instanceof ApiError) form.showProblem(err);
      else throw err;
    }
  };
  render(main,
    h('h1', {}, current ? `${writable ? 'Edit' : 'View'} ${def.singular} ${key}` : `New ${def.singular}`),
    h('p', {}, h('a', { href: `#/k/${kind}` }, `← ${def.title}`)),
    h('form', { onsubmit: submit, novalidate: true, 'aria-label': `${def.singular} form` },
      form.element,
      writable ? h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, current ? 'Save changes' : `Create ${def.singular}`)) : null),
    readOnlyFacts.length ? h('details', {}, h('summary', {}, 'Read-only fields'),
      h('pre', {}, JSON.stringify(Object.fromEntries(readOnlyFacts.map(([k, v]) => [k, k === 'auth_value' ? (v ? '(encrypted, stored)' : null) : v])), null, 2))) : null,
  );
}
