import picomatch from 'picomatch';
import type { ToolOverride } from '../domain/entities.js';
import type { ErrorCode, FieldError } from '../errors.js';
import type { ToolEntry } from './catalog.js';
import { INVALID_PARAMS, RpcError } from '../protocol/jsonrpc.js';

/**
 * Curation of a virtual server's tools (issue 14): which tools it serves (names, globs, tags,
 * excludes), under which names and descriptions (per-tool overrides), with which arguments fixed
 * or defaulted. Pure: the catalog applies it at serve time and the registry on save, so neither the
 * upstream's tool nor the stored tool ever changes.
 */

/** The MCP tool-name rule every served name must meet (SPEC §3). */
export const SERVED_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** What curation reads from a virtual server's fields. */
export interface CurationSettings {
  tools: string[];
  tool_tags: string[];
  exclude_tools: string[];
  tool_overrides: Record<string, ToolOverride>;
  max_tools: number | null;
}

/** A tool that may be selected: its catalog name, tags and input schema. */
export interface Candidate {
  name: string;
  tags: readonly string[];
  inputSchema: Record<string, unknown>;
}

/** A selected tool under the name this server serves it as. */
export interface Curated<T extends Candidate> {
  source: T;
  name: string;
  override: ToolOverride | undefined;
}

/** A finding: a coded error on save; at serve time the offending tool is dropped. */
export interface CurationProblem extends FieldError {
  code: ErrorCode;
}

/** Arguments a curated tool fixes or defaults, applied to every call. */
export interface ArgumentRules {
  fixed: Record<string, unknown>;
  defaults: Record<string, unknown>;
}

