/**
 * MCP 2026-07-28 ("modern", stateless) on the wire: which requests claim it, the validation
 * ladder a request passes before dispatch (per-request `_meta`, the MCP-Protocol-Version /
 * Mcp-Method / Mcp-Name headers), the HTTP status of an error, and the `_meta` keys. Pure
 * functions: the HTTP routes and the dispatcher call them, the upstream side reuses the keys.
 */

/** The modern revisions the gateway serves and speaks upstream. */
export const MODERN_VERSIONS: readonly string[] = ['2026-07-28'];

export const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';
export const CLIENT_CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';
export const CLIENT_INFO_META = 'io.modelcontextprotocol/clientInfo';
export const LOG_LEVEL_META = 'io.modelcontextprotocol/logLevel';
export const SERVER_INFO_META = 'io.modelcontextprotocol/serverInfo';
export const SUBSCRIPTION_ID_META = 'io.modelcontextprotocol/subscriptionId';

/** The request's headers disagree with its body (-32020). */
export const HEADER_MISMATCH = -32020;
/** The request needs a client capability the client did not declare (-32021). */
export const MISSING_CAPABILITY = -32021;
/** The request names a protocol version the server does not serve (-32022). */
export const UNSUPPORTED_VERSION = -32022;

/** 2025-era methods a 2026-07-28 request may not call: method not found (HTTP 404). */
export const REMOVED_METHODS: ReadonlySet<string> = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A protocol version as a date (ms since the epoch), or undefined when it is not a YYYY-MM-DD date. */
export function versionDate(version: string): number | undefined {
  const match = DATE.exec(version);
  if (!match) return undefined;
  const time = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const back = new Date(time);
  return back.getUTCMonth() === Number(match[2]) - 1 && back.getUTCDate() === Number(match[3]) ? time : undefined;
}

const FIRST_MODERN = versionDate(MODERN_VERSIONS[0]!)!;

/** Whether a version names the modern era (a date on or after 2026-07-28, served or not). */
export function isModernVersion(version: unknown): boolean {
  if (typeof version !== 'string') return false;
  const date = versionDate(version);
  return date !== undefined && date >= FIRST_MODERN;
}

/** The headers the ladder reads (lower-case names, as Node delivers them). */
export interface ModernHeaders {
  'mcp-protocol-version'?: string | string[];
  'mcp-method'?: string | string[];
  'mcp-name'?: string | string[];
}

/** A rejection before dispatch: the JSON-RPC error and the HTTP status it goes out with. */
export interface LadderRejection {
  status: number;
  code: number;
  message: string;
  data?: unknown;
}

/** How a request is served: as 2025 traffic, as a validated 2026 request (its `_meta`), or refused. */
export type Classified = { era: 'legacy' } | { era: 'modern'; meta: Record<string, unknown> } | { era: 'reject'; rejection: LadderRejection };

const LEGACY: Classified = { era: 'legacy' };

