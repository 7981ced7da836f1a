import { createRequire } from 'node:module';
import { checkCapability } from '../../capabilities/generated.js';
import type { Capability } from '../../capabilities/schema.js';
import { GatewayError } from '../../errors.js';
import { argumentName, baseName, cleanText, NameBook, snakeCase } from './names.js';
import { ConvertError, Pointers, SchemaConverter, type Dialect } from './schemas.js';
import { destructiveReason } from '../common.js';
import { isXml, type ParamSerialization, type SerializationMap } from '../../upstream/serialize.js';
import { authFor, coversAuthorization, type AuthContext } from './security.js';

/**
 * OpenAPI 3.0/3.1 and Swagger 2.0 → capabilities, one per operation. Pure and deterministic:
 * the same document and options give the same capabilities, in document order, and a report.
 */

type Json = Record<string, unknown>;

export interface ConvertOptions {
  /** Put before every name (`stripe` → `stripe_list_charges`). */
  prefix?: string;
  /** `env:VAR` for the token or key of every operation that needs one. */
  authKey?: string;
  includeTags?: string[];
  excludeTags?: string[];
  /** Globs matched against the operationId, the tool name and `METHOD /path`. */
  operations?: string[];
  /** Only GET, HEAD and OPTIONS operations. */
  readOnly?: boolean;
  /** false: no output schemas (`--no-output-schema`). */
  outputSchema?: boolean;
  /** Leave out an output schema larger than this many bytes of JSON (default 768; 0: no limit). */
  maxOutputSchemaBytes?: number;
  /** Cut tool and parameter descriptions at this many characters (default 1000). */
  maxDescription?: number;
}

export const DEFAULT_MAX_DESCRIPTION = 1000;
export const DEFAULT_MAX_OUTPUT_SCHEMA_BYTES = 768;

/** One operation, converted. */
export interface GeneratedCapability {
  capability: Capability;
  method: string;
  path: string;
  operationId: string | null;
}

export interface SkippedOperation {
  operation: string;
  /** `filtered` by an option, `unsupported` (TRACE), or `failed` to convert. */
  kind: 'filtered' | 'unsupported' | 'failed';
  reason: string;
}

export interface ConvertReport {
  title: string;
  version: string;
  /** `swagger 2.0`, `openapi 3.0.3`… */
  specification: string;
  operations_found: number;
  converted: number;
  skipped: SkippedOperation[];
  warnings: string[];
}

export interface ConvertResult {
  capabilities: GeneratedCapability[];
  report: ConvertReport;
}

// Glob matching loads only for --operation.
const require = createRequire(import.meta.url);
const picomatch = (globs: string[], options: { nocase: boolean; dot: boolean }) => (require('picomatch') as typeof import('picomatch'))(globs, options);

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

