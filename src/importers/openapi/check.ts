import { Pointers } from './schemas.js';

/**
 * The structural checks `cap import` and `import preview` run by default: what matters for the
 * conversion (a `$ref` that points nowhere, a parameter that cannot be placed), in one pass over
 * the document and far cheaper than the parser's full JSON Schema validation (`--validate`).
 */

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const LOCATIONS_3 = new Set(['path', 'query', 'header', 'cookie']);
const LOCATIONS_2 = new Set(['path', 'query', 'header', 'body', 'formData']);

/** Problems found (each with where it is), at most `limit` of them plus a count of the rest. */
export function structuralProblems(doc: unknown, localRefs: Iterable<string>, limit = 5): { problems: string[]; more: number } {
  const problems: string[] = [];
  let total = 0;
  const report = (message: string) => {
    total++;
    if (problems.length < limit) problems.push(message);
  };
  const pointers = new Pointers(doc);
  for (const ref of localRefs) if (pointers.resolve(ref) === undefined) report(`$ref "${ref}" points at nothing in the document`);
  const d = (doc ?? {}) as Json;
  const swagger = typeof d.swagger === 'string' || typeof d.swagger === 'number';
  const locations = swagger ? LOCATIONS_2 : LOCATIONS_3;
  const paths = d.paths !== null && typeof d.paths === 'object' && !Array.isArray(d.paths) ? (d.paths as Json) : {};
  const deref = (node: unknown): unknown => {
    let current = node;
    for (let hops = 0; hops < 32 && current !== null && typeof current === 'object' && typeof (current as Json).$ref === 'string'; hops++) {
      const ref = (current as Json).$ref as string;
      if (!ref.startsWith('#')) return undefined;
      current = pointers.resolve(ref);
    }
    return current;
  };
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = deref(rawItem);
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      if (item !== undefined) report(`paths["${path}"] is not an object`);
      continue;
    }
    const i = item as Json;
    const placeholders = new Set([...path.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]!));
    const checkList = (list: unknown, at: string) => {
      if (list === undefined) return;
      if (!Array.isArray(list)) return report(`${at}.parameters is not a list`);
      list.forEach((raw, n) => {
        const p = deref(raw);
        const where = `${at}.parameters[${n}]`;
        if (p === undefined) return; // an unresolved $ref, reported above
        if (p === null || typeof p !== 'object' || Array.isArray(p)) return report(`${where} is not an object`);
        const param = p as Json;
        if (typeof param.name !== 'string' || param.name === '') return report(`${where} has no name`);
        if (typeof param.in !== 'string' || !locations.has(param.in)) return report(`${where} ("${param.name}") is in ${JSON.stringify(param.in ?? null)}, not one of ${[...locations].join(', ')}`);
        if (param.in === 'path' && param.required !== true) report(`${where}: path parameter "${param.name}" must be required: true`);
        if (param.in === 'path' && !placeholders.has(param.name)) report(`${where}: path parameter "${param.name}" is not in the path ${path}`);
        if (!swagger) {
          if (param.schema !== undefined && param.content !== undefined) report(`${where} ("${param.name}") has both schema and content`);
          if (param.content !== undefined && (param.content === null || typeof param.content !== 'object' || Object.keys(param.content).length !== 1)) {
            report(`${where} ("${param.name}"): content must hold exactly one media type`);
          }
        } else if (param.in !== 'body' && param.type === 'array' && param.items === undefined) report(`${where} ("${param.name}") is an array without items`);
      });
    };
    checkList(i.parameters, `paths["${path}"]`);
    for (const method of METHODS) {
      const op = i[method];
      if (op === undefined) continue;
      if (op === null || typeof op !== 'object' || Array.isArray(op)) {
        report(`paths["${path}"].${method} is not an object`);
        continue;
      }
      checkList((op as Json).parameters, `paths["${path}"].${method}`);
    }
  }
  return { problems, more: total - problems.length };
}
