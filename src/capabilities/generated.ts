import {
  BASE_URL_PATTERN,
  ENV_REF_PATTERN,
  HEADER_NAME_PATTERN,
  HEADER_VALUE_PATTERN,
  identifierProblem,
  MEDIA_TYPE_PATTERN,
  NAME_PATTERN,
  NAME_RULE,
  textProblem,
  XML_NAME_PATTERN,
} from '../domain/text.js';
import type { Capability } from './schema.js';

/**
 * The capability schema (schema.ts) checked without zod, for what `cap import` generates: the same
 * rules, and the same output (defaults filled, keys in the schema's order, tags without repeats),
 * at a fraction of the cost of loading zod and building its schemas (about 80 ms of a 0.4 s
 * import). schema.ts stays the single source for files read; test/capability-check.test.ts holds
 * the two to the same verdicts and the same output on every generated capability of the corpora
 * and on a table of broken ones.
 */

export type CheckResult = { ok: true; capability: Capability } | { ok: false; path: (string | number)[]; message: string };

type Json = Record<string, unknown>;
type Path = (string | number)[];
type Check = (value: unknown) => unknown;

/** Where the check is: pushed and popped by the containers, copied only into an error. */
const at: Path = [];

class Invalid extends Error {
  readonly path: Path;
  constructor(message: string, key?: string | number) {
    super(message);
    this.path = key === undefined ? [...at] : [...at, key];
  }
}

/** Check and normalize one capability (as zod's `capabilitySchema.safeParse` would). */
export function checkCapability(value: unknown): CheckResult {
  at.length = 0;
  try {
    const capability = capability_(value) as Capability;
    placeholders(capability);
    return { ok: true, capability };
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    return { ok: false, path: error.path, message: error.message };
  }
}

// ---- building blocks (each mirrors the zod schema of the same name in entities.ts / schema.ts) ----

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function isPlainObject(v: unknown): v is Json {
  if (!isObject(v)) return false;
  const ctor = (v as { constructor?: unknown }).constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const prot = (ctor as { prototype?: unknown }).prototype;
  return isObject(prot) && Object.prototype.hasOwnProperty.call(prot, 'isPrototypeOf');
}

interface StringRules {
  min?: [number, string];
  max?: [number, string];
  pattern?: [RegExp, string];
  problem?: (value: string) => string | undefined;
}

function str(rules: StringRules = {}): Check {
  return (value) => {
    if (typeof value !== 'string') throw new Invalid(`Invalid input: expected string, received ${typeName(value)}`);
    if (rules.min && value.length < rules.min[0]) throw new Invalid(rules.min[1]);
    if (rules.max && value.length > rules.max[0]) throw new Invalid(rules.max[1]);
    if (rules.pattern) {
      rules.pattern[0].lastIndex = 0;
      if (!rules.pattern[0].test(value)) throw new Invalid(rules.pattern[1]);
    }
    const problem = rules.problem?.(value);
    if (problem) throw new Invalid(problem);
    return value;
  };
}

const tooBig = (max: number) => `Too big: expected string to have <=${max} characters`;
const text = (max: number) => str({ max: [max, `must be at most ${max} characters`], problem: textProblem });
const identifier = (max: number) => str({ min: [1, 'must not be empty'], max: [max, `must be at most ${max} characters`], problem: identifierProblem });
const nameCheck = str({ pattern: [NAME_PATTERN, NAME_RULE] });
const headerName = str({ pattern: [HEADER_NAME_PATTERN, 'must be a valid HTTP header name'] });
const headerValue = str({ max: [8192, 'must be at most 8192 characters'], pattern: [HEADER_VALUE_PATTERN, 'must not contain CR, LF or NUL'] });
const mediaType = str({ max: [256, tooBig(256)], pattern: [MEDIA_TYPE_PATTERN, 'must be a media type such as application/json'] });
const envRef = str({ pattern: [ENV_REF_PATTERN, 'must be an environment reference such as env:API_TOKEN (credentials are never written in a file)'] });
const mapKey = str({ min: [1, 'Too small: expected string to have >=1 characters'], max: [256, tooBig(256)] });