/** Convert a parsed API description. Throws OPENAPI_INVALID when it is not one. */
export function convertOpenApi(doc: unknown, options: ConvertOptions = {}): ConvertResult {
  const ctx = new DocumentContext(doc, options);
  const capabilities: GeneratedCapability[] = [];
  const names = new NameBook();
  const globs = options.operations?.length ? picomatch(options.operations, { nocase: true, dot: true }) : undefined;
  let found = 0;
  for (const [path, rawItem] of Object.entries(ctx.paths)) {
    let item: Json;
    try {
      item = asObject(ctx.pointers.deref(rawItem, `path ${path}`), `path ${path}`);
    } catch (error) {
      ctx.skip(`* ${path}`, (error as Error).message);
      continue;
    }
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      found++;
      const METHOD = method.toUpperCase();
      const label = `${METHOD} ${path}`;
      if (method === 'trace') {
        ctx.skip(label, 'TRACE is not a method tools may use', 'unsupported');
        continue;
      }
      if (operation === null || typeof operation !== 'object') {
        ctx.skip(label, 'the operation is not an object');
        continue;
      }
      const op = operation as Json;
      const why = filterOut(op, METHOD, path, options, globs);
      if (why) {
        ctx.skip(label, why, 'filtered');
        continue;
      }
      try {
        const wanted = (options.prefix ? `${options.prefix}${/[_-]$/.test(options.prefix) ? '' : '_'}` : '') + baseName(op.operationId, METHOD, path);
        const name = names.claim(wanted, label);
        const capability = ctx.operation(name, METHOD, path, item, op);
        capabilities.push({ capability, method: METHOD, path, operationId: typeof op.operationId === 'string' ? op.operationId : null });
      } catch (error) {
        if (!(error instanceof ConvertError)) throw error;
        ctx.skip(label, error.message);
      }
    }
  }
  if (ctx.oversizedOutputs > 0) {
    const limit = options.maxOutputSchemaBytes ?? DEFAULT_MAX_OUTPUT_SCHEMA_BYTES;
    ctx.warnings.push(`${ctx.oversizedOutputs} output schema(s) over ${limit} bytes left out to keep the tool list small (--max-output-schema 0 keeps them all)`);
  }
  if (found === 0) ctx.warnings.push(ctx.hasWebhooks ? 'the document describes only webhooks, which are not callable operations' : 'the document has no operations');
  return {
    capabilities,
    report: {
      title: ctx.title,
      version: ctx.apiVersion,
      specification: ctx.specification,
      operations_found: found,
      converted: capabilities.length,
      skipped: ctx.skipped,
      warnings: [...new Set(ctx.warnings)],
    },
  };
}

/** The comment at the top of a generated file: where it came from. */
export function generatedHeader(generated: GeneratedCapability, sourceName: string): string {
  return `Generated by mcpgateway cap import from ${sourceName}: ${generated.method} ${generated.path}`;
}

/** Why an operation is filtered out, or undefined to keep it. */
function filterOut(op: Json, method: string, path: string, options: ConvertOptions, globs: ((s: string) => boolean) | undefined): string | undefined {
  const tags = Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === 'string') : [];
  if (options.readOnly && !SAFE.has(method)) return 'not read-only (--read-only)';
  if (options.includeTags?.length && !tags.some((t) => options.includeTags!.includes(t))) return 'no tag in --include-tags';
  if (options.excludeTags?.length && tags.some((t) => options.excludeTags!.includes(t))) return 'a tag in --exclude-tags';
  if (globs) {
    const id = typeof op.operationId === 'string' ? op.operationId : '';
    const candidates = [id, baseName(op.operationId, method, path), `${method} ${path}`].filter(Boolean);
    if (!candidates.some((c) => globs(c))) return 'not matched by --operation';
  }
  return undefined;
}

interface Param {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: unknown;
  /** Set when the parameter is not a plain scalar in its location's default style. */
  serialization?: ParamSerialization;
}

interface Body {
  schema: unknown;
  required: boolean;
  contentType: string | null;
  description?: string;
  /** XML bodies: the root element. */
  xmlRoot?: string;
}

/** What every operation of one document shares: dialect, servers, schemas, security. */
class DocumentContext {
  readonly pointers: Pointers;
  readonly schemas: SchemaConverter;
  readonly dialect: Dialect;
  readonly specification: string;
  readonly title: string;
  readonly apiVersion: string;
  readonly paths: Json;
  readonly hasWebhooks: boolean;
  readonly skipped: SkippedOperation[] = [];
  readonly warnings: string[] = [];
  private readonly auth: AuthContext;

