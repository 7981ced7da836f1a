import { resolve } from 'node:path';
import { GatewayError } from '../../errors.js';
import { checkDepth, DEFAULT_MAX_BYTES, MAX_DEPTH, parseJsonOrYaml, readTextFile } from '../source.js';

/** Reading an API description from a file: guards, external `$ref`s, and the parser's validation. */

export interface LoadOptions {
  /** Size cap in bytes (default 64 MiB). */
  maxBytes?: number;
  /**
   * `structural` (the default): the cheap checks that matter for conversion (unresolved `$ref`s,
   * bad parameter definitions); `true`: also the full validation by @readme/openapi-parser; `false`: none.
   */
  validate?: boolean | 'structural';
  /** Resolve `$ref`s to other files and URLs (bundled into the document). */
  allowRemoteRefs?: boolean;
  /** Refuse a document that fails validation (otherwise its problems are reported and it is imported). */
  strict?: boolean;
}

export interface LoadedDocument {
  doc: unknown;
  /** The parser's warnings. */
  warnings: string[];
  /** What validation found wrong (empty when valid, or when not validated). */
  validationErrors: string[];
}

const MAX_VALIDATION_ERRORS = 5;

/** Read, guard, optionally bundle and validate; throws a coded error naming the file. */
export async function loadOpenApi(file: string, options: LoadOptions = {}): Promise<LoadedDocument> {
  const text = readTextFile(file, options.maxBytes ?? DEFAULT_MAX_BYTES);
  // One walk checks the nesting and looks for external references.
  let doc = parseJsonOrYaml(text, file, { depthChecked: false });
  // The top first: an empty file (YAML null) or a scalar has nothing to walk.
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || (!('openapi' in doc) && !('swagger' in doc))) {
    throw new GatewayError('OPENAPI_INVALID', `${file} has neither "openapi" nor "swagger" at its top: not an OpenAPI or Swagger description`);
  }
  const localRefs = new Set<string>();
  const external = scanDocument(doc, file, localRefs);
  if (external) {
    if (!options.allowRemoteRefs) {
      throw new GatewayError('OPENAPI_INVALID', `${file} refers to another document ($ref "${external.ref}" at ${external.at()}); import with --allow-remote-refs to fetch it`);
    }
    try {
      const { bundle } = await import('@readme/openapi-parser');
      doc = await bundle(resolve(file), { resolve: { external: true, file: true, http: { timeout: 10_000, redirects: 3 } } });
    } catch (error) {
      throw new GatewayError('OPENAPI_INVALID', `${file}: cannot resolve its external references: ${firstLine(error)}`);
    }
    checkDepth(doc, file);
  }
  const mode = options.validate ?? 'structural';
  if (mode === false) return { doc, warnings: [], validationErrors: [] };
  if (mode === 'structural') {
    if (external) for (const ref of collectRefs(doc)) localRefs.add(ref);
    const { structuralProblems } = await import('./check.js');
    const { problems, more } = structuralProblems(doc, [...localRefs].filter((r) => r.startsWith('#')), MAX_VALIDATION_ERRORS);
    if (problems.length === 0) return { doc, warnings: [], validationErrors: [] };
    const messages = more > 0 ? [...problems, `and ${more} more`] : problems;
    if (options.strict) throw new GatewayError('OPENAPI_INVALID', `${file} fails the structural checks: ${messages.join('; ')} (--validate runs the full validation)`);
    return { doc, warnings: [], validationErrors: messages };
  }
  // The parser dereferences in place, so it gets its own copy.
  const copy = external ? structuredClone(doc) : parseJsonOrYaml(text, file);
  // Loaded only when needed: the parser and its JSON Schemas take a noticeable time to load.
  const { validate } = await import('@readme/openapi-parser');
  let result: Awaited<ReturnType<typeof validate>>;
  try {
    result = await validate(copy as never, { resolve: { external: false }, dereference: { circular: 'ignore' } });
  } catch (error) {
    result = { valid: false, errors: [{ message: firstLine(error) }], warnings: [], additionalErrors: 0, specification: null };
  }
  const warnings = result.warnings.map((w) => firstLine(w.message));
  if (result.valid) return { doc, warnings, validationErrors: [] };
  const messages = result.errors.slice(0, MAX_VALIDATION_ERRORS).map((e) => firstLine(e.message));
  const more = result.errors.length - messages.length + (result.additionalErrors ?? 0);
  if (more > 0) messages.push(`and ${more} more`);
  if (options.strict) {
    throw new GatewayError('OPENAPI_INVALID', `${file} fails ${result.specification ?? 'OpenAPI'} validation: ${messages.join('; ')}`);
  }
  return { doc, warnings, validationErrors: messages };
}

