// The tool catalog tool search is measured on (issue 14), from the built gateway: GitHub's REST
// description through the OpenAPI importer (what `cap import` writes), plus the tools
// server-everything and server-memory list over stdio. Shared by the bench and the tuning script.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { convertOpenApi } = await import(`${ROOT}dist/importers/openapi/convert.js`);
const { loadOpenApi } = await import(`${ROOT}dist/importers/openapi/load.js`);
const { capabilityToTool } = await import(`${ROOT}dist/capabilities/convert.js`);

export const entryOf = (descriptor) => ({ name: String(descriptor.name), fields: { name: descriptor.name }, descriptor, gateway: null, originalName: String(descriptor.name) });

export async function githubTools() {
  const { doc } = await loadOpenApi(`${ROOT}node_modules/@octokit/openapi/generated/api.github.com.json`);
  return convertOpenApi(doc).capabilities.map(({ capability }) => {
    const tool = capabilityToTool(capability);
    const d = { name: tool.name, description: tool.description, inputSchema: tool.input_schema };
    if (tool.title) d.title = tool.title;
    return d;
  });
}

export async function upstreamTools(prefix, args) {
  const client = new Client({ name: 'corpus', version: '1' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args, stderr: 'pipe' }));
  try {
    const { tools } = await client.listTools();
    return tools.map((t) => ({ ...t, name: `${prefix}__${t.name}` }));
  } finally {
    await client.close();
  }
}

export async function searchCorpus() {
  const [github, everything, memory] = await Promise.all([
    githubTools(),
    upstreamTools('everything', [`${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`, 'stdio']),
    upstreamTools('memory', [`${ROOT}node_modules/@modelcontextprotocol/server-memory/dist/index.js`]),
  ]);
  return [...github, ...everything, ...memory];
}

export const tasks = () => JSON.parse(readFileSync(`${ROOT}test/fixtures/tool-search-tasks.json`, 'utf8')).tasks;

/** recall@1, recall@5 and MRR of an index over the labelled tasks. */
export function quality(index, list = tasks()) {
  let at1 = 0;
  let at5 = 0;
  let rr = 0;
  for (const { task, tools } of list) {
    const rank = index.find(task, 10).findIndex((h) => tools.includes(h.name));
    if (rank === 0) at1++;
    if (rank >= 0 && rank < 5) at5++;
    if (rank >= 0) rr += 1 / (rank + 1);
  }
  return { recall_at_1: at1 / list.length, recall_at_5: at5 / list.length, mrr: rr / list.length };
}
