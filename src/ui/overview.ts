import { call, canWrite, listPage } from './api.js';
import { ago, copyButton, h, render } from './dom.js';


/** Calls and errors per tool from the gateway's own Prometheus text. */
export function parseToolMetrics(text: string): { tool: string; calls: number; errors: number }[] {
  const rows = new Map<string, { tool: string; calls: number; errors: number }>();
  for (const line of text.split('\n')) {
    const m = /^mcpgateway_tool_call(s_total|_errors_total)\{([^}]*)\}\s+([\d.eE+-]+)/.exec(line);
    if (!m) continue;
    const tool = /tool="((?:[^"\\]|\\.)*)"/.exec(m[2]!)?.[1] ?? '';
    const row = rows.get(tool) ?? { tool, calls: 0, errors: 0 };
    if (m[1] === 's_total') row.calls += Number(m[3]);
    else row.errors += Number(m[3]);
    rows.set(tool, row);
  }
  return [...rows.values()].sort((a, b) => b.calls - a.calls || a.tool.localeCompare(b.tool));
}

/** The MCP client configuration that points a client at one virtual server. */
export function clientSnippet(name: string, url: string): string {
  return JSON.stringify({ mcpServers: { [name]: { type: 'http', url } } }, null, 2);
}

const PAGE = 50;

