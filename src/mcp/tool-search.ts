import { createHash } from 'node:crypto';
import MiniSearch, { type SearchOptions } from 'minisearch';
import type { ToolEntry, View } from './catalog.js';
import { selectorMatcher } from './curation.js';
import { INVALID_PARAMS, RpcError } from '../protocol/jsonrpc.js';

/**
 * Search mode (issue 14): instead of every tool, a server lists two meta-tools — find tools by a
 * natural-language query, and call a tool by name — plus any pinned tools. The index is BM25
 * (MiniSearch) over each tool's name, title, description and parameter names and descriptions,
 * built once per catalog snapshot, so it follows every list change the catalog sees.
 */

export type MetaTool = 'find' | 'call';

export const FIND_TOOL = 'gateway_find_tools';
export const CALL_TOOL = 'gateway_call_tool';
const DEFAULT_LIMIT = 5;
const MAX_LIMIT = 20;

const META_TOOLS: ToolEntry[] = [
  meta(FIND_TOOL, 'find', {
    title: 'Find tools',
    description:
      'Search the tools behind this server by what you want to do, in plain words. Returns the best matches, each with its name, description and input schema; then call one with gateway_call_tool.',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'what you want to do, e.g. "list the open pull requests of a repository"' },
        limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: 'how many tools to return' },
      },
      required: ['query'],
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }),
  meta(CALL_TOOL, 'call', {
    title: 'Call a tool',
    description: 'Call one of the tools found with gateway_find_tools, by its name, with arguments that follow its input schema.',
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', description: 'the tool name gateway_find_tools returned' },
        arguments: { type: 'object', description: "the tool's arguments", additionalProperties: true },
      },
      required: ['name'],
    },
  }),
];

function meta(name: string, kind: MetaTool, descriptor: Record<string, unknown>): ToolEntry {
  return { name, fields: { name }, descriptor: { name, ...descriptor }, gateway: null, originalName: name, meta: kind };
}

/** What tools/list shows for a server's tools under its `tool_exposure`. */
export function listedTools(server: Record<string, unknown>, tools: ToolEntry[]): ToolEntry[] {
  generations.set(tools, ++generation);
  const exposure = server.tool_exposure ?? 'all';
  if (exposure === 'all') return tools;
  if (exposure === 'search') return META_TOOLS;
  const pinned = selectorMatcher((server.pinned_tools as string[] | undefined) ?? []);
  return [...META_TOOLS, ...tools.filter((t) => pinned(t.name) && !META_TOOLS.some((m) => m.name === t.name))];
}

/** One search hit as the find meta-tool returns it. */
export interface ToolHit {
  name: string;
  title?: string;
  description: string;
  inputSchema: unknown;
  score: number;
}

// Words too common in tool descriptions to tell tools apart.
const STOP_WORDS = new Set(
  'a an and are as at be by for from has have i in into is it its me my of on or our that the their them then this to was we what when which will with you your want need please can could would should some all any show give tell how many much who does do did so there every each now just one someone already still no longer'.split(' '),
);

/** Lower-case words, split at punctuation, underscores and camelCase humps. */
export function tokenize(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0);
}

/** A light English stemmer: enough that "repositories", "repository" and "repos" meet. */
export function stem(term: string): string {
  if (term.length <= 3) return term;
  if (term.endsWith('ies') && term.length > 4) return term.slice(0, -3) + 'y';
  if (term.endsWith('sses')) return term.slice(0, -2);
  if (term.endsWith('ing') && term.length > 5) return undouble(term.slice(0, -3));
  if (term.endsWith('ed') && term.length > 4 && !term.endsWith('eed')) return undouble(term.slice(0, -2));
  if (term.endsWith('es') && /(ch|sh|x|ss)es$/.test(term)) return term.slice(0, -2);
  if (term.endsWith('s') && !term.endsWith('ss') && !term.endsWith('us')) return term.slice(0, -1);
  return term;
}

/** "starr" → "star", "stopp" → "stop": what is left after -ing or -ed of a doubled consonant. */
function undouble(term: string): string {
  return /([bdgmnprt])\1$/.test(term) ? term.slice(0, -1) : term;
}