const GLOB_CHARS = /[*?[{]/;
const matcherCache = new Map<string, (name: string) => boolean>();

/** A predicate for a list of selectors (exact names, or picomatch globs). */
export function selectorMatcher(selectors: readonly string[]): (name: string) => boolean {
  const key = selectors.join('\n');
  const cached = matcherCache.get(key);
  if (cached) return cached;
  const exact = new Set(selectors.filter((s) => !GLOB_CHARS.test(s)));
  const globs = selectors.filter((s) => GLOB_CHARS.test(s));
  const glob = globs.length > 0 ? picomatch(globs, { dot: true }) : undefined;
  const match = (name: string) => exact.has(name) || (glob !== undefined && glob(name));
  if (matcherCache.size > 1000) matcherCache.clear();
  matcherCache.set(key, match);
  return match;
}

/** Whether a selector is a glob rather than a name (globs are never reported as missing). */
export function isGlob(selector: string): boolean {
  return GLOB_CHARS.test(selector);
}

/** Read the curation settings of a server's stored fields, with defaults for older rows. */
export function settingsOf(fields: Record<string, unknown>): CurationSettings {
  return {
    tools: (fields.tools as string[] | undefined) ?? [],
    tool_tags: (fields.tool_tags as string[] | undefined) ?? [],
    exclude_tools: (fields.exclude_tools as string[] | undefined) ?? [],
    tool_overrides: (fields.tool_overrides as Record<string, ToolOverride> | undefined) ?? {},
    max_tools: (fields.max_tools as number | null | undefined) ?? null,
  };
}

/**
 * Select, rename and check a server's tools. Candidates come in catalog-name order; the result is
 * in served-name order. Problems name what a save must refuse; the result already leaves the
 * offending tools out (a collision keeps the first by catalog name, the cap keeps the first names).
 */
export function curate<T extends Candidate>(settings: CurationSettings, candidates: readonly T[]): { tools: Curated<T>[]; problems: CurationProblem[] } {
  const wanted = selectorMatcher(settings.tools);
  const excluded = selectorMatcher(settings.exclude_tools);
  const tags = new Set(settings.tool_tags);
  const problems: CurationProblem[] = [];
  const byName = new Map<string, Curated<T>>();
  for (const source of candidates) {
    const selected = wanted(source.name) || (tags.size > 0 && source.tags.some((t) => tags.has(t)));
    if (!selected || excluded(source.name)) continue;
    const override = settings.tool_overrides[source.name];
    const name = override?.name ?? source.name;
    if (!SERVED_NAME.test(name)) {
      problems.push({ code: 'SERVER_TOOL_NAME_INVALID', path: `$.tool_overrides.${source.name}.name`, message: `"${name}" is not a valid MCP tool name (1-64 of A-Z a-z 0-9 _ -)` });
      continue;
    }
    const taken = byName.get(name);
    if (taken) {
      problems.push({
        code: 'SERVER_TOOL_NAME_CONFLICT',
        path: override?.name ? `$.tool_overrides.${source.name}.name` : '$.tools',
        message: `tools "${taken.source.name}" and "${source.name}" would both be served as "${name}"; rename one with tool_overrides`,
      });
      continue;
    }
    byName.set(name, { source, name, override });
  }
  for (const [toolName, override] of Object.entries(settings.tool_overrides)) {
    const tool = [...byName.values()].find((c) => c.source.name === toolName);
    if (!tool || !override.arguments) continue;
    const properties = (tool.source.inputSchema.properties ?? {}) as Record<string, unknown>;
    for (const arg of Object.keys(override.arguments)) {
      if (!(arg in properties)) {
        problems.push({ code: 'SERVER_TOOL_ARGUMENT_UNKNOWN', path: `$.tool_overrides.${toolName}.arguments.${arg}`, message: `tool "${toolName}" has no argument "${arg}"` });
      }
    }
  }
  let tools = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (settings.max_tools !== null && tools.length > settings.max_tools) {
    problems.push({
      code: 'SERVER_TOOL_LIMIT',
      path: '$.max_tools',
      message: `the selection has ${tools.length} tools, more than max_tools (${settings.max_tools}); narrow tools, tool_tags or exclude_tools, or raise max_tools`,
    });
    tools = tools.slice(0, settings.max_tools);
  }
  return { tools, problems };
}

/** The MCP `Tool` object a server shows for a curated tool: the original, with the overrides laid over it. */
export function curatedDescriptor(descriptor: Record<string, unknown>, name: string, override: ToolOverride | undefined): Record<string, unknown> {
  if (!override && name === descriptor.name) return descriptor;
  const out: Record<string, unknown> = { ...descriptor, name };
  if (!override) return out;
  if (override.title === null) delete out.title;
  else if (override.title !== undefined) out.title = override.title;
  if (override.description !== undefined) out.description = override.description;
  if (override.annotations) out.annotations = { ...((descriptor.annotations as object | undefined) ?? {}), ...override.annotations };
  if (override.arguments) out.inputSchema = pinnedSchema(descriptor.inputSchema as Record<string, unknown>, override.arguments);
  return out;
}

/** The argument rules of an override, or undefined when it pins nothing. */
export function argumentRules(override: ToolOverride | undefined): ArgumentRules | undefined {
  if (!override?.arguments) return undefined;
  const rules: ArgumentRules = { fixed: {}, defaults: {} };
  for (const [arg, pin] of Object.entries(override.arguments)) {
    if ('value' in pin) rules.fixed[arg] = pin.value;
    else rules.defaults[arg] = pin.default;
  }
  return rules;
}

/**
 * The arguments sent upstream: the client's, with defaults filled in and fixed values set. A
 * client that sends a fixed argument is refused, so a pin can never be overridden.
 */
export function applyArgumentRules(rules: ArgumentRules | undefined, args: Record<string, unknown>, tool: string): Record<string, unknown> {
  if (!rules) return args;
  for (const arg of Object.keys(rules.fixed)) {
    if (arg in args) throw new RpcError(INVALID_PARAMS, `argument "${arg.slice(0, 128)}" of tool "${tool}" is fixed by this server and cannot be given`);
  }
  const out: Record<string, unknown> = { ...args };
  for (const [arg, value] of Object.entries(rules.defaults)) if (out[arg] === undefined) out[arg] = value;
  return Object.assign(out, rules.fixed);
}

/** The input schema without fixed arguments, and with defaults shown and no longer required. */
function pinnedSchema(schema: Record<string, unknown>, pins: NonNullable<ToolOverride['arguments']>): Record<string, unknown> {
  const properties = { ...((schema.properties ?? {}) as Record<string, Record<string, unknown>>) };
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [arg, pin] of Object.entries(pins)) {
    required.delete(arg);
    if ('value' in pin) delete properties[arg];
    else if (properties[arg]) properties[arg] = { ...properties[arg], default: pin.default };
  }
  const out: Record<string, unknown> = { ...schema, properties };
  if (required.size > 0) out.required = [...required];
  else delete out.required;
  return out;
}

/** A server's curated tools as catalog entries: renamed, re-described and pinned, sharing the original's fields. */
export function servedTools(server: Record<string, unknown>, all: readonly ToolEntry[]): ToolEntry[] {
  const candidates = all.map((entry) => ({
    name: entry.name,
    tags: (entry.fields.tags as string[] | undefined) ?? [],
    inputSchema: entry.descriptor.inputSchema as Record<string, unknown>,
    entry,
  }));
  return curate(settingsOf(server), candidates).tools.map(({ source, name, override }) => {
    if (!override && name === source.name) return source.entry;
    return { ...source.entry, name, descriptor: curatedDescriptor(source.entry.descriptor, name, override), arguments: argumentRules(override) };
  });
}