export async function overviewPage(main: HTMLElement): Promise<void> {
  // Every tool is the largest answer by far: the page is drawn without it, and the tool counts
  // and recent changes are filled in when it arrives.
  // (Asked for after the small answers, so the gateway serves those first.)
  const [gateways, servers, metricsText] = await Promise.all([
    listPage(`/gateways?limit=${PAGE}&include_inactive=true`),
    listPage(`/servers?limit=${PAGE}&include_inactive=true`),
    call('/metrics', { headers: { accept: 'text/plain' } }).then((r) => String(r.body)).catch(() => ''),
  ]);
  const toolsLoading = listPage('/tools?limit=10000&include_inactive=true');
  const metrics = parseToolMetrics(metricsText);
  const toolCount = (gateway: string) => h('span', { 'data-tools-of': gateway }, '…');
  const toolsCard = h('strong', {}, '…');
  const recentList = h('ul', { 'aria-busy': 'true' });
  const origin = location.origin;
  render(main,
    h('h1', {}, 'Overview'),
    h('div', { class: 'cards' },
      card('Gateways', gateways.items.length, gateways.next), card('Virtual servers', servers.items.length, servers.next),
      h('div', { class: 'card' }, toolsCard, 'Tools'), card('Upstreams down', gateways.items.filter((g) => g.reachable === false).length, null)),
    h('h2', {}, 'Gateways'),
    gateways.items.length === 0 ? h('p', {}, 'No gateways yet. ', canWrite() ? h('a', { href: '#/k/gateways/new' }, 'Add one') : null) :
      h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Name', 'Reachable', 'Last seen', 'Last error', 'Transport', 'Tools', 'Renamed', ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, gateways.items.map((g) => h('tr', {},
          h('td', {}, h('a', { href: `#/k/gateways/edit/${encodeURIComponent(String(g.name))}` }, String(g.name))),
          h('td', {}, g.reachable === true ? h('span', { class: 'ok' }, '● up') : g.reachable === false ? h('span', { class: 'bad' }, '● down') : 'unknown'),
          h('td', {}, ago(g.last_seen)),
          h('td', {}, g.last_error ? h('span', { class: 'bad' }, String(g.last_error)) : '—'),
          h('td', {}, String(g.transport ?? '')),
          h('td', {}, toolCount(String(g.name))),
          h('td', {}, collisions(g)),
          h('td', {}, canWrite() ? refreshButton(String(g.name), main) : null)))))),
    gateways.next ? h('p', {}, h('a', { href: '#/k/gateways' }, 'All gateways…')) : null,
    h('h2', {}, 'Virtual servers'),
    servers.items.length === 0 ? h('p', {}, 'No virtual servers yet. ', canWrite() ? h('a', { href: '#/compose/new' }, 'Compose one') : null) :
      h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Name', 'Endpoint', 'Tools', 'Missing references', 'Copy'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, servers.items.map((s) => {
          const url = `${origin}/servers/${encodeURIComponent(String(s.name))}/mcp`;
          const missing = (s.missing_refs ?? {}) as Record<string, string[]>;
          const missingList = Object.entries(missing).flatMap(([k, v]) => v.map((x) => `${k}: ${x}`));
          return h('tr', {},
            h('td', {}, h('a', { href: `#/compose/${encodeURIComponent(String(s.name))}` }, String(s.name))),
            h('td', {}, h('code', {}, url)),
            h('td', {}, String((s.tools as unknown[] | undefined)?.length ?? 0)),
            h('td', {}, missingList.length ? h('span', { class: 'bad' }, missingList.join(', ')) : '—'),
            h('td', {}, copyButton(url, `Copy URL of ${String(s.name)}`, 'Copy URL'), ' ', copyButton(clientSnippet(String(s.name), url), `Copy config for ${String(s.name)}`, 'Copy config')));
        })))),
    h('p', { class: 'hint' }, `Every active tool: ${origin}/mcp `, copyButton(`${origin}/mcp`, 'Copy the URL of /mcp')),
    h('h2', {}, 'Calls per tool'),
    metrics.length === 0 ? h('p', {}, 'No tool calls since the gateway started.') :
      h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Tool', 'Calls', 'Errors'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, metrics.slice(0, 50).map((m) => h('tr', {}, h('td', {}, m.tool), h('td', {}, String(m.calls)), h('td', {}, m.errors ? h('span', { class: 'bad' }, String(m.errors)) : '0')))))),
    h('h2', {}, 'Recent changes'),
    recentList,
  );
  // Marks the bench reads (time since navigation, measured in the page).
  performance.mark('mcpgw:overview-drawn');
  const tools = await toolsLoading;
  const byGateway = new Map<string, number>();
  for (const t of tools.items) {
    const g = typeof t.gateway === 'string' ? t.gateway : '';
    byGateway.set(g, (byGateway.get(g) ?? 0) + 1);
  }
  toolsCard.textContent = tools.next ? `${tools.items.length}+` : String(tools.items.length);
  for (const span of main.querySelectorAll<HTMLElement>('[data-tools-of]')) span.textContent = String(byGateway.get(span.dataset.toolsOf!) ?? 0);
  const recent = [...gateways.items.map((o) => ['gateway', o] as const), ...servers.items.map((o) => ['server', o] as const), ...tools.items.map((o) => ['tool', o] as const)]
    .sort((a, b) => String(b[1].updated_at).localeCompare(String(a[1].updated_at)))
    .slice(0, 8);
  render(recentList, recent.map(([kind, o]) => h('li', {}, `${kind} `, h('strong', {}, String(o.name)), ` — updated ${ago(o.updated_at)}`)));
  recentList.removeAttribute('aria-busy');
  performance.mark('mcpgw:overview-complete');
}

/** Federated names the gateway had to change because another upstream took them first. */
function collisions(g: Record<string, unknown>) {
  const list = Array.isArray(g.collisions) ? (g.collisions as { original_name?: string; name?: string }[]) : [];
  if (list.length === 0) return '—';
  return h('span', { class: 'bad', title: list.map((c) => `${c.original_name} → ${c.name}`).join(', ') }, `${list.length} renamed`);
}

function card(label: string, n: number, more: string | null) {
  return h('div', { class: 'card' }, h('strong', {}, more ? `${n}+` : String(n)), label);
}

function refreshButton(name: string, main: HTMLElement) {
  const button: HTMLButtonElement = h('button', {
    type: 'button',
    'aria-label': `Refresh ${name}`,
    onclick: async () => {
      button.disabled = true;
      button.textContent = 'Refreshing…';
      try {
        await call(`/gateways/${encodeURIComponent(name)}/refresh`, { method: 'POST' });
      } catch (e) {
        alert((e as Error).message);
      }
      await overviewPage(main);
    },
  }, 'Refresh');
  return button;
}

