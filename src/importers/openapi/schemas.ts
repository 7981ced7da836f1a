import { createHash } from 'node:crypto';
import { MAX_DEPTH } from '../source.js';

/**
 * OpenAPI/Swagger schemas → self-contained JSON Schema (2020-12) for one tool. `$ref`s are never
 * expanded in place: each referenced definition is converted once, named from its pointer, and
 * copied into the tool's own `$defs` only if that tool reaches it. Recursive schemas therefore
 * stay recursive (and finite), and no tool carries definitions it does not use.
 */

export type Dialect = 'swagger2' | 'oas30' | 'oas31';

/** A problem that stops one operation from converting (reported as skipped, with this reason). */
export class ConvertError extends Error {}

type Json = Record<string, unknown>;

// Keywords whose value is one schema, a list of schemas, or a map of name → schema.
const ONE = new Set(['items', 'additionalProperties', 'additionalItems', 'not', 'contains', 'propertyNames', 'if', 'then', 'else', 'unevaluatedProperties', 'unevaluatedItems', 'contentSchema']);
const LIST = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const MAP = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions']);
// OpenAPI-only or identity keywords that mean nothing (or something wrong) inside a tool schema.
const DROP = new Set(['xml', 'externalDocs', 'example', 'discriminator', '$id', '$schema', '$anchor', '$dynamicAnchor', '$comment', 'nullable', 'x-nullable']);

/** Resolves local JSON pointers (`#/components/schemas/Pet`) in one document, with a cache. */
export class Pointers {
  private readonly cache = new Map<string, unknown>();

  constructor(readonly doc: unknown) {}

  /** The node a local `$ref` points at, or undefined. */
  resolve(ref: string): unknown {
    if (this.cache.has(ref)) return this.cache.get(ref);
    let node: unknown = undefined;
    if (ref === '#' || ref.startsWith('#/')) {
      node = this.doc;
      for (const raw of ref.length <= 2 ? [] : ref.slice(2).split('/')) {
        const key = unescapePointer(raw);
        if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) {
          node = undefined;
          break;
        }
        node = (node as Json)[key];
      }
    }
    this.cache.set(ref, node);
    return node;
  }

  /** Follow `$ref` chains (parameters, request bodies, responses…) to the object itself. */
  deref(node: unknown, what: string): unknown {
    let current = node;
    for (let hops = 0; isRef(current); hops++) {
      const ref = current.$ref;
      if (hops > 32) throw new ConvertError(`${what}: $ref chain "${ref}" does not end`);
      if (!ref.startsWith('#')) throw new ConvertError(`${what}: external $ref "${ref}" (import with --allow-remote-refs)`);
      const target = this.resolve(ref);
      if (target === undefined) throw new ConvertError(`${what}: $ref "${ref}" points at nothing`);
      current = target;
    }
    return current;
  }
}

function unescapePointer(segment: string): string {
  let s = segment;
  if (s.includes('%')) {
    try {
      s = decodeURIComponent(s);
    } catch {
      // keep as written
    }
  }
  return s.replaceAll('~1', '/').replaceAll('~0', '~');
}

export function isRef(node: unknown): node is { $ref: string } & Json {
  return node !== null && typeof node === 'object' && typeof (node as Json).$ref === 'string';
}

interface Converted {
  schema: unknown;
  deps: Set<string>;
}

/** Converts schemas of one document; definitions are converted once and shared by every tool. */
export class SchemaConverter {
  private readonly defs = new Map<string, Converted>();
  private readonly names = new Map<string, string>();
  private readonly taken = new Map<string, string>();

