#!/usr/bin/env node
// Curation and tool search (issue 14). Run alone with `node --expose-gc bench/tool-search.bench.mjs`
// after `npm run build`. Prints one JSON line per figure. The catalog is real: GitHub's REST
// description through the OpenAPI importer, plus server-everything's and server-memory's tools;
// the 10,000-tool index repeats GitHub's tools under eight prefixes (real text, distinct names).
import { entryOf, quality, searchCorpus, tasks } from './tool-corpus.mjs';
import { figure } from './figure.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const { ToolIndex, listedTools } = await import(`${ROOT}dist/mcp/tool-search.js`);
const { View } = await import(`${ROOT}dist/mcp/catalog.js`);
const { servedTools } = await import(`${ROOT}dist/mcp/curation.js`);

const corpus = (await searchCorpus()).map(entryOf);
const github = corpus.filter((t) => !t.name.includes('__'));
const list = tasks();

// Search quality on the labelled tasks.
const q = quality(new ToolIndex(corpus), list);
figure('search.catalog_tools', corpus.length, 'tools');
figure('search.tasks', list.length, 'tasks');
figure('search.recall_at_1', q.recall_at_1, 'ratio');
figure('search.recall_at_5', q.recall_at_5, 'ratio');
figure('search.mrr', q.mrr, 'ratio');

// 10,000 tools: build time, memory, and query latency.
const big = [];
for (let copy = 0; big.length < 10_000; copy++) {
  for (const t of github) {
    if (big.length >= 10_000) break;
    big.push(entryOf({ ...t.descriptor, name: `gh${copy}__${t.name}` }));
  }
}
gc();
const heapBefore = process.memoryUsage().heapUsed;
let t0 = performance.now();
let index = new ToolIndex(big);
const buildMs = performance.now() - t0;
gc();
const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
figure('search.index_build_10k', buildMs, 'ms');
figure('search.index_heap_10k', heapMb, 'MB');

// Wall time, and this process's CPU time per query (on a shared machine, wall time also counts
// the time spent waiting for a core).
const times = [];
const cpu = [];
const deadline = performance.now() + 15_000;
for (let round = 0; round < 20 && performance.now() < deadline; round++) {
  for (const { task } of list) {
    const c0 = process.cpuUsage();
    t0 = performance.now();
    index.find(task, 5);
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
figure('search.queries_timed', times.length, 'queries');
figure('search.query_10k_p50', times[Math.floor(times.length * 0.5)], 'ms');
figure('search.query_10k_p99', times[Math.floor(times.length * 0.99)], 'ms');
figure('search.query_10k_cpu_p50', cpu[Math.floor(cpu.length * 0.5)], 'ms');
figure('search.query_10k_cpu_p99', cpu[Math.floor(cpu.length * 0.99)], 'ms');

// A list_changed that replaces 1,000 of the 10,000 tools: the next snapshot gets a new index.
const changed = big.map((t, i) => (i < 1000 ? entryOf({ ...t.descriptor, description: `${t.descriptor.description} (v2)` }) : t));
const rebuilds = [];
for (let i = 0; i < 3; i++) {
  t0 = performance.now();
  index = new ToolIndex(changed);
  index.find('list pull requests', 5);
  rebuilds.push(performance.now() - t0);
}
rebuilds.sort((a, b) => a - b);
figure('search.rebuild_after_1000_changed_of_10k', rebuilds[1], 'ms');
// What the gateway does: the endpoint's index follows the new list, re-indexing the changed tools.
const updates = [];
for (let i = 0; i < 3; i++) {
  const next = big.map((t, j) => (j < 1000 ? entryOf({ ...t.descriptor, description: `${t.descriptor.description} (v${i + 3})` }) : t));
  t0 = performance.now();
  index.update(next);
  index.find('list pull requests', 5);
  updates.push(performance.now() - t0);
}
updates.sort((a, b) => a - b);
figure('search.update_after_1000_changed_of_10k', updates[1], 'ms', rebuilds[1]);

// tools/list bytes for GitHub's tools: all of them, curated to 40, and in search mode.
const pageBytes = (tools, listed) => {
  const view = new View('bench', undefined, tools, [], [], [], 1000, listed);
  let bytes = 0;
  let cursor;
  for (;;) {
    const page = JSON.parse(view.page('tools', cursor, false).json);
    bytes += view.page('tools', cursor, false).json.length;
    cursor = page.nextCursor;
    if (!cursor) return bytes;
  }
};
const curation = {
  tools: ['pulls_*', 'issues_create', 'issues_get', 'issues_update', 'issues_list_for_repo', 'issues_create_comment', 'issues_list_comments', 'issues_add_labels', 'issues_remove_label', 'issues_add_assignees', 'issues_lock', 'issues_list_labels_for_repo', 'issues_list_milestones', 'issues_create_label'],
  tool_tags: [],
  exclude_tools: ['pulls_merge_async', 'pulls_get_merge_async_result'],
  tool_overrides: {},
  max_tools: null,
};
const curated = servedTools(curation, github);
const direct = pageBytes(github, github);
const curatedBytes = pageBytes(curated, curated);
const searchList = listedTools({ tool_exposure: 'search' }, github);
const searchBytes = pageBytes(github, searchList);
figure('list_bytes.github_direct', direct, 'bytes');
figure('list_bytes.github_curated', curatedBytes, 'bytes', direct);
figure('list_bytes.github_curated_tools', curated.length, 'tools');
figure('list_bytes.github_search_mode', searchBytes, 'bytes', direct);

// One task both ways: "list the open pull requests of octocat/hello-world". The call's own result
// is the same bytes either way and is left out; what differs is what the client reads first.
const view = new View('bench', { tool_exposure: 'search' }, github, [], [], [], 1000, searchList);
const { findTools } = await import(`${ROOT}dist/mcp/tool-search.js`);
const found = findTools(view, { query: 'list the open pull requests of a repository', limit: 5 });
const foundBytes = JSON.stringify(found).length;
const hitsPulls = found.structuredContent.tools.some((t) => t.name === 'pulls_list');
figure('task_bytes.list_then_call', direct, 'bytes');
figure('task_bytes.search_then_call', searchBytes + foundBytes, 'bytes', direct);
figure('task_bytes.search_found_pulls_list', hitsPulls ? 1 : 0, 'bool');
