import { resolve } from 'node:path';
import { GatewayError } from '../../errors.js';
import { checkDepth, DEFAULT_MAX_BYTES, parseJsonOrYaml, readTextFile } from '../source.js';

/** Reading an API description from a file: guards, external `$ref`s, and the parser's validation. */

export interface LoadOptions {
  /** Size cap in bytes (default 64 MiB). */
  maxBytes?: number;
  /** Validate with @readme/openapi-parser (default true). */
  validate?: boolean;
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
  let doc = parseJsonOrYaml(text, file);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || (!('openapi' in doc) && !('swagger' in doc))) {
    throw new GatewayError('OPENAPI_INVALID', `${file} has neither "openapi" nor "swagger" at its top: not an OpenAPI or Swagger description`);
  }
  const external = findExternalRef(doc);
  if (external) {
    if (!options.allowRemoteRefs) {
      throw new GatewayError('OPENAPI_INVALID', `${file} refers to another document ($ref "${external.ref}" at ${external.at}); import with --allow-remote-refs to fetch it`);
    }
    try {
      const { bundle } = await import('@readme/openapi-parser');
      doc = await bundle(resolve(file), { resolve: { external: true, file: true, http: { timeout: 10_000, redirects: 3 } } });
    } catch (error) {
      throw new GatewayError('OPENAPI_INVALID', `${file}: cannot resolve its external references: ${firstLine(error)}`);
    }
    checkDepth(doc, file);
  }
  if (options.validate === false) return { doc, warnings: [], validationErrors: [] };
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

/** The first `$ref` that leaves the document, and where it is (walked without recursion). */
export function findExternalRef(doc: unknown): { ref: string; at: string } | undefined {
  const stack: [unknown, string][] = [[doc, '$']];
  while (stack.length > 0) {
    const [node, at] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${at}[${i}]`]);
      continue;
    }
    const ref = (node as Record<string, unknown>).$ref;
    if (typeof ref === 'string' && !ref.startsWith('#')) return { ref, at };
    const entries = Object.entries(node);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, value] = entries[i]!;
      if (value !== null && typeof value === 'object') stack.push([value, /^[A-Za-z_][\w]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`]);
    }
  }
  return undefined;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((line) => line.trim())?.trim().slice(0, 500) ?? 'unknown error';
}