// Synonyms that tool names abbreviate.
const SYNONYMS: Record<string, string> = { repo: 'repository', repos: 'repository', pr: 'pull', prs: 'pull', org: 'organization', orgs: 'organization', delete: 'remove', fetch: 'get', retrieve: 'get', make: 'create', add: 'create', modify: 'update', change: 'update', edit: 'update', erase: 'remove' };

function processTerm(term: string): string | null {
  if (STOP_WORDS.has(term)) return null;
  const word = SYNONYMS[term] ?? term;
  return stem(word);
}

export const SEARCH_OPTIONS: SearchOptions = {
  boost: { name: 3, title: 2, description: 1, params: 0.5 },
  prefix: (t) => t.length > 4,
  // Fuzzy matching measured slightly worse on the labelled tasks (BENCHMARKS.md).
  fuzzy: false,
  combineWith: 'OR',
};

interface Doc {
  id: string;
  name: string;
  title: string;
  description: string;
  params: string;
}

/**
 * Terms most tools share ("repository", "owner" in a GitHub catalog) have a low BM25 weight, yet
 * their postings are the longest lists a query walks, `params` the longest of all. A term in more
 * than COMMON_TERM_SHARE of the tools is searched in names, titles and descriptions only; one in
 * more than COMMONEST_TERM_SHARE in names and titles only. Measured (BENCHMARKS.md): a third less
 * CPU per query over 10,000 tools, recall@5 0.784 → 0.801 on the labelled tasks.
 */
export const COMMON_TERM_SHARE = 0.2;
export const COMMONEST_TERM_SHARE = 0.6;
/**
 * Below this many tools every query is fast anyway, and a share means little (in a catalog of one
 * tool every term is in all of them): the rule applies from here on.
 */
export const COMMON_TERM_MIN_TOOLS = 200;
const COMMON_TERM_FIELDS = ['name', 'title', 'description'];
const COMMONEST_TERM_FIELDS = ['name', 'title'];

/** The ranked index of one view's tools. */
export class ToolIndex {
  private readonly search: MiniSearch<Doc>;

  private indexed = new Map<string, { key: string; tool: ToolEntry }>();

  /** How many indexed tools each processed term occurs in (any field). */
  private readonly documentFrequency = new Map<string, number>();

  constructor(
    tools: readonly ToolEntry[],
    /** Ranking knobs, for measuring alternatives (bench/); the defaults are the measured best. */
    searchOptions: SearchOptions = SEARCH_OPTIONS,
    /** The two shares and the catalog size above, for measuring alternatives (bench/) and tests. */
    private readonly shares: { common: number; commonest: number; minTools?: number } = { common: COMMON_TERM_SHARE, commonest: COMMONEST_TERM_SHARE },
  ) {
    this.search = new MiniSearch<Doc>({ fields: ['name', 'title', 'description', 'params'], tokenize, processTerm, searchOptions });
    this.update(tools);
  }

  /** Follow a new tool list: only tools added, removed or changed are re-indexed. */
  update(tools: readonly ToolEntry[]): void {
    const next = new Map<string, { key: string; tool: ToolEntry }>();
    // A digest, not the JSON itself: the index would otherwise hold every schema twice.
    for (const tool of tools) next.set(tool.name, { key: createHash('sha1').update(JSON.stringify(tool.descriptor)).digest('base64'), tool });
    for (const [name, old] of this.indexed) {
      if (next.get(name)?.key === old.key) continue;
      this.search.discard(name);
      this.count(document(old.tool, name), -1);
    }
    const added: Doc[] = [];
    for (const [name, entry] of next) if (this.indexed.get(name)?.key !== entry.key) added.push(document(entry.tool, name));
    for (const doc of added) this.count(doc, 1);
    this.search.addAll(added);
    this.indexed = next;
  }

  private count(doc: Doc, delta: 1 | -1): void {
    const terms = new Set<string>();
    for (const text of [doc.name, doc.title, doc.description, doc.params]) {
      for (const token of tokenize(text)) {
        const term = processTerm(token);
        if (term) terms.add(term);
      }
    }
    for (const term of terms) {
      const n = (this.documentFrequency.get(term) ?? 0) + delta;
      if (n > 0) this.documentFrequency.set(term, n);
      else this.documentFrequency.delete(term);
    }
  }