  constructor(
    private readonly pointers: Pointers,
    private readonly dialect: Dialect,
    /** Told about what was left out (a pattern that is not a valid regular expression). */
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  /** Convert a schema; the pointers of definitions it references are added to `deps`. */
  convert(node: unknown, deps: Set<string>, depth = 0): unknown {
    if (depth > MAX_DEPTH) throw new ConvertError(`a schema is nested more than ${MAX_DEPTH} levels deep`);
    if (Array.isArray(node)) return node.map((item) => this.convert(item, deps, depth + 1));
    if (node === null || typeof node !== 'object') return node === undefined ? {} : clean(node);
    const source = node as Json;
    if (typeof source.$ref === 'string') {
      const ref = this.refTo(source.$ref, deps);
      if (this.dialect !== 'oas31') return ref;
      // 3.1 allows keywords beside $ref; keep them.
      const rest = { ...source };
      delete rest.$ref;
      return { ...ref, ...(this.convertObject(rest, deps, depth) as Json) };
    }
    return this.convertObject(source, deps, depth);
  }

  /** The `$defs` a schema needs: the closure of `deps`, sorted by name. */
  defsFor(deps: Set<string>): Json {
    const all = new Set<string>();
    const queue = [...deps];
    while (queue.length > 0) {
      const pointer = queue.pop()!;
      if (all.has(pointer)) continue;
      all.add(pointer);
      for (const next of this.definition(pointer).deps) if (!all.has(next)) queue.push(next);
    }
    const entries = [...all].map((pointer) => [this.nameOf(pointer), this.definition(pointer).schema] as const);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return Object.fromEntries(entries);
  }

  /**
   * Whether `schema` with the `$defs` of `deps` added would be at most `limit` characters of JSON
   * (by the upper-bound count of jsonSizeUpTo), measured definition by definition in the order
   * defsFor walks them, stopping as soon as the limit is passed.
   */
  fits(schema: Json, deps: Set<string>, limit: number): boolean {
    let size = jsonSizeUpTo(schema, limit);
    if (size > limit || deps.size === 0) return size <= limit;
    if (this.sizeLimit !== limit) {
      this.sizes.clear();
      this.sizeLimit = limit;
    }
    // `"$defs":` and its braces, then `"name":` and the definition for each.
    size += '$defs'.length + 4 + 1;
    const all = new Set<string>();
    const queue = [...deps];
    while (queue.length > 0) {
      const pointer = queue.pop()!;
      if (all.has(pointer)) continue;
      all.add(pointer);
      const def = this.definition(pointer);
      let defSize = this.sizes.get(pointer);
      if (defSize === undefined) this.sizes.set(pointer, (defSize = jsonSizeUpTo(def.schema, limit)));
      size += this.nameOf(pointer).length + 4 + defSize;
      if (size > limit) return false;
      for (const next of def.deps) if (!all.has(next)) queue.push(next);
    }
    return true;
  }

  private readonly sizes = new Map<string, number>();
  private sizeLimit = -1;

  /** Whether a schema describes JSON objects only (following $refs). */
  isObject(node: unknown, depth = 0): boolean {
    if (depth > 16) return false;
    let target = node;
    try {
      target = this.pointers.deref(node, 'schema');
    } catch {
      return false;
    }
    if (target === null || typeof target !== 'object' || Array.isArray(target)) return false;
    const s = target as Json;
    if (s.type === 'object') return true;
    if (Array.isArray(s.type)) return s.type.length > 0 && s.type.every((t) => t === 'object' || t === 'null') && s.type.includes('object');
    if (s.type !== undefined) return false;
    if (s.properties !== undefined || s.additionalProperties !== undefined) return true;
    if (Array.isArray(s.allOf) && s.allOf.some((b) => this.isObject(b, depth + 1))) return true;
    for (const key of ['oneOf', 'anyOf'] as const) {
      const list = s[key];
      if (Array.isArray(list) && list.length > 0 && list.every((b) => this.isObject(b, depth + 1))) return true;
    }
    return false;
  }

  private refTo(ref: string, deps: Set<string>): Json {
    if (!ref.startsWith('#/')) {
      throw new ConvertError(ref.startsWith('#') ? `$ref "${ref}" is not a JSON pointer` : `external $ref "${ref}" (import with --allow-remote-refs)`);
    }
    if (this.pointers.resolve(ref) === undefined) throw new ConvertError(`$ref "${ref}" points at nothing`);
    deps.add(ref);
    return { $ref: `#/$defs/${this.nameOf(ref)}` };
  }

  private definition(pointer: string): Converted {
    let def = this.defs.get(pointer);
    if (!def) {
      const deps = new Set<string>();
      // Placeholder first: a definition that reaches itself finds it and stops.
      def = { schema: {}, deps };
      this.defs.set(pointer, def);
      def.schema = this.convert(this.pointers.resolve(pointer), deps);
    }
    return def;
  }

  /** A `$defs` name from the pointer alone, so it never depends on which tools were converted. */
  private nameOf(pointer: string): string {
    let name = this.names.get(pointer);
    if (name !== undefined) return name;
    const parts = pointer.slice(2).split('/').map(unescapePointer);
    const isComponent = (parts.length === 3 && parts[0] === 'components' && parts[1] === 'schemas') || (parts.length === 2 && parts[0] === 'definitions');
    const raw = isComponent ? parts[parts.length - 1]! : parts.join('.');
    const safe = raw.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100);
    name = isComponent && safe === raw && safe.length > 0 ? safe : `${safe}_${hash(pointer)}`;
    while (this.taken.has(name) && this.taken.get(name) !== pointer) name = `${name}_${hash(name + pointer)}`;
    this.taken.set(name, pointer);
    this.names.set(pointer, name);
    return name;
  }

