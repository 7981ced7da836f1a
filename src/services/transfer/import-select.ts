import { KIND_DEFS, KINDS, isKind, type Kind } from '../../domain/entities.js';
import { keyOf } from '../../domain/export-document.js';
import { isObject } from '../../domain/merge-patch.js';
import { GatewayError } from '../../errors.js';
import type { ReadDocument } from './import-document.js';

/**
 * Selective import (`--include "tools:a,b;servers:x"`, ContextForge's `selected_entities`):
 * keep the named objects and what they need — a server's tools, prompts and resources that are
 * in the file, and the gateway whose prefix an MCP tool name carries — and say what came along.
 */

/** Kind → names (empty: every object of that kind). */
export type Selection = Partial<Record<Kind, string[]>>;

/** One object brought in because something selected needs it. */
export interface Dependency {
  kind: Kind;
  key: string;
  /** The selected object that needs it, as `server "x"`. */
  needed_by: string;
}

/** Parse `tools:a,b;servers:x` (a kind alone means all of it). */
export function parseInclude(text: string): Selection {
  const selection: Selection = {};
  for (const part of text.split(';').map((p) => p.trim()).filter(Boolean)) {
    const colon = part.indexOf(':');
    const kind = (colon < 0 ? part : part.slice(0, colon)).trim();
    if (!isKind(kind)) throw new GatewayError('CLI_USAGE', `--include: unknown kind "${kind}"; use ${KINDS.join(', ')} as in "tools:a,b;servers:x"`);
    const names = colon < 0 ? [] : part.slice(colon + 1).split(',').map((n) => n.trim()).filter(Boolean);
    selection[kind] = [...(selection[kind] ?? []), ...names];
  }
  if (Object.keys(selection).length === 0) throw new GatewayError('CLI_USAGE', '--include names nothing; give it as "tools:a,b;servers:x"');
  return selection;
}

/** ContextForge's `selected_entities` body field: `{tools: ["a"], servers: []}`; roots and unknown kinds are refused by name. */
export function selectionFromBody(value: unknown, path: string): Selection | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new GatewayError('IMPORT_INVALID', `${path} must be an object of kind → names`, [{ path, message: 'must be an object of kind → names' }]);
  const selection: Selection = {};
  for (const [kind, names] of Object.entries(value)) {
    if (!isKind(kind) || !Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
      throw new GatewayError('IMPORT_INVALID', `${path}.${kind} must be a list of names of one of ${KINDS.join(', ')}`, [
        { path: `${path}.${kind}`, message: `must be a list of names of one of ${KINDS.join(', ')}` },
      ]);
    }
    selection[kind] = names as string[];
  }
  return selection;
}

/**
 * Narrow a read document to the selection and its dependencies. Names match an object's key
 * here or any name the file knows it by (a ContextForge id, original name or slug).
 */
export function selectDocument(read: ReadDocument, selection: Selection): { read: ReadDocument; dependencies: Dependency[]; unmatched: string[] } {
  const keep = Object.fromEntries(KINDS.map((kind) => [kind, new Set<number>()])) as Record<Kind, Set<number>>;
  const unmatched: string[] = [];
  for (const kind of KINDS) {
    const names = selection[kind];
    if (names === undefined) continue;
    if (names.length === 0) {
      read.doc[kind].forEach((_, index) => keep[kind].add(index));
      continue;
    }
    for (const name of names) {
      const index = read.aliases[kind].findIndex((aliases) => aliases.includes(name));
      if (index < 0) unmatched.push(`${KIND_DEFS[kind].singular} "${name}"`);
      else keep[kind].add(index);
    }
  }
  const dependencies: Dependency[] = [];
  const bring = (kind: Kind, index: number, neededBy: string) => {
    if (keep[kind].has(index)) return;
    keep[kind].add(index);
    dependencies.push({ kind, key: keyOf(kind, read.doc[kind][index]!), needed_by: neededBy });
  };
  const gatewayFor = (tool: string) =>
    read.doc.gateways.findIndex((g) => {
      const prefix = String(g.name_prefix ?? g.name).toLowerCase();
      return prefix !== '' && tool.toLowerCase().startsWith(`${prefix}__`);
    });
  for (const index of [...keep.servers]) {
    const server = read.doc.servers[index]!;
    const who = `server "${String(server.name)}"`;
    for (const refKind of ['tools', 'prompts', 'resources'] as const) {
      for (const ref of (server[refKind] as string[] | undefined) ?? []) {
        const at = read.doc[refKind].findIndex((o) => keyOf(refKind, o) === ref);
        if (at >= 0) bring(refKind, at, who);
        else if (refKind === 'tools' && gatewayFor(ref) >= 0) bring('gateways', gatewayFor(ref), who);
      }
    }
  }
  const doc = { ...read.doc };
  const paths = { ...read.paths };
  const aliases = { ...read.aliases };
  const indexMap = {} as Record<Kind, number[]>;
  for (const kind of KINDS) {
    const indexes = [...keep[kind]].sort((a, b) => a - b);
    indexMap[kind] = indexes;
    doc[kind] = indexes.map((i) => read.doc[kind][i]!);
    paths[kind] = indexes.map((i) => read.paths[kind][i]!);
    aliases[kind] = indexes.map((i) => read.aliases[kind][i]!);
  }
  // Paths in the narrowed document still point at the file as written.
  const origin = (path: string) =>
    read.origin(path.replace(/^\$\.(\w+)\[(\d+)\]/, (whole, kind: Kind, index: string) => (indexMap[kind] ? `$.${kind}[${indexMap[kind][Number(index)]}]` : whole)));
  const keptKeys = new Set(KINDS.flatMap((kind) => doc[kind].map((o) => `${kind}:${keyOf(kind, o)}`)));
  const reenter = read.reenter.filter((r) => keptKeys.has(`${r.kind}:${r.key}`));
  // Findings about objects left out are left out too; findings about the file as a whole stay.
  const leftOut = KINDS.flatMap((kind) => read.paths[kind].filter((_, i) => !keep[kind].has(i)));
  const about = (path: string) => leftOut.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}:`));
  const warnings = read.warnings.filter((w) => !about(w.path));
  const notes = read.notes.filter((n) => !about(n));
  return { read: { ...read, doc, paths, aliases, origin, reenter, warnings, notes }, dependencies, unmatched };
}
