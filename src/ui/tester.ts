import { ApiError, call, getJson, listPage, type JsonSchema } from './api.js';
import { h, render } from './dom.js';
import { rpcAnswer } from './rpc-answer.js';
import { SchemaForm } from './schema-form.js';

type Obj = Record<string, unknown>;


function contentView(item: Obj) {
  if (item.type === 'text') return h('pre', {}, String(item.text));
  if (item.type === 'image' || item.type === 'audio') {
    const src = `data:${String(item.mimeType)};base64,${String(item.data)}`;
    return item.type === 'image' ? h('img', { src, alt: 'image returned by the tool', style: 'max-width:100%' }) : h('audio', { src, controls: true });
  }
  return h('pre', {}, JSON.stringify(item, null, 2));
}

/** Call one tool through the gateway's own MCP endpoint with a form made from its input_schema. */
export async function testerPage(main: HTMLElement, name: string | undefined): Promise<void> {
  const [tools, servers] = await Promise.all([listPage('/tools?limit=10000'), listPage('/servers?limit=10000')]);
  const select = h('select', { id: 'tool-pick', onchange: () => (location.hash = `#/test/${encodeURIComponent(select.value)}`) },
    h('option', { value: '' }, '— choose a tool —'), tools.items.map((t) => h('option', { value: String(t.name), selected: t.name === name }, String(t.name))));
  const tool = name ? await getJson<Obj>(`/tools/${encodeURIComponent(name)}`) : undefined;
  const schema = (tool?.input_schema ?? { type: 'object', properties: {} }) as JsonSchema;
  const form = new SchemaForm(schema, undefined);
  // Through /mcp (every active tool) or a virtual server that carries the tool.
  const endpoint = h('select', { id: 'tool-endpoint' }, h('option', { value: '/mcp' }, '/mcp (every active tool)'),
    servers.items.filter((sv) => ((sv.tools as string[] | undefined) ?? []).includes(name ?? '')).map((sv) => {
      const path = `/servers/${encodeURIComponent(String(sv.name))}/mcp`;
      return h('option', { value: path }, `${path} (virtual server ${String(sv.name)})`);
    }));
  const out = h('section', { 'aria-live': 'polite', 'aria-label': 'Result' });
  const run = async (e: Event) => {
    e.preventDefault();
    const args = form.read();
    if (!args) return;
    render(out, h('p', {}, 'Calling…'));
    const started = performance.now();
    try {
      const r = await call(endpoint.value, { method: 'POST', body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }, headers: { 'mcp-protocol-version': '2025-06-18' } });
      const ms = Math.round(performance.now() - started);
      const answer = rpcAnswer(r.body, 1);
      if (!answer) return render(out, h('div', { class: 'alert' }, 'No answer from the gateway.'));
      if (answer.error) return render(out, h('h2', {}, 'Result'), h('p', {}, `Time: ${ms} ms`), h('div', { class: 'alert' }, `JSON-RPC error ${answer.error.code}: ${answer.error.message}`));
      const result = answer.result ?? {};
      render(out,
        h('h2', {}, 'Result'),
        h('p', {}, h('span', { id: 'call-time' }, `Time: ${ms} ms`), ' · ', result.isError ? h('strong', { class: 'bad' }, 'isError: true') : h('span', { class: 'ok' }, 'isError: false')),
        ((result.content as Obj[] | undefined) ?? []).map(contentView),
        result.structuredContent !== undefined ? [h('h3', {}, 'Structured content'), h('pre', {}, JSON.stringify(result.structuredContent, null, 2))] : null);
    } catch (err) {
      render(out, h('div', { class: 'alert' }, err instanceof ApiError ? `${err.problem.code ?? err.status}: ${err.message}` : String(err)));
    }
  };
  render(main,
    h('h1', {}, 'Tool tester'),
    h('label', { for: 'tool-pick' }, 'Tool'), select,
    tool ? [
      h('p', { class: 'hint' }, String(tool.description ?? '')),
      h('form', { onsubmit: run, novalidate: true, 'aria-label': `Arguments for ${name}` },
        h('label', { for: 'tool-endpoint' }, 'Call through'), endpoint,
        form.element, h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Call tool'))),
      out,
    ] : h('p', {}, 'Choose a tool to call it through /mcp.'));
}
