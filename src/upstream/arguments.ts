import { createHash } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';

/**
 * A REST tool's arguments checked against its `input_schema` before any request is sent
 * (issue 10), as an MCP upstream checks its own. Validators are compiled once per tool version
 * (the schema's hash) and kept in a bounded cache.
 *
 * Undeclared arguments: when the schema lists `properties`, an argument it does not list (and no
 * URL, query, header, cookie or body placeholder uses) is not forwarded, unless the schema allows
 * extras (`additionalProperties: true` or a schema); `additionalProperties: false` refuses it. A
 * schema that lists no properties at all says nothing about the arguments: they pass as before.
 */
const MAX_CACHED = 2000;

export type ArgumentCheck = { ok: true; args: Record<string, unknown> } | { ok: false; message: string };

export class ArgumentValidator {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  private readonly cache = new Map<string, ValidateFunction | null>();
  // The catalog hands out the same schema object until the tool changes: no hashing per call.
  private readonly bySchema = new WeakMap<object, ValidateFunction | null>();
  private readonly names = new WeakMap<object, Set<string>>();

  /** Check a REST tool's arguments (its templates' placeholders count as declared). */
  checkTool(tool: { name: string; input_schema?: unknown; url?: unknown; query?: unknown; headers?: unknown; cookies?: unknown; body?: unknown }, args: Record<string, unknown>): ArgumentCheck {
    let names = this.names.get(tool);
    if (!names) {
      names = templateNames(tool);
      this.names.set(tool, names);
    }
    const used = names;
    return this.check(tool, args, (name) => used.has(name));
  }

  check(tool: { name: string; input_schema?: unknown }, args: Record<string, unknown>, used: (name: string) => boolean): ArgumentCheck {
    const schema = tool.input_schema;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return { ok: true, args };
    const validate = this.compiled(schema as Record<string, unknown>);
    if (validate && !validate(args)) {
      const problems = (validate.errors ?? []).slice(0, 10).map((e) => {
        const at = `$${e.instancePath.replace(/\/([^/]*)/g, (_m, p: string) => (/^\d+$/.test(p) ? `[${p}]` : `.${p.replace(/~1/g, '/').replace(/~0/g, '~')}`))}`;
        const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
        const missing = e.keyword === 'required' ? ` (${String((e.params as { missingProperty?: string }).missingProperty)})` : '';
        return `${at}: ${e.message ?? 'is invalid'}${extra}${missing}`;
      });
      return { ok: false, message: `the arguments do not match the input_schema of ${tool.name}: ${problems.join('; ')}` };
    }
    const s = schema as { properties?: unknown; additionalProperties?: unknown };
    const declared = s.properties && typeof s.properties === 'object' ? Object.keys(s.properties) : [];
    const extrasAllowed = s.additionalProperties === true || (typeof s.additionalProperties === 'object' && s.additionalProperties !== null);
    if (declared.length === 0 || extrasAllowed) return { ok: true, args };
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(args)) if (declared.includes(key) || used(key)) kept[key] = value;
    return { ok: true, args: kept };
  }

  /** The validator of one schema version; null when the schema itself does not compile (then nothing is checked here). */
  private compiled(schema: Record<string, unknown>): ValidateFunction | null {
    if (this.bySchema.has(schema)) return this.bySchema.get(schema)!;
    const validate = this.compiledByContent(schema);
    this.bySchema.set(schema, validate);
    return validate;
  }

  private compiledByContent(schema: Record<string, unknown>): ValidateFunction | null {
    const key = createHash('sha256').update(JSON.stringify(schema)).digest('base64url');
    if (this.cache.has(key)) return this.cache.get(key)!;
    let validate: ValidateFunction | null;
    try {
      const { $schema: _ignored, $id: _id, ...rest } = schema;
      validate = this.ajv.compile(rest);
    } catch {
      validate = null;
    }
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, validate);
    return validate;
  }
}

/** The argument names a tool's templates use: `{name}` in its url, query, headers, cookies and body. */
export function templateNames(tool: { url?: unknown; query?: unknown; headers?: unknown; cookies?: unknown; body?: unknown }): Set<string> {
  const names = new Set<string>();
  const text = JSON.stringify([tool.url, tool.query, tool.headers, tool.cookies, tool.body]);
  for (const match of text.matchAll(/\{([A-Za-z_][\w.-]*)\}/g)) names.add(match[1]!);
  return names;
}
