import type { Node } from 'yaml';
import { findUnsafeString, hasUnsafeString } from '../domain/text.js';
import { GatewayError } from '../errors.js';
import { parseYaml, readTextFile, yaml, type YamlSource } from '../importers/source.js';
import { checkCapability } from './generated.js';
import { capabilitySchema, type Capability } from './schema.js';
import { readWrittenYaml } from './yaml-reader.js';

/** Capability files: YAML in, validated capability out (problems with path and line); and back. */

export { formatCapability } from './format.js';

/** One problem in a capability file. */
export interface CapabilityProblem {
  file: string;
  /** JSON path, e.g. `$.providers.primary.config.method`. */
  path: string;
  line: number | null;
  message: string;
}

export type CapabilityResult = { ok: true; capability: Capability } | { ok: false; problems: CapabilityProblem[] };

/** Largest capability file read (a generated one with big schemas is well under 1 MiB). */
export const MAX_CAPABILITY_BYTES = 8 * 1024 * 1024;

/** Read and validate one capability file; never throws for bad content. */
export function readCapabilityFile(file: string): CapabilityResult {
  let text: string;
  try {
    text = readTextFile(file, MAX_CAPABILITY_BYTES);
  } catch (error) {
    return { ok: false, problems: [{ file, path: '$', line: null, message: (error as Error).message }] };
  }
  return parseCapabilityText(text, file);
}

/** Validate capability YAML (or JSON) text against the schema. */
export function parseCapabilityText(text: string, file: string): CapabilityResult {
  // What `cap import` writes (most files of a large folder) is read by js-yaml's core schema
  // and checked without zod: same values, same verdict, a fraction of the time. Anything else,
  // and any file with a problem, takes the general path below (its errors name lines).
  const quick = readWrittenYaml(text);
  if (quick !== undefined && !hasUnsafeString(quick)) {
    const checked = checkCapability(quick);
    if (checked.ok) return { ok: true, capability: checked.capability };
  }
  let parsed: { value: unknown; source: YamlSource };
  try {
    parsed = parseYaml(text, file);
  } catch (error) {
    const message = (error as Error).message;
    const line = /line (\d+)/.exec(message);
    return { ok: false, problems: [{ file, path: '$', line: line ? Number(line[1]) : null, message }] };
  }
  const unsafe = findUnsafeString(parsed.value);
  if (unsafe) return { ok: false, problems: [{ file, path: unsafe.path, line: lineOf(parsed.source, pathParts(unsafe.path)), message: unsafe.message }] };
  const result = capabilitySchema.safeParse(parsed.value);
  if (result.success) return { ok: true, capability: result.data };
  const problems = result.error.issues.map((issue) => {
    const parts = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    let message = issue.message;
    let keyLine: number | null = null;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
      keyLine = lineOf(parsed.source, [...parts, issue.keys[0]!], true);
    }
    return { file, path: toJsonPath(parts), line: keyLine ?? lineOf(parsed.source, parts), message };
  });
  return { ok: false, problems };
}

/** Throwing form, for callers that want one error: CAPABILITY_INVALID listing the problems. */
export function loadCapabilityFile(file: string): Capability {
  const result = readCapabilityFile(file);
  if (result.ok) return result.capability;
  throw new GatewayError('CAPABILITY_INVALID', formatProblems(result.problems).join('; '));
}

/** `file:line: $.path: message`, one per problem. */
export function formatProblems(problems: CapabilityProblem[]): string[] {
  return problems.map((p) => `${p.file}${p.line === null ? '' : `:${p.line}`}: ${p.path}: ${p.message}`);
}

function toJsonPath(parts: (string | number)[]): string {
  let path = '$';
  for (const part of parts) {
    path += typeof part === 'number' ? `[${part}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return path;
}

function pathParts(jsonPath: string): (string | number)[] {
  const parts: (string | number)[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of jsonPath.slice(1).matchAll(re)) parts.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]!) as string)));
  return parts;
}

/** The 1-based line of the deepest node that exists along `parts` (or of the key itself). */
function lineOf(source: YamlSource, parts: (string | number)[], keyOfLast = false): number | null {
  const { isMap, isScalar } = yaml();
  let node: unknown = source.doc.contents;
  let found: Node | null = (node as Node | null) ?? null;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (!isMap(node) && !(node && typeof node === 'object' && 'items' in node)) break;
    const collection = node as { items: unknown[] };
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(part));
      if (!pair) break;
      if (keyOfLast && i === parts.length - 1) {
        found = pair.key as Node;
        break;
      }
      next = pair.value;
    } else {
      next = collection.items[Number(part)];
    }
    if (!next) break;
    node = next;
    found = next as Node;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? null : source.lines.linePos(offset).line;
}
