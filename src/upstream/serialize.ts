/**
 * OpenAPI parameter serialization (`style`, `explode`, `allowReserved`, content-typed parameters)
 * and XML bodies, as the REST executor puts them on the wire. The rules follow the OpenAPI 3.1
 * style tables (RFC 6570 for path and header values); Swagger 2.0 `collectionFormat` maps onto them.
 */

import type { ParamSerialization, Serialization } from '../domain/entities.js';

export type { ParamSerialization } from '../domain/entities.js';
export type ParamLocation = 'path' | 'query' | 'header' | 'cookie';
/** How one parameter is serialized (the tool schema's `serialization`); absent fields take the location's OpenAPI default. */
export type ParamStyle = NonNullable<ParamSerialization['style']>;
/** Per location, the parameter name (path: the placeholder) → its serialization; `body.xml_root` for XML bodies. */
export type SerializationMap = Serialization;

const DEFAULT_STYLE: Record<ParamLocation, ParamStyle> = { path: 'simple', query: 'form', header: 'simple', cookie: 'form' };

export function effective(location: ParamLocation, s: ParamSerialization | undefined): { style: ParamStyle; explode: boolean; allowReserved: boolean; contentType?: string } {
  const style = s?.style ?? DEFAULT_STYLE[location];
  return {
    style,
    explode: s?.explode ?? style === 'form',
    allowReserved: s?.allow_reserved === true,
    ...(s?.content_type ? { contentType: s.content_type } : {}),
  };
}

/** RFC 3986 percent-encoding: everything but the unreserved characters (and, with `reserved`, the reserved ones). */
export function escape(value: string, reserved = false): string {
  const bytes = Buffer.from(value, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c)) out += c;
    else if (reserved && b < 0x80 && /[:/?#[\]@!$&'()*+,;=]/.test(c)) out += c;
    else if (reserved && c === '%' && /^[0-9A-Fa-f]{2}$/.test(String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0))) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function primitive(value: unknown, name: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '';
  throw new Error(`argument "${name}" must be a string, number or boolean inside an array or object parameter`);
}

type Kind = { kind: 'primitive'; value: string } | { kind: 'array'; items: string[] } | { kind: 'object'; entries: [string, string][] };

function classify(value: unknown, name: string, contentType: string | undefined): Kind {
  if (contentType !== undefined) return { kind: 'primitive', value: encodeContent(value, contentType) };
  if (Array.isArray(value)) return { kind: 'array', items: value.map((v) => primitive(v, name)) };
  if (value !== null && typeof value === 'object') {
    return { kind: 'object', entries: Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).map(([k, v]) => [k, primitive(v, name)]) };
  }
  return { kind: 'primitive', value: primitive(value, name) };
}

/** A content-typed parameter's value: JSON for JSON types, the string itself otherwise. */
function encodeContent(value: unknown, contentType: string): string {
  if (typeof value === 'string' && !/json/i.test(contentType)) return value;
  return JSON.stringify(value);
}

/** A path segment for `{name}`: simple, label or matrix. */
export function serializePath(name: string, value: unknown, s: ParamSerialization | undefined): string {
  const { style, explode, contentType } = effective('path', s);
  const v = classify(value, name, contentType);
  const e = (x: string) => escape(x);
  const list = (items: string[], sep: string) => items.map(e).join(sep);
  const pairs = (entries: [string, string][], kv: string, sep: string) => entries.map(([k, x]) => `${e(k)}${kv}${e(x)}`).join(sep);
  if (style === 'label') {
    if (v.kind === 'primitive') return `.${e(v.value)}`;
    if (v.kind === 'array') return `.${list(v.items, explode ? '.' : ',')}`;
    return `.${explode ? pairs(v.entries, '=', '.') : pairs(v.entries, ',', ',')}`;
  }
  if (style === 'matrix') {
    const n = e(name);
    if (v.kind === 'primitive') return `;${n}${v.value === '' ? '' : `=${e(v.value)}`}`;
    if (v.kind === 'array') return explode ? v.items.map((x) => `;${n}=${e(x)}`).join('') : `;${n}=${list(v.items, ',')}`;
    return explode ? v.entries.map(([k, x]) => `;${e(k)}=${e(x)}`).join('') : `;${n}=${pairs(v.entries, ',', ',')}`;
  }
  if (style !== 'simple') throw new Error(`path parameter "${name}" cannot use style ${style}`);
  if (v.kind === 'primitive') return e(v.value);
  if (v.kind === 'array') return list(v.items, ',');
  return explode ? pairs(v.entries, '=', ',') : pairs(v.entries, ',', ',');
}

