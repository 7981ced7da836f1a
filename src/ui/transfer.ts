import { ApiError, call, canWrite, KINDS } from './api.js';
import { h, render } from './dom.js';

type Report = { format?: string; dry_run: boolean; summary: Record<string, Record<string, number>>; items: { kind: string; key: string; outcome: string; new_key?: string }[]; warnings: { path: string; message: string }[]; notes: string[] };

/** JSON with object keys sorted, so two equal values print the same. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/**
 * For each object a dry run would update: the names of the fields whose value in the file differs
 * from the gateway's (native export documents; credentials compare as their encrypted form).
 */
async function changedFields(report: Report, text: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (report.format !== 'native') return out;
  let doc: Record<string, Record<string, unknown>[]>;
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return out;
  }
  await Promise.all(report.items.filter((i) => i.outcome === 'update').slice(0, 200).map(async (item) => {
    const key = item.kind === 'resources' ? 'uri' : 'name';
    const wanted = (doc[item.kind] ?? []).find((o) => o[key] === item.key);
    if (!wanted) return;
    try {
      const current = (await call(`/${item.kind}/${encodeURIComponent(item.key)}`)).body as Record<string, unknown>;
      out.set(`${item.kind}\u0000${item.key}`, Object.keys(wanted).filter((f) => stable(wanted[f]) !== stable(current[f])).sort());
    } catch {
      // gone meanwhile: the report says what happens
    }
  }));
  return out;
}

function reportView(report: Report, changed = new Map<string, string[]>(), apply?: HTMLElement) {
  const table = (items: Report['items']) => h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, ['Kind', 'Object', report.dry_run ? 'Would be' : 'Outcome'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map((i) => {
      const fields = changed.get(`${i.kind}\u0000${i.key}`);
      return h('tr', {}, h('td', {}, i.kind), h('td', {}, i.key, i.new_key ? ` → ${i.new_key}` : ''),
        h('td', {}, h('span', { class: i.outcome === 'conflict' ? 'bad' : '' }, i.outcome), fields?.length ? h('span', { class: 'hint' }, `: ${fields.join(', ')}`) : null));
    }))));
  const moving = report.items.filter((i) => i.outcome !== 'unchanged');
  const still = report.items.filter((i) => i.outcome === 'unchanged');
  const summary = Object.entries(report.summary).filter(([, v]) => Object.keys(v).length).map(([k, v]) => `${k}: ${Object.entries(v).map(([o, n]) => `${n} ${o}`).join(', ')}`);
  return [
    h('h3', {}, report.dry_run ? 'Dry run: nothing was written' : 'Imported'),
    h('p', {}, summary.join(' · ') || 'The document holds no objects.'),
    report.warnings.length ? h('div', { class: 'alert' }, h('strong', {}, 'Warnings'), h('ul', {}, report.warnings.map((w) => h('li', {}, `${w.path}: ${w.message}`)))) : null,
    report.notes.length ? h('ul', {}, report.notes.map((n) => h('li', {}, n))) : null,
    apply ?? null,
    moving.length ? table(moving) : h('p', {}, 'Nothing would change.'),
    still.length ? h('details', {}, h('summary', {}, `${still.length} unchanged`), table(still)) : null,
  ];
}

function problemView(err: unknown) {
  if (!(err instanceof ApiError)) return h('div', { class: 'alert' }, String(err));
  return h('div', { class: 'alert' }, h('strong', {}, err.problem.code ?? String(err.status)), ' ', err.message,
    h('ul', {}, (err.problem.errors ?? []).map((e) => h('li', {}, `${e.path}: ${e.message}`))));
}

/** Download an export with the CLI's filters; upload a document, preview it (dry run), apply it. */
export function transferPage(main: HTMLElement): void {
  const types = Object.keys(KINDS).map((k) => h('input', { type: 'checkbox', value: k, checked: true, id: `type-${k}` }));
  const tags = h('input', { type: 'text', id: 'export-tags', placeholder: 'a,b' });
  const filter = h('input', { type: 'text', id: 'export-filter', placeholder: 'label=prod' });
  const inactive = h('input', { type: 'checkbox', id: 'export-inactive' });
  const exportOut = h('div', { role: 'status' });
  const download = async (e: Event) => {
    e.preventDefault();
    const q = new URLSearchParams();
    const chosen = types.filter((t) => t.checked).map((t) => t.value);
    if (chosen.length !== types.length) q.set('types', chosen.join(','));
    if (tags.value.trim()) q.set('tags', tags.value.trim());
    for (const f of filter.value.split(/\s+/).filter(Boolean)) q.append('filter', f);
    if (inactive.checked) q.set('include_inactive', 'true');
    try {
      const r = await call(`/export?${q}`);
      const text = JSON.stringify(r.body, null, 2);
      const name = /filename="([^"]+)"/.exec(r.headers.get('content-disposition') ?? '')?.[1] ?? 'mcpgateway-export.json';
      const link = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/json' })), download: name }, `Download ${name}`);
      render(exportOut, h('p', { class: 'ok' }, `Export ready (${r.headers.get('x-export-counts') ?? ''}). `, link));
      link.click();
    } catch (err) {
      render(exportOut, problemView(err));
    }
  };
  const file = h('input', { type: 'file', id: 'import-file', accept: '.json,application/json' });
  const conflict = h('select', { id: 'import-conflict' }, ['update', 'skip', 'fail', 'rename'].map((c) => h('option', { value: c }, c)));
  const importOut = h('div', { 'aria-live': 'polite' });
  let documentText = '';
  const send = async (dryRun: boolean) => {
    render(importOut, h('p', {}, dryRun ? 'Checking…' : 'Importing…'));
    try {
      const r = await call(`/import?dry_run=${dryRun}&conflict=${conflict.value}`, { method: 'POST', body: documentText });
      const report = r.body as Report;
      const apply = dryRun && canWrite() ? h('button', { type: 'button', class: 'primary', id: 'import-apply', onclick: () => send(false) }, 'Apply import') : undefined;
      render(importOut, reportView(report, dryRun ? await changedFields(report, documentText) : undefined, apply));
      (importOut.querySelector('#import-apply') as HTMLElement | null)?.focus();
    } catch (err) {
      render(importOut, problemView(err));
    }
  };
  const preview = async (e: Event) => {
    e.preventDefault();
    const f = file.files?.[0];
    if (!f) return render(importOut, h('div', { class: 'alert' }, 'Choose a file first.'));
    documentText = await f.text();
    await send(true);
  };
  render(main,
    h('h1', {}, 'Export and import'),
    h('h2', {}, 'Export'),
    h('form', { onsubmit: download, 'aria-label': 'Export' },
      h('fieldset', {}, h('legend', {}, 'Kinds'), types.map((t) => h('label', { for: t.id }, t, ' ', t.value))),
      h('label', { for: 'export-tags' }, 'Tags (any of)'), tags,
      h('label', { for: 'export-filter' }, 'Filter (key=value; several separated by spaces must all match)'), filter,
      h('label', { for: 'export-inactive' }, inactive, ' include inactive'),
      h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Download export'))),
    exportOut,
    canWrite() ? [
      h('h2', {}, 'Import'),
      h('form', { onsubmit: preview, 'aria-label': 'Import' },
        h('label', { for: 'import-file' }, 'Export document (this gateway\'s or ContextForge\'s)'), file,
        h('label', { for: 'import-conflict' }, 'When a name exists'), conflict,
        h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, 'Preview (dry run)'))),
      importOut,
    ] : null);
}