  private convertObject(source: Json, deps: Set<string>, depth: number): Json {
    const out: Json = {};
    for (const [key, value] of Object.entries(source)) {
      if (DROP.has(key) || key.startsWith('x-')) continue;
      if (key === 'pattern' && typeof value === 'string' && !validPattern(value)) {
        this.warn(`a pattern that is not a valid (Unicode) regular expression was left out: ${value.slice(0, 80)}`);
        continue;
      }
      if (ONE.has(key)) out[key] = typeof value === 'boolean' ? value : this.convert(value, deps, depth + 1);
      else if (LIST.has(key) && Array.isArray(value)) out[key] = value.map((item) => this.convert(item, deps, depth + 1));
      else if (MAP.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const map: Json = {};
        for (const [name, schema] of Object.entries(value)) {
          if (key === 'patternProperties' && !validPattern(name)) {
            this.warn(`a patternProperties key that is not a valid (Unicode) regular expression was left out: ${name.slice(0, 80)}`);
            continue;
          }
          map[clean(name) as string] = this.convert(schema, deps, depth + 1);
        }
        out[key] = map;
      } else out[key] = clean(value, depth);
    }
    if (this.dialect !== 'oas31') this.fromOpenApiDialect(source, out);
    exclusiveBounds(out);
    return out;
  }

  /** Swagger 2.0 / OpenAPI 3.0 keywords in their JSON Schema 2020-12 form. */
  private fromOpenApiDialect(source: Json, out: Json): void {
    if (out.type === 'file') {
      out.type = 'string';
      out.format ??= 'binary';
    }
    if ((source.nullable === true || source['x-nullable'] === true) && typeof out.type === 'string') out.type = [out.type, 'null'];
  }
}

/** Draft-04 boolean `exclusiveMinimum`/`exclusiveMaximum` (OpenAPI 3.0, and seen in 3.1 files) as 2020-12 numbers. */
function exclusiveBounds(out: Json): void {
  for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof out[flag] !== 'boolean') continue;
    if (out[flag] === true && typeof out[bound] === 'number') {
      out[flag] = out[bound];
      delete out[bound];
    } else delete out[flag];
  }
}

function validPattern(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

/** A deep copy of plain JSON with strings made safe to store (no NUL, no lone surrogates). */
function clean(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('\u0000') ? value.replaceAll('\u0000', '').toWellFormed() : value.toWellFormed();
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) throw new ConvertError(`a value is nested more than ${MAX_DEPTH} levels deep`);
  if (Array.isArray(value)) return value.map((item) => clean(item, depth + 1));
  const out: Json = {};
  for (const [key, inner] of Object.entries(value)) out[clean(key) as string] = clean(inner, depth + 1);
  return out;
}

/**
 * An upper bound of a value's JSON length (each string and key as if it needed no escapes, plus
 * quotes, colons and commas), or `limit + 1` once it passes `limit` (the walk stops there).
 */
export function jsonSizeUpTo(value: unknown, limit: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') size += node.length + 2;
    else if (node === null || typeof node !== 'object') size += String(node).length;
    else if (Array.isArray(node)) {
      size += 1 + node.length;
      for (const item of node) stack.push(item);
    } else {
      size += 1;
      for (const key in node as Json) {
        size += key.length + 4;
        stack.push((node as Json)[key]);
      }
    }
    if (size > limit) return limit + 1;
  }
  return size;
}

export function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}