const urlText = str({ max: [2048, 'must be at most 2048 characters'] });
function httpUrl(value: unknown): unknown {
  urlText(value);
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    throw new Invalid('must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Invalid('must use http or https');
  if (url.username || url.password) throw new Invalid('must not carry credentials; use auth_type and its fields');
  return value;
}

function literal(expected: unknown): Check {
  return (value) => {
    if (value !== expected) throw new Invalid(`Invalid input: expected ${JSON.stringify(expected)}`);
    return value;
  };
}

function oneOf(options: readonly string[]): Check {
  return (value) => {
    if (typeof value !== 'string' || !options.includes(value)) throw new Invalid(`Invalid option: expected one of ${options.map((o) => JSON.stringify(o)).join('|')}`);
    return value;
  };
}

const bool: Check = (value) => {
  if (typeof value !== 'boolean') throw new Invalid(`Invalid input: expected boolean, received ${typeName(value)}`);
  return value;
};

function num(rules: { int?: boolean; gt?: number; min?: number; max?: number }): Check {
  return (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Invalid(`Invalid input: expected number, received ${typeName(value)}`);
    if (rules.int && !Number.isSafeInteger(value)) throw new Invalid('Invalid input: expected int, received number');
    if (rules.gt !== undefined && !(value > rules.gt)) throw new Invalid(`Too small: expected number to be >${rules.gt}`);
    if (rules.min !== undefined && value < rules.min) throw new Invalid(`Too small: expected number to be >=${rules.min}`);
    if (rules.max !== undefined && value > rules.max) throw new Invalid(`Too big: expected number to be <=${rules.max}`);
    return value;
  };
}

const unknown: Check = (value) => value;

function record(key: Check, item: Check): Check {
  return (value) => {
    if (!isPlainObject(value)) throw new Invalid(`Invalid input: expected record, received ${typeName(value)}`);
    const out: Json = {};
    for (const k of Object.keys(value)) {
      if (k === '__proto__') continue;
      at.push(k);
      key(k);
      out[k] = item(value[k]);
      at.pop();
    }
    return out;
  };
}

function array(item: Check, rules: { min?: number; max?: [number, string] } = {}): Check {
  return (value) => {
    if (!Array.isArray(value)) throw new Invalid(`Invalid input: expected array, received ${typeName(value)}`);
    if (rules.min !== undefined && value.length < rules.min) throw new Invalid(`Too small: expected array to have >=${rules.min} items`);
    if (rules.max && value.length > rules.max[0]) throw new Invalid(rules.max[1]);
    return value.map((v, i) => {
      at.push(i);
      const out = item(v);
      at.pop();
      return out;
    });
  };
}

type Field = { check: Check; optional?: true; default?: () => unknown };

/** An object: keys in the shape's order; strict refuses unknown keys, loose keeps them after. */
function object(shape: Record<string, Field>, mode: 'strict' | 'loose' = 'strict'): Check {
  const keys = Object.keys(shape);
  return (value) => {
    if (!isObject(value)) throw new Invalid(`Invalid input: expected object, received ${typeName(value)}`);
    const out: Json = {};
    for (const key of keys) {
      const field = shape[key]!;
      const present = key in value;
      const v = value[key];
      if (v === undefined && field.default) {
        out[key] = field.default();
        continue;
      }
      if (!present && field.optional) continue;
      if (!present) throw new Invalid('Invalid input: expected nonoptional, received undefined', key);
      if (v === undefined && field.optional) {
        out[key] = undefined;
        continue;
      }
      at.push(key);
      out[key] = field.check(v);
      at.pop();
    }
    const extra: string[] = [];
    for (const key in value) {
      if (Object.hasOwn(shape, key)) continue;
      if (mode === 'strict') extra.push(key);
      else if (key !== '__proto__') out[key] = value[key];
    }
    if (extra.length > 0) throw new Invalid(`Unrecognized key${extra.length > 1 ? 's' : ''}: ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
    return out;
  };
}

const req = (check: Check): Field => ({ check });
const opt = (check: Check): Field => ({ check, optional: true });
const def = (check: Check, value: () => unknown): Field => ({ check, default: value });

// ---- the capability (schema.ts) ------------------------------------------------------------------

const jsonObject = record(str(), unknown);
const objectSchema: Check = (value) => {
  const out = jsonObject(value) as Json;
  if (out.type !== undefined && out.type !== 'object') throw new Invalid('must be a JSON Schema with "type": "object"');
  return out;
};

const paramSerialization = object({
  style: opt(oneOf(['simple', 'label', 'matrix', 'form', 'spaceDelimited', 'pipeDelimited', 'tabDelimited', 'deepObject'])),
  explode: opt(bool),
  allow_reserved: opt(bool),
  content_type: opt(mediaType),
});
const serializationByName = record(mapKey, paramSerialization);
const serialization = object({
  path: opt(serializationByName),
  query: opt(serializationByName),
  header: opt(serializationByName),
  cookie: opt(serializationByName),
  body: opt(object({ xml_root: opt(str({ pattern: [XML_NAME_PATTERN, `Invalid string: must match pattern ${String(XML_NAME_PATTERN)}`], max: [256, tooBig(256)] })) })),
});

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

const config = object({
  base_url: opt(str({ max: [2048, tooBig(2048)], pattern: [BASE_URL_PATTERN, 'must be an absolute http or https URL without credentials, query or fragment'] })),
  path: def(str({ max: [2048, tooBig(2048)], pattern: [/^[^\s]*$/, 'must not contain white space'] }), () => ''),
  method: def(oneOf(HTTP_METHODS), () => 'GET'),
  params: def(record(mapKey, text(4096)), () => ({})),
  headers: def(record(headerName, headerValue), () => ({})),
  cookies: def(record(headerName, headerValue), () => ({})),
  body: opt(unknown),
  body_content_type: opt(mediaType),
  response_path: opt(text(1024)),
  serialization: opt(serialization),
});

const provider = object({
  service: req(literal('rest')),
  timeout: opt(num({ gt: 0, max: 600 })),
  config: req(config),
});

const scopes = array(str({ min: [1, 'Too small: expected string to have >=1 characters'], max: [256, tooBig(256)], pattern: [/^\S+$/, 'must not contain white space'] }), { max: [100, 'Too big: expected array to have <=100 items'] });

const CREDENTIAL_SHAPES: Record<string, Record<string, Field>> = {
  bearer: { type: req(literal('bearer')), key: req(envRef) },
  basic: { type: req(literal('basic')), username: req(envRef), password: req(envRef) },
  api_key: { type: req(literal('api_key')), in: req(oneOf(['header', 'query', 'cookie'])), name: req(headerName), key: req(envRef) },
  oauth2: {
    type: req(literal('oauth2')),
    flow: req(literal('client_credentials')),
    token_url: req(httpUrl),
    client_id: req(envRef),
    client_secret: req(envRef),
    scopes: def(scopes, () => []),
  },
};

function discriminated(shapes: Record<string, Check>): Check {
  return (value) => {
    if (!isObject(value)) throw new Invalid(`Invalid input: expected object, received ${typeName(value)}`);
    const type = value.type;
    const check = typeof type === 'string' && Object.hasOwn(shapes, type) ? shapes[type] : undefined;
    if (!check) throw new Invalid('Invalid input', 'type');
    return check(value);
  };
}

const credentialRef = discriminated(Object.fromEntries(Object.entries(CREDENTIAL_SHAPES).map(([type, shape]) => [type, object(shape)])));
const requiredCredential = discriminated(
  Object.fromEntries(
    Object.entries(CREDENTIAL_SHAPES).map(([type, shape]) => [
      type,
      object({ ...shape, required: def(literal(true), () => true), also: opt(array(credentialRef, { min: 1, max: [8, 'Too big: expected array to have <=8 items'] })) }),
    ]),
  ),
);
const notRequired = object({ required: req(literal(false)) });

// zod tries `{required: false}` first, then the credentials; only a `required: false` can pass the first.
const auth: Check = (value) => (isObject(value) && value.required === false ? notRequired(value) : requiredCredential(value));

const tagList = array(identifier(128), { max: [100, 'at most 100 tags'] });
const tags: Check = (value) => [...new Set(tagList(value) as string[])];

const capability_ = object({
  fulcrum: req(literal('1.0')),
  name: req(nameCheck),
  title: opt(text(512)),
  description: def(text(10_000), () => ''),
  enabled: def(bool, () => true),
  schema: def(
    object({
      input: def(objectSchema, () => ({ type: 'object', properties: {} })),
      output: opt(objectSchema),
    }),
    () => ({ input: { type: 'object', properties: {} } }),
  ),
  providers: req(object({ primary: req(provider) })),
  cache: opt(object({ strategy: req(oneOf(['none', 'exact'])), ttl: req(num({ int: true, min: 0, max: 31_536_000 })) })),
  rate_limit: opt(num({ int: true, min: 1, max: 10_000_000 })),
  auth: def(auth, () => ({ required: false })),
  annotations: opt(jsonObject),
  metadata: opt(object({ tags: opt(tags), read_only: opt(bool) }, 'loose')),
});

const PLACEHOLDER = /\{([A-Za-z_][\w.-]*)\}/g;

/** The placeholder rule of schema.ts: every `{arg}` is a property of schema.input. */
function placeholders(cap: Capability): void {
  const properties = cap.schema.input.properties;
  if (properties === null || typeof properties !== 'object') return;
  const known = new Set(Object.keys(properties));
  const config = cap.providers.primary.config;
  const check = (template: string, path: Path) => {
    for (const match of template.matchAll(PLACEHOLDER)) {
      if (!known.has(match[1]!)) {
        at.length = 0;
        at.push('providers', 'primary', 'config', ...path);
        throw new Invalid(`placeholder {${match[1]}} is not a property of schema.input`);
      }
    }
  };
  check((config.base_url ?? '') + config.path, ['path']);
  for (const [map, entries] of [['params', config.params], ['headers', config.headers], ['cookies', config.cookies]] as const) {
    for (const [key, value] of Object.entries(entries)) check(value, [map, key]);
  }
  const walk = (value: unknown, path: Path, depth: number): void => {
    if (depth > 64) return;
    if (typeof value === 'string') check(value, path);
    else if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, i], depth + 1));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, [...path, k], depth + 1);
  };
  walk(config.body, ['body'], 0);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}