/** The `key=value` pairs (already escaped) one query parameter contributes; none for an absent value. */
export function serializeQuery(name: string, value: unknown, s: ParamSerialization | undefined): string[] {
  if (value === undefined || value === null) return [];
  const { style, explode, allowReserved, contentType } = effective('query', s);
  const e = (x: string) => escape(x, allowReserved);
  const n = escape(name);
  const v = classify(value, name, contentType);
  if (v.kind === 'primitive') return [`${n}=${e(v.value)}`];
  if (style === 'deepObject') {
    if (v.kind === 'array') return v.items.map((x) => `${n}=${e(x)}`);
    return deepPairs(name, value as Record<string, unknown>, e);
  }
  const delimiter = style === 'spaceDelimited' ? '%20' : style === 'pipeDelimited' ? '|' : style === 'tabDelimited' ? '%09' : ',';
  if (v.kind === 'array') {
    if (explode) return v.items.map((x) => `${n}=${e(x)}`);
    return [`${n}=${v.items.map(e).join(delimiter)}`];
  }
  if (explode) return v.entries.map(([k, x]) => `${escape(k)}=${e(x)}`);
  return [`${n}=${v.entries.map(([k, x]) => `${e(k)}${delimiter}${e(x)}`).join(delimiter)}`];
}

/** deepObject: `name[key]=value`, nested objects as `name[a][b]`, arrays as repeated `name[key]`. */
function deepPairs(prefix: string, value: Record<string, unknown>, e: (x: string) => string): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const key = `${prefix}[${k}]`;
    if (Array.isArray(v)) for (const item of v) out.push(`${escape(key).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${e(primitive(item, prefix))}`);
    else if (v !== null && typeof v === 'object') out.push(...deepPairs(key, v as Record<string, unknown>, e));
    else out.push(`${escape(key).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${e(primitive(v, prefix))}`);
  }
  return out;
}

/** A header value (style simple); not percent-encoded; undefined for an absent value. */
export function serializeHeader(name: string, value: unknown, s: ParamSerialization | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const { explode, contentType } = effective('header', s);
  const v = classify(value, name, contentType);
  if (v.kind === 'primitive') return v.value;
  if (v.kind === 'array') return v.items.join(',');
  return v.entries.map(([k, x]) => (explode ? `${k}=${x}` : `${k},${x}`)).join(',');
}

/** The `name=value` cookie pairs (values percent-encoded) of one cookie parameter (style form). */
export function serializeCookie(name: string, value: unknown, s: ParamSerialization | undefined): string[] {
  if (value === undefined || value === null) return [];
  const { explode, contentType } = effective('cookie', s);
  const v = classify(value, name, contentType);
  const e = (x: string) => escape(x);
  if (v.kind === 'primitive') return [`${name}=${e(v.value)}`];
  if (v.kind === 'array') return explode ? v.items.map((x) => `${name}=${e(x)}`) : [`${name}=${v.items.map(e).join(',')}`];
  return explode ? v.entries.map(([k, x]) => `${k}=${e(x)}`) : [`${name}=${v.entries.map(([k, x]) => `${e(k)},${e(x)}`).join(',')}`];
}

/** Is this an XML media type (`application/xml`, `text/xml`, `application/atom+xml`…)? */
export function isXml(contentType: string | null | undefined): boolean {
  return typeof contentType === 'string' && /^[\w.+-]+\/([\w.-]+\+)?xml\s*(;|$)/i.test(contentType.trim());
}

const XML_NAME = /^[A-Za-z_][\w.-]*$/;

/**
 * A JSON value as an XML document: object properties become child elements, array items repeat
 * the element (OpenAPI's unwrapped default), text is escaped. A string is sent as it is (raw XML).
 */
export function toXml(value: unknown, root: string | undefined): string {
  if (typeof value === 'string') return value;
  const name = root && XML_NAME.test(root) ? root : 'root';
  return `<?xml version="1.0" encoding="UTF-8"?>${element(name, value, 0)}`;
}

function element(name: string, value: unknown, depth: number): string {
  if (depth > 64) throw new Error('the XML body is nested too deeply');
  if (!XML_NAME.test(name)) throw new Error(`"${name}" is not a valid XML element name`);
  if (value === undefined || value === null) return `<${name}/>`;
  if (Array.isArray(value)) return value.map((item) => element(name, item, depth + 1)).join('');
  if (typeof value === 'object') {
    const children = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => element(k, v, depth + 1))
      .join('');
    return `<${name}>${children}</${name}>`;
  }
  return `<${name}>${xmlText(String(value))}</${name}>`;
}

function xmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