/**
 * Refuse nesting deeper than MAX_DEPTH, and find the first `$ref` that leaves the document (with
 * where it is), in one walk without recursion.
 */
export function scanDocument(doc: unknown, label: string, localRefs?: Set<string>): { ref: string; at: () => string } | undefined {
  // The common case (no external reference) walks with two plain stacks; only a document that
  // has one is walked again with parent links, to say where the first one is.
  const nodes: unknown[] = [doc];
  const depths: number[] = [1];
  let external = false;
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop()!;
    if (depth > MAX_DEPTH) {
      throw new GatewayError('DOCUMENT_REJECTED', `${label} is nested more than ${MAX_DEPTH} levels deep; refusing to process it`);
    }
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) {
        const child: unknown = node[i];
        if (child !== null && typeof child === 'object') {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    const record = node as Record<string, unknown>;
    const ref = record.$ref;
    if (typeof ref === 'string') {
      if (ref.charCodeAt(0) !== 35 /* # */) external = true;
      else localRefs?.add(ref);
    }
    for (const key in record) {
      const child = record[key];
      if (child !== null && typeof child === 'object') {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return external ? firstExternal(doc) : undefined;
}

/** The first `$ref` that leaves the document, in scanDocument's order, with where it is. */
function firstExternal(doc: unknown): { ref: string; at: () => string } | undefined {
  type Frame = { node: unknown; depth: number; parent: Frame | undefined; key: string | number };
  const stack: Frame[] = [{ node: doc, depth: 1, parent: undefined, key: '$' }];
  let found: Frame | undefined;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const node = frame.node;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) {
        const child: unknown = node[i];
        if (child !== null && typeof child === 'object') stack.push({ node: child, depth: frame.depth + 1, parent: frame, key: i });
      }
      continue;
    }
    const record = node as Record<string, unknown>;
    if (typeof record.$ref === 'string' && !record.$ref.startsWith('#')) {
      found = frame;
      break;
    }
    for (const key in record) {
      const child = record[key];
      if (child !== null && typeof child === 'object') stack.push({ node: child, depth: frame.depth + 1, parent: frame, key });
    }
  }
  if (!found) return undefined;
  const at = found;
  return { ref: (at.node as { $ref: string }).$ref, at: () => pathOf(at) };

  function pathOf(frame: Frame): string {
    const keys: (string | number)[] = [];
    for (let f: Frame | undefined = frame; f?.parent; f = f.parent) keys.unshift(f.key);
    let path = '$';
    for (const key of keys) path += typeof key === 'number' ? `[${key}]` : /^[A-Za-z_]\w*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    return path;
  }
}

/** Every `$ref` string in a (bundled) document. */
function collectRefs(doc: unknown): Set<string> {
  const refs = new Set<string>();
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) stack.push(...node);
    else {
      const record = node as Record<string, unknown>;
      if (typeof record.$ref === 'string') refs.add(record.$ref);
      for (const key in record) stack.push(record[key]);
    }
  }
  return refs;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((line) => line.trim())?.trim().slice(0, 500) ?? 'unknown error';
}