  /** The best `limit` tools for a query, best first. */
  find(query: string, limit = DEFAULT_LIMIT, shown: (tool: ToolEntry) => boolean = () => true): ToolHit[] {
    const tools = this.indexed.size;
    const queries = tokenize(query).map((token) => {
      const term = processTerm(token);
      const share = term && tools >= (this.shares.minTools ?? COMMON_TERM_MIN_TOOLS) ? (this.documentFrequency.get(term) ?? 0) / tools : 0;
      if (share > this.shares.commonest) return { queries: [token], fields: COMMONEST_TERM_FIELDS };
      return share > this.shares.common ? { queries: [token], fields: COMMON_TERM_FIELDS } : token;
    });
    const hits = this.search.search({ queries, combineWith: 'OR' }, { filter: (result) => shown(this.indexed.get(result.id as string)!.tool) });
    return hits.slice(0, limit).map((result) => {
      const descriptor = this.indexed.get(result.id as string)!.tool.descriptor;
      const hit: ToolHit = { name: String(descriptor.name), description: String(descriptor.description ?? ''), inputSchema: descriptor.inputSchema, score: Math.round(result.score * 1000) / 1000 };
      if (typeof descriptor.title === 'string') hit.title = descriptor.title;
      return hit;
    });
  }
}

function document(tool: ToolEntry, id: string): Doc {
  const d = tool.descriptor;
  const properties = ((d.inputSchema as { properties?: Record<string, { description?: unknown }> } | undefined)?.properties ?? {}) as Record<string, { description?: unknown }>;
  const params = Object.entries(properties)
    .map(([name, p]) => `${name} ${typeof p?.description === 'string' ? p.description.slice(0, 300) : ''}`)
    .join(' ');
  return { id, name: String(d.name), title: typeof d.title === 'string' ? d.title : '', description: typeof d.description === 'string' ? d.description.slice(0, 2000) : '', params };
}

// One index per view; a new snapshot of the same endpoint (any list change) updates the endpoint's
// index in place on first use, re-indexing only the tools that changed.
const indexes = new WeakMap<View, ToolIndex>();
const endpoints = new Map<string, { index: ToolIndex; generation: number }>();
// The order in which the catalog made each tool list, so an older snapshot never rolls an
// endpoint's index back.
const generations = new WeakMap<readonly ToolEntry[], number>();
let generation = 0;

/** The index of a view's callable tools. */
export function indexOf(view: View): ToolIndex {
  let index = indexes.get(view);
  if (!index) {
    const endpoint = view.server ? `server:${view.name}` : '/mcp';
    const made = generations.get(view.tools) ?? 0;
    const current = endpoints.get(endpoint);
    if (current && current.generation > made) {
      index = new ToolIndex(view.tools);
    } else {
      index = current?.index;
      if (index) index.update(view.tools);
      else index = new ToolIndex(view.tools);
      endpoints.set(endpoint, { index, generation: made });
    }
    indexes.set(view, index);
  }
  return index;
}

/** The result of the find meta-tool. */
export function findTools(view: View, args: Record<string, unknown>, shown?: (tool: ToolEntry) => boolean): Record<string, unknown> {
  const query = args.query;
  if (typeof query !== 'string' || query.trim() === '') throw new RpcError(INVALID_PARAMS, `${FIND_TOOL} needs "query", a non-empty string`);
  const limit = args.limit ?? DEFAULT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new RpcError(INVALID_PARAMS, `${FIND_TOOL}: "limit" must be an integer from 1 to ${MAX_LIMIT}`);
  }
  const tools = indexOf(view).find(query.slice(0, 2000), limit, shown);
  const structured = { tools };
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

/** The tool and arguments the call meta-tool names. */
export function callTarget(args: Record<string, unknown>): { name: string; arguments: Record<string, unknown> } {
  const name = args.name;
  const targetArgs = args.arguments ?? {};
  if (typeof name !== 'string') throw new RpcError(INVALID_PARAMS, `${CALL_TOOL} needs "name", the tool to call`);
  if (targetArgs === null || typeof targetArgs !== 'object' || Array.isArray(targetArgs)) throw new RpcError(INVALID_PARAMS, `${CALL_TOOL}: "arguments" must be an object`);
  return { name, arguments: targetArgs as Record<string, unknown> };
}