  constructor(
    readonly doc: unknown,
    readonly options: ConvertOptions,
  ) {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      throw new GatewayError('OPENAPI_INVALID', 'the document is not an object: not an OpenAPI or Swagger description');
    }
    const d = doc as Json;
    if (typeof d.swagger === 'string' || typeof d.swagger === 'number') {
      if (!String(d.swagger).startsWith('2.')) throw new GatewayError('OPENAPI_INVALID', `swagger "${String(d.swagger)}" is not supported (only 2.0)`);
      this.dialect = 'swagger2';
      this.specification = `swagger ${String(d.swagger)}`;
    } else if (typeof d.openapi === 'string') {
      if (/^3\.0(\.|$)/.test(d.openapi)) this.dialect = 'oas30';
      else if (/^3\.[1-9]\d*(\.|$)/.test(d.openapi)) this.dialect = 'oas31';
      else throw new GatewayError('OPENAPI_INVALID', `openapi "${d.openapi}" is not supported (3.0 and 3.1 are)`);
      this.specification = `openapi ${d.openapi}`;
    } else {
      throw new GatewayError('OPENAPI_INVALID', 'the document has neither "openapi" nor "swagger": not an OpenAPI or Swagger description');
    }
    const info = (d.info ?? {}) as Json;
    this.title = typeof info.title === 'string' ? info.title : '';
    this.apiVersion = typeof info.version === 'string' ? info.version : typeof info.version === 'number' ? String(info.version) : '';
    this.paths = d.paths !== null && typeof d.paths === 'object' && !Array.isArray(d.paths) ? (d.paths as Json) : {};
    this.hasWebhooks = d.webhooks !== null && typeof d.webhooks === 'object' && Object.keys(d.webhooks as Json).length > 0;
    this.pointers = new Pointers(doc);
    this.schemas = new SchemaConverter(this.pointers, this.dialect, (message) => this.warnings.push(message));
    const schemes = (this.dialect === 'swagger2' ? d.securityDefinitions : (d.components as Json | undefined)?.securitySchemes) ?? {};
    this.auth = {
      pointers: this.pointers,
      schemes: typeof schemes === 'object' && schemes !== null ? (schemes as Json) : {},
      documentSecurity: d.security,
      envPrefix: options.prefix ?? (snakeCase(this.title) || 'API'),
      ...(options.authKey ? { authKey: options.authKey } : {}),
    };
  }

  get maxDescription(): number {
    return this.options.maxDescription ?? DEFAULT_MAX_DESCRIPTION;
  }

  /** Output schemas left out for their size. */
  oversizedOutputs = 0;

  /**
   * The output schema, unless it is larger than the limit (a tool list stays small; results still
   * come back). The size is measured before the `$defs` are gathered, definition by definition, so
   * an output that is too large stops being measured (and its definitions being converted) early.
   */
  private fitting(output: { schema: Json; deps: Set<string> } | undefined): Json | undefined {
    if (!output) return undefined;
    const limit = this.options.maxOutputSchemaBytes ?? DEFAULT_MAX_OUTPUT_SCHEMA_BYTES;
    if (limit !== 0 && !this.schemas.fits(output.schema, output.deps, limit)) {
      this.oversizedOutputs++;
      return undefined;
    }
    if (output.deps.size > 0) output.schema.$defs = this.schemas.defsFor(output.deps);
    return output.schema;
  }

  skip(operation: string, reason: string, kind: SkippedOperation['kind'] = 'failed'): void {
    this.skipped.push({ operation, kind, reason });
  }

  /** One operation as a validated capability. */
  operation(name: string, method: string, path: string, item: Json, op: Json): Capability {
    const label = `${method} ${path}`;
    const auth = authFor(op.security, this.auth);
    if (auth.note) this.warnings.push(auth.note);
    // An `authorization` header parameter the security does not fill stays an argument.
    const params = this.parameters(item, op, label, !coversAuthorization(auth));
    const body = this.dialect === 'swagger2' ? this.swaggerBody(item, op, label) : this.requestBody(op, label);
    const input = this.inputSchema(params, body, path);
    const output = this.options.outputSchema === false ? undefined : this.fitting(this.outputSchema(op, label));
    const server = this.server(item, op);
    const summary = typeof op.summary === 'string' ? cleanText(op.summary, 512).replace(/\s+/g, ' ') : '';
    const detail = typeof op.description === 'string' ? cleanText(op.description, this.maxDescription) : '';
    const description = cleanText([summary, detail !== summary ? detail : ''].filter(Boolean).join('\n\n'), this.maxDescription);
    const tags = Array.isArray(op.tags) ? [...new Set(op.tags.filter((t): t is string => typeof t === 'string').map((t) => cleanText(t, 128)).filter(Boolean))] : [];
    const readOnly = SAFE.has(method);
    const config: Json = {
      ...(server.base ? { base_url: server.base } : {}),
      path: server.path + input.urlPath,
      method,
      params: input.query,
      headers: input.headers,
      cookies: input.cookies,
    };
    if (body) {
      config.body = `{${input.bodyArg}}`;
      if (body.contentType) config.body_content_type = body.contentType;
    }
    const serialization: SerializationMap = { ...input.serialization, ...(body?.xmlRoot ? { body: { xml_root: body.xmlRoot } } : {}) };
    if (Object.keys(serialization).length > 0) config.serialization = serialization;
    const capability: Json = {
      fulcrum: '1.0',
      name,
      ...(summary ? { title: summary } : {}),
      description,
      enabled: true,
      schema: { input: input.schema, ...(output ? { output } : {}) },
      providers: { primary: { service: 'rest', config } },
      auth: auth.ref ? { required: true, ...auth.ref, ...(auth.also?.length ? { also: auth.also } : {}) } : { required: false },
      annotations: {
        ...(summary ? { title: summary } : {}),
        readOnlyHint: readOnly,
        destructiveHint: method === 'DELETE' || method === 'PUT' || method === 'PATCH' || (!readOnly && destructiveReason({ name: typeof op.operationId === 'string' ? op.operationId : '', names: [lastSegment(path)], description: [summary, detail].join('\n') }) !== null),
        idempotentHint: readOnly || method === 'PUT' || method === 'DELETE',
        openWorldHint: true,
      },
      metadata: {
        ...(tags.length > 0 ? { tags } : {}),
        read_only: readOnly,
        ...(op.deprecated === true ? { deprecated: true } : {}),
        source: { kind: 'openapi', operation: label, ...(typeof op.operationId === 'string' ? { operation_id: op.operationId } : {}) },
      },
    };
    // The capability schema's rules without zod (loading it would cost more than the whole conversion).
    const checked = checkCapability(capability);
    if (!checked.ok) throw new ConvertError(`the capability would be invalid: ${checked.path.join('.') || '$'}: ${checked.message}`);
    return checked.capability;
  }

  /** Path-level parameters merged with the operation's (the operation's win). */
  private parameters(item: Json, op: Json, label: string, keepAuthorization: boolean): Param[] {
    const merged = new Map<string, Json>();
    for (const list of [item.parameters, op.parameters]) {
      if (!Array.isArray(list)) continue;
      for (const raw of list) {
        const p = asObject(this.pointers.deref(raw, `${label} parameter`), `${label} parameter`);
        if (typeof p.name !== 'string' || typeof p.in !== 'string') throw new ConvertError(`a parameter without name or in`);
        merged.set(`${p.in}\u0000${p.name}`, p);
      }
    }
    const params: Param[] = [];
    for (const p of merged.values()) {
      const where = p.in as string;
      if (where === 'body' || where === 'formData') continue;
      if (where !== 'path' && where !== 'query' && where !== 'header' && where !== 'cookie') {
        throw new ConvertError(`parameter "${String(p.name)}" is in "${where}", which is not a parameter location`);
      }
      const lower = String(p.name).toLowerCase();
      if (where === 'header' && IGNORED_HEADERS.has(lower) && !(lower === 'authorization' && keepAuthorization)) continue;
      const schema = this.parameterSchema(p);
      const serialization = this.serializationOf(p, where, schema);
      params.push({ name: p.name as string, in: where, required: where === 'path' || p.required === true, schema, ...(serialization ? { serialization } : {}) });
    }
    return params;
  }

  /**
   * The parameter's serialization, when it matters: a non-default style or explode, allowReserved,
   * a content type, or an array/object value (Swagger 2.0 `collectionFormat` mapped to styles).
   */
  private serializationOf(p: Json, where: Param['in'], schema: unknown): ParamSerialization | undefined {
    const out: ParamSerialization = {};
    const defaultStyle = where === 'query' || where === 'cookie' ? 'form' : 'simple';
    let style: ParamSerialization['style'] = defaultStyle;
    let explode: boolean | undefined;
    if (this.dialect === 'swagger2') {
      const format = typeof p.collectionFormat === 'string' ? p.collectionFormat : 'csv';
      if (p.type !== 'array') return undefined;
      if (format === 'multi') explode = true;
      else {
        explode = false;
        if (format === 'ssv') style = 'spaceDelimited';
        else if (format === 'tsv') style = 'tabDelimited';
        else if (format === 'pipes') style = 'pipeDelimited';
      }
    } else {
      const styles = ['simple', 'label', 'matrix', 'form', 'spaceDelimited', 'pipeDelimited', 'deepObject'];
      if (typeof p.style === 'string' && styles.includes(p.style)) style = p.style as ParamSerialization['style'];
      if (typeof p.explode === 'boolean') explode = p.explode;
      if (p.allowReserved === true && where === 'query') out.allow_reserved = true;
      if (p.schema === undefined && p.content !== null && typeof p.content === 'object') {
        const type = Object.keys(p.content as Json)[0];
        if (type && /^[\w.+-]+\/[\w.+-]+$/.test(type)) out.content_type = type;
      }
    }
    if (style !== defaultStyle) out.style = style;
    const explodeDefault = style === 'form';
    if (explode !== undefined && explode !== explodeDefault) out.explode = explode;
    const scalar = this.isScalar(schema);
    if (Object.keys(out).length === 0 && scalar) return undefined;
    // A scalar in the default style serializes the same with or without explode.
    if (scalar && !out.content_type && !out.allow_reserved && (out.style === undefined || where !== 'path')) return undefined;
    return out;
  }

  /** Is the schema (after $refs) a string, number, integer or boolean? Unknown shapes are not. */
  private isScalar(schema: unknown): boolean {
    let s = schema;
    for (let i = 0; i < 16 && s !== null && typeof s === 'object' && !Array.isArray(s); i++) {
      const o = s as Json;
      if (typeof o.$ref === 'string') {
        try {
          s = this.pointers.deref(o, 'parameter schema');
        } catch {
          return false;
        }
        continue;
      }
      if (Array.isArray(o.allOf) && o.allOf.length === 1 && o.type === undefined) {
        s = o.allOf[0];
        continue;
      }
      const types = Array.isArray(o.type) ? o.type.filter((t) => t !== 'null') : [o.type];
      return types.length > 0 && types.every((t) => t === 'string' || t === 'number' || t === 'integer' || t === 'boolean');
    }
    return false;
  }

  private parameterSchema(p: Json): unknown {
    let schema: unknown;
    if (this.dialect === 'swagger2') {
      const keys = ['type', 'format', 'items', 'enum', 'default', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'multipleOf'];
      schema = Object.fromEntries(keys.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
    } else if (p.schema !== undefined) schema = p.schema;
    else if (p.content !== null && typeof p.content === 'object') schema = (Object.values(p.content as Json)[0] as Json | undefined)?.schema;
    return this.withDescription(schema ?? {}, p.description);
  }

  /** Carries the parameter's description, and (for a `$ref`) keeps it beside the reference. */
  private withDescription(schema: unknown, description: unknown): unknown {
    if (typeof description !== 'string' || !description.trim()) return schema;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
    const s = schema as Json;
    if (typeof s.description === 'string' && s.description) return schema;
    const text = cleanText(description, this.maxDescription);
    // A 3.0 $ref ignores siblings: wrap it so the description survives.
    if (typeof s.$ref === 'string') return { allOf: [s], description: text };
    return { ...s, description: text };
  }

  /** OpenAPI 3 `requestBody`: JSON preferred, then form, multipart, anything else as raw text. */
  private requestBody(op: Json, label: string): Body | undefined {
    if (op.requestBody === undefined) return undefined;
    const rb = asObject(this.pointers.deref(op.requestBody, `${label} requestBody`), `${label} requestBody`);
    const content = rb.content !== null && typeof rb.content === 'object' ? (rb.content as Json) : {};
    const types = Object.keys(content);
    if (types.length === 0) return undefined;
    const pick =
      types.find((t) => /^application\/json\s*(;|$)/i.test(t)) ??
      types.find((t) => /[/+]json\s*(;|$)/i.test(t)) ??
      types.find((t) => /^application\/x-www-form-urlencoded/i.test(t)) ??
      types.find((t) => /^multipart\/form-data/i.test(t)) ??
      types[0]!;
    const media = (content[pick] ?? {}) as Json;
    const isJson = /json/i.test(pick) || pick.includes('*');
    let schema: unknown = media.schema;
    if (schema === undefined) schema = isJson ? {} : { type: 'string' };
    const contentType = isJson && /^application\/json\s*$/i.test(pick) ? null : pick.includes('*') ? null : pick.split(';')[0]!.trim();
    const xmlRoot = isXml(contentType) ? this.xmlRoot(schema) : undefined;
    return {
      schema,
      required: rb.required === true,
      contentType,
      ...(typeof rb.description === 'string' ? { description: rb.description } : {}),
      ...(xmlRoot ? { xmlRoot } : {}),
    };
  }

  /** The XML root element of a body schema: its `xml.name`, else the name of the component it references. */
  private xmlRoot(schema: unknown): string | undefined {
    let s = schema;
    let refName: string | undefined;
    for (let i = 0; i < 16 && s !== null && typeof s === 'object' && !Array.isArray(s); i++) {
      const o = s as Json;
      const xml = o.xml as Json | undefined;
      if (typeof xml?.name === 'string' && /^[A-Za-z_][\w.-]*$/.test(xml.name)) return xml.name;
      if (typeof o.$ref !== 'string') break;
      refName = decodeURIComponent(o.$ref.split('/').pop() ?? '').replace(/~1/g, '/').replace(/~0/g, '~');
      try {
        s = this.pointers.deref(o, 'body schema');
      } catch {
        break;
      }
    }
    return refName && /^[A-Za-z_][\w.-]*$/.test(refName) ? refName : undefined;
  }

  /** Swagger 2.0: an `in: body` parameter, or `formData` parameters as a form. */
  private swaggerBody(item: Json, op: Json, label: string): Body | undefined {
    const all: Json[] = [];
    for (const list of [item.parameters, op.parameters]) {
      if (!Array.isArray(list)) continue;
      for (const raw of list) all.push(asObject(this.pointers.deref(raw, `${label} parameter`), `${label} parameter`));
    }
    const consumes = (Array.isArray(op.consumes) ? op.consumes : Array.isArray((this.doc as Json).consumes) ? ((this.doc as Json).consumes as unknown[]) : []).filter(
      (c): c is string => typeof c === 'string',
    );
    const bodyParam = [...all].reverse().find((p) => p.in === 'body');
    if (bodyParam) {
      const json = consumes.length === 0 || consumes.some((c) => /json/i.test(c));
      const contentType = json ? null : consumes[0]!;
      const xmlRoot = isXml(contentType) ? this.xmlRoot(bodyParam.schema) : undefined;
      return {
        schema: this.withDescription(bodyParam.schema ?? {}, bodyParam.description),
        required: bodyParam.required === true,
        contentType,
        ...(xmlRoot ? { xmlRoot } : {}),
      };
    }
    const fields = new Map<string, Json>();
    for (const p of all) if (p.in === 'formData' && typeof p.name === 'string') fields.set(p.name, p);
    if (fields.size === 0) return undefined;
    const properties: Json = {};
    const required: string[] = [];
    let file = false;
    for (const [name, p] of fields) {
      if (p.type === 'file') file = true;
      properties[name] = this.parameterSchema(p);
      if (p.required === true) required.push(name);
    }
    const urlencoded = consumes.some((c) => /x-www-form-urlencoded/i.test(c));
    const multipart = file || (consumes.some((c) => /multipart\/form-data/i.test(c)) && !urlencoded);
    return {
      schema: { type: 'object', properties, ...(required.length > 0 ? { required } : {}) },
      required: required.length > 0,
      contentType: multipart ? 'multipart/form-data' : 'application/x-www-form-urlencoded',
    };
  }

  /** Every argument in one object schema; each placed explicitly in the URL, query, headers, cookies or body. */
  private inputSchema(params: Param[], body: Body | undefined, path: string) {
    const properties: Json = {};
    const required: string[] = [];
    const deps = new Set<string>();
    const query: Record<string, string> = {};
    const headers: Record<string, string> = {};
    const cookies: Record<string, string> = {};
    const serialization: SerializationMap = {};
    const taken = new Set<string>();
    const claim = (wanted: string, where: string): string => {
      const base = argumentName(wanted);
      let name = base;
      if (taken.has(name)) name = `${where}_${base}`;
      for (let n = 2; taken.has(name); n++) name = `${where}_${base}_${n}`;
      taken.add(name);
      return name;
    };
    // Path parameters first: they name the URL, so they keep their own names.
    const order = { path: 0, query: 1, header: 2, cookie: 3 } as const;
    const sorted = [...params].sort((a, b) => order[a.in] - order[b.in]);
    let urlPath = path;
    const declared = new Set(sorted.filter((p) => p.in === 'path').map((p) => p.name));
    for (const match of path.matchAll(/\{([^{}]+)\}/g)) {
      if (!declared.has(match[1]!)) {
        sorted.unshift({ name: match[1]!, in: 'path', required: true, schema: { type: 'string' } });
        declared.add(match[1]!);
      }
    }
    for (const p of sorted) {
      const arg = claim(p.name, p.in);
      properties[arg] = this.schemas.convert(p.schema, deps);
      if (p.required) required.push(arg);
      if (p.in === 'path') urlPath = urlPath.split(`{${p.name}}`).join(`{${arg}}`);
      else if (p.in === 'query') query[p.name] = `{${arg}}`;
      else if (p.in === 'header') headers[p.name] = `{${arg}}`;
      else cookies[p.name] = `{${arg}}`;
      if (p.serialization) (serialization[p.in] ??= {})[p.in === 'path' ? arg : p.name] = p.serialization;
    }
    let bodyArg = '';
    if (body) {
      bodyArg = taken.has('body') ? claim('request_body', 'body') : claim('body', 'body');
      properties[bodyArg] = this.schemas.convert(this.withDescription(body.schema, body.description), deps);
      if (body.required) required.push(bodyArg);
    }
    const schema: Json = { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
    if (deps.size > 0) schema.$defs = this.schemas.defsFor(deps);
    return { schema, query, headers, cookies, bodyArg, serialization, urlPath: urlPath.replace(/\s/g, encodeURIComponent) };
  }

  /** The first 2xx JSON response, as an object schema (other shapes wrapped as `{result}`), and the definitions it needs. */
  private outputSchema(op: Json, label: string): { schema: Json; deps: Set<string> } | undefined {
    const responses = op.responses !== null && typeof op.responses === 'object' ? (op.responses as Json) : {};
    const codes = Object.keys(responses)
      .filter((c) => /^2(\d\d|XX)$/i.test(c))
      .sort();
    for (const code of codes) {
      const response = asObject(this.pointers.deref(responses[code], `${label} response ${code}`), `${label} response ${code}`);
      let schema: unknown;
      if (this.dialect === 'swagger2') schema = response.schema;
      else if (response.content !== null && typeof response.content === 'object') {
        const content = response.content as Json;
        const type = Object.keys(content).find((t) => /json/i.test(t)) ?? Object.keys(content).find((t) => t.includes('*'));
        if (type) schema = (content[type] as Json | undefined)?.schema;
      }
      if (schema === undefined || schema === null || typeof schema !== 'object') continue;
      const deps = new Set<string>();
      const converted = this.schemas.convert(schema, deps) as Json;
      let out: Json;
      if (this.schemas.isObject(schema)) out = { ...converted, type: 'object' };
      else out = { type: 'object', properties: { result: converted }, required: ['result'] };
      return { schema: out, deps };
    }
    return undefined;
  }

  /** Where the operation is served: base URL (origin) and base path, server variables at their defaults. */
  private server(item: Json, op: Json): { base?: string; path: string } {
    let url: string;
    const d = this.doc as Json;
    if (this.dialect === 'swagger2') {
      const host = typeof d.host === 'string' ? d.host : '';
      const schemes = (Array.isArray(op.schemes) ? op.schemes : Array.isArray(d.schemes) ? d.schemes : []) as unknown[];
      const scheme = schemes.includes('https') ? 'https' : schemes.includes('http') ? 'http' : 'https';
      const basePath = typeof d.basePath === 'string' ? d.basePath : '';
      if (!host) {
        this.warnings.push('the document has no host: base_url is left out, so each file needs one before it can be called');
        return { path: basePath.replace(/\/+$/, '') };
      }
      url = `${scheme}://${host}${basePath}`;
    } else {
      const servers = [op.servers, item.servers, d.servers].find((s) => Array.isArray(s) && s.length > 0) as Json[] | undefined;
      // Variables at their defaults, except a scheme variable that offers https; then the first https server wins.
      const urls = (servers ?? [{ url: '/' }]).map((server) => serverUrl(server));
      url = urls.find((u) => /^https:\/\//i.test(u)) ?? urls[0] ?? '/';
      if (url.startsWith('//')) url = `https:${url}`;
    }
    const match = /^(https?:\/\/[^/?#]+)([^?#]*)/i.exec(url);
    if (match && !/[{}\s@]/.test(match[1]!)) return { base: match[1]!, path: match[2]!.replace(/\/+$/, '') };
    if (!/^https?:/i.test(url)) {
      this.warnings.push(`the server URL "${url}" is relative: base_url is left out, so each file needs one before it can be called`);
      return { path: url.replace(/[?#].*$/, '').replace(/\/+$/, '') };
    }
    this.warnings.push(`the server URL "${url}" cannot be used: base_url is left out`);
    return { path: '' };
  }
}

/** The last literal segment of a path (`/repos/{id}/delete` → `delete`). */
function lastSegment(path: string): string {
  return path.split('/').filter((p) => p && !p.startsWith('{')).at(-1) ?? '';
}

/** A server's URL with its variables filled: the default, but https when a variable in the scheme offers it. */
function serverUrl(server: unknown): string {
  if (server === null || typeof server !== 'object') return '/';
  const s = server as Json;
  const template = typeof s.url === 'string' ? s.url : '/';
  const variables = (s.variables !== null && typeof s.variables === 'object' ? s.variables : {}) as Json;
  const schemeVariable = /^\{([^{}]+)\}:\/\//.exec(template)?.[1];
  return template.replace(/\{([^{}]+)\}/g, (whole, name: string) => {
    const v = variables[name] as Json | undefined;
    const options = Array.isArray(v?.enum) ? v.enum : [];
    if (name === schemeVariable && options.includes('https')) return 'https';
    const value = v?.default ?? options[0];
    return value === undefined ? whole : String(value);
  });
}

function asObject(value: unknown, what: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConvertError(`${what} is not an object`);
  return value as Json;
}