function first(value: string | string[] | undefined): string | undefined {
  return (Array.isArray(value) ? value[0] : value)?.trim();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const mismatch = (header: string, detail: string): Classified => ({
  era: 'reject',
  rejection: { status: 400, code: HEADER_MISMATCH, message: `Bad Request: the request headers and body disagree: ${detail}`, data: { mismatch: { header } } },
});
const invalidMeta = (detail: string, missing?: string[]): Classified => ({
  era: 'reject',
  rejection: { status: 400, code: -32602, message: `Invalid params: ${detail}`, ...(missing ? { data: { envelope: { missing } } } : {}) },
});

const BASE64_VALUE = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/**
 * A header value as its text: plain ASCII as it is, `=?base64?…?=` (how values outside
 * printable ASCII travel) decoded; undefined when the Base64 is malformed.
 */
export function decodeHeaderValue(value: string): string | undefined {
  if (!value.startsWith('=?base64?')) return value;
  const match = BASE64_VALUE.exec(value);
  if (!match || match[1]!.length % 4 !== 0) return undefined;
  return Buffer.from(match[1]!, 'base64').toString('utf8');
}

/** A header value for text: as it is when printable ASCII, else `=?base64?…?=`. */
export function encodeHeaderValue(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) && !text.startsWith('=?') && text.trim() === text ? text : `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

/**
 * The standard headers of a 2026-07-28 request (MCP-Protocol-Version, Mcp-Method, Mcp-Name),
 * or undefined for a 2025 message: what an HTTP client of a 2026 endpoint sends (the stdio
 * bridge, the upstream side).
 */
export function standardHeaders(message: unknown): Record<string, string> | undefined {
  if (!isObject(message) || typeof message.method !== 'string' || !isObject(message.params)) return undefined;
  const meta = message.params._meta;
  const version = isObject(meta) ? meta[PROTOCOL_VERSION_META] : undefined;
  if (typeof version !== 'string') return undefined;
  const headers: Record<string, string> = { 'mcp-protocol-version': version, 'mcp-method': message.method };
  const name = nameOf(message.method, message.params);
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name);
  return headers;
}

/** What the Mcp-Name header must equal for a method, when the method names something. */
function nameOf(method: string, params: Record<string, unknown>): unknown {
  if (method === 'tools/call' || method === 'prompts/get') return params.name;
  if (method === 'resources/read') return params.uri;
  // SEP-2663's Streamable HTTP binding: requests about a task name it, so routers can follow it.
  if (method === 'tasks/get' || method === 'tasks/update' || method === 'tasks/cancel') return params.taskId;
  return undefined;
}

/**
 * Classify one JSON-RPC request (an object with a string `method` and an id). A request claims
 * 2026-07-28 by naming a protocol version in `params._meta` or by a modern MCP-Protocol-Version
 * header; anything else is 2025 traffic and costs one property lookup. A claim is then checked:
 * `_meta` complete (protocol version, client capabilities), headers equal to the body, the
 * version one the gateway serves, compared as a date.
 */
export function classify(method: string, params: unknown, headers: ModernHeaders): Classified {
  const meta = isObject(params) && isObject(params._meta) ? params._meta : undefined;
  const claimed = meta !== undefined && PROTOCOL_VERSION_META in meta;
  const headerVersion = first(headers['mcp-protocol-version']);
  if (!claimed) {
    if (headerVersion === undefined || !isModernVersion(headerVersion) || method === 'initialize') return LEGACY;
    const missing = meta === undefined ? ['_meta'] : [PROTOCOL_VERSION_META, ...(isObject(meta[CLIENT_CAPABILITIES_META]) ? [] : [CLIENT_CAPABILITIES_META])];
    return invalidMeta(`the MCP-Protocol-Version header names ${headerVersion.slice(0, 40)} but the request has no per-request _meta (${missing.join(', ')})`, missing);
  }
  const version = meta[PROTOCOL_VERSION_META];
  if (typeof version !== 'string') return invalidMeta(`_meta["${PROTOCOL_VERSION_META}"] must be a string`);
  if (!isObject(meta[CLIENT_CAPABILITIES_META])) return invalidMeta(`_meta["${CLIENT_CAPABILITIES_META}"] must be an object`, [CLIENT_CAPABILITIES_META]);
  if (meta[CLIENT_INFO_META] !== undefined && !isObject(meta[CLIENT_INFO_META])) return invalidMeta(`_meta["${CLIENT_INFO_META}"] must be an object`);
  // The standard headers are required on a 2026-07-28 request and must equal the body.
  if (headerVersion === undefined) return mismatch('MCP-Protocol-Version', `the body names protocol version ${version.slice(0, 40)} but the required MCP-Protocol-Version header is absent`);
  if (headerVersion !== version) {
    return mismatch('MCP-Protocol-Version', `the body names protocol version ${version.slice(0, 40)} but the MCP-Protocol-Version header names ${headerVersion.slice(0, 40)}`);
  }
  const methodHeader = first(headers['mcp-method']);
  if (methodHeader === undefined) return mismatch('Mcp-Method', `the body names method ${method.slice(0, 100)} but the required Mcp-Method header is absent`);
  if (methodHeader !== method) return mismatch('Mcp-Method', `the body names method ${method.slice(0, 100)} but the Mcp-Method header names ${methodHeader.slice(0, 100)}`);
  const name = nameOf(method, params as Record<string, unknown>);
  if (typeof name === 'string') {
    const nameHeader = first(headers['mcp-name']);
    if (nameHeader === undefined) return mismatch('Mcp-Name', `the body names ${name.slice(0, 200)} but the required Mcp-Name header is absent`);
    const decoded = decodeHeaderValue(nameHeader);
    if (decoded === undefined) return mismatch('Mcp-Name', 'the Mcp-Name header carries an invalid Base64 value');
    if (decoded !== name) return mismatch('Mcp-Name', `the body names ${name.slice(0, 200)} but the Mcp-Name header names ${decoded.slice(0, 200)}`);
  }
  if (!MODERN_VERSIONS.includes(version)) {
    return {
      era: 'reject',
      rejection: {
        status: 400,
        code: UNSUPPORTED_VERSION,
        message: `Unsupported protocol version: ${version.slice(0, 40)} (this gateway serves ${MODERN_VERSIONS.join(', ')} per request, and 2025 revisions through initialize)`,
        data: { supported: [...MODERN_VERSIONS], requested: version },
      },
    };
  }
  return { era: 'modern', meta };
}

/**
 * The HTTP status a 2026-07-28 error response goes out with: method not found is 404, a
 * missing client capability and the ladder's own errors (header mismatch, unsupported version)
 * are 400, and every other error a handler or an upstream produced is in-band (200).
 */
export function modernErrorStatus(code: number): number {
  if (code === -32601) return 404;
  if (code === MISSING_CAPABILITY || code === HEADER_MISMATCH || code === UNSUPPORTED_VERSION) return 400;
  return 200;
}

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/**
 * A 2026-07-28 caller's notification sink with its log level applied: log messages
 * (notifications/message) pass only at or above `_meta` logLevel, and none pass when the request
 * asked for no level. Other notifications (progress) pass. For a 2026 upstream the gate is the
 * upstream's own; this one covers 2025 upstreams, which log by their session's level.
 */
export function gateLogs(meta: Record<string, unknown>, notify: (method: string, params: unknown) => void): (method: string, params: unknown) => void {
  const asked = meta[LOG_LEVEL_META];
  const floor = typeof asked === 'string' ? LOG_LEVELS.indexOf(asked) : -1;
  return (method, params) => {
    if (method === 'notifications/message') {
      if (floor < 0) return;
      const level = LOG_LEVELS.indexOf(String((params as { level?: unknown } | null)?.level));
      if (level >= 0 && level < floor) return;
    }
    notify(method, params);
  };
}

/** W3C trace context a request carries in `_meta` (traceparent, tracestate), to pass upstream. */
export function traceOf(params: Record<string, unknown>): Record<string, string> | undefined {
  const meta = params._meta;
  if (!isObject(meta) || typeof meta.traceparent !== 'string') return undefined;
  return typeof meta.tracestate === 'string' ? { traceparent: meta.traceparent, tracestate: meta.tracestate } : { traceparent: meta.traceparent };
}

/**
 * Check a 2026-07-28 tools/call's Mcp-Param-* headers against its arguments: every property of
 * the tool's input schema that declares `x-mcp-header: X` and has a value in the arguments must
 * arrive as `Mcp-Param-X` with that value (Base64 values decoded). Returns the mismatch, or
 * undefined when the headers agree (or the tool declares none).
 */
export function checkParamHeaders(inputSchema: unknown, args: Record<string, unknown>, headers: Record<string, string> | undefined): LadderRejection | undefined {
  const properties = isObject(inputSchema) && isObject(inputSchema.properties) ? inputSchema.properties : undefined;
  if (!properties) return undefined;
  for (const [name, property] of Object.entries(properties)) {
    const suffix = isObject(property) ? property['x-mcp-header'] : undefined;
    if (typeof suffix !== 'string') continue;
    const header = headers?.[`mcp-param-${suffix.toLowerCase()}`];
    const value = args[name];
    const fail = (detail: string): LadderRejection => ({ status: 400, code: HEADER_MISMATCH, message: `Bad Request: ${detail}`, data: { mismatch: { header: `Mcp-Param-${suffix}` } } });
    if (header !== undefined) {
      const decoded = decodeHeaderValue(header.trim());
      if (decoded === undefined) return fail(`the Mcp-Param-${suffix} header carries an invalid Base64 value`);
      if (value === undefined || value === null) return fail(`the Mcp-Param-${suffix} header is set but argument ${name} is absent`);
      if (decoded !== String(value)) return fail(`argument ${name} does not equal the Mcp-Param-${suffix} header`);
    } else if (value !== undefined && value !== null) {
      return fail(`argument ${name} is set but the required Mcp-Param-${suffix} header is absent`);
    }
  }
  return undefined;
}
