import { OAuth2Tokens } from './oauth2.js';
import { Agent, FormData, errors as undiciErrors } from 'undici';
import type { AuthCipher } from '../crypto/auth-value.js';
import type { ServerFields, ToolFields } from '../domain/entities.js';
import { ArgumentValidator } from './arguments.js';
import { UpstreamCredentials, type CredentialSource, type ResolvedCredentials } from './credentials.js';
import type { OutboundPolicy } from './outbound-policy.js';
import { deadline } from './deadline.js';
import { isXml, serializeCookie, serializeHeader, serializePath, serializeQuery, toXml } from './serialize.js';

/**
 * What a REST tool call needs from the tool (its stored fields, as the schema makes them): a URL is
 * required to call it; capability files' tools carry the optional fields, stored tools all of them.
 */
export type RestTool = Pick<ToolFields, 'name' | 'request_type' | 'headers' | 'query' | 'body' | 'response_path' | 'timeout_ms' | 'output_schema' | 'auth_type' | 'auth_value'> &
  Partial<Pick<ToolFields, 'cookies' | 'body_content_type' | 'auth_ref' | 'auth_also' | 'serialization' | 'input_schema'>> & { url: string };

/** What a REST tool call needs from the virtual server that lists it (its url and headers for relative tool URLs). */
export type RestServer = Pick<ServerFields, 'name' | 'url' | 'headers' | 'auth_type' | 'auth_value'>;

/** An MCP CallToolResult. */
export interface ToolResult {
  content: { type: 'text'; text: string }[];
  structuredContent?: unknown;
  isError?: boolean;
}

export interface RestOptions {
  defaultTimeoutMs: number;
  maxResponseBytes: number;
  /** Where `env:VAR` credentials are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** UPSTREAM_ALLOW / UPSTREAM_DENY, applied to every connection. */
  policy?: OutboundPolicy;
}

/** The request a call sends, for callers that show it (`cap test`); `secrets` are the values to mask. */
export interface PreparedRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | FormData | undefined;
  secrets: string[];
}

const PLACEHOLDER = /\{([A-Za-z_][\w.-]*)\}/g;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** Runs REST tools over undici's pooled, kept-alive connections (one pool per origin). */
export class RestExecutor {
  private readonly agent: Agent;
  private readonly credentials: UpstreamCredentials;
  private readonly argumentsCheck = new ArgumentValidator();

  constructor(
    private readonly cipher: AuthCipher,
    private readonly options: RestOptions,
  ) {
    // Token endpoints go through the outbound policy and MAX_RESPONSE_BYTES like the APIs (issue 10).
    const tokens = new OAuth2Tokens({ ...(options.policy ? { connect: options.policy.connector() } : {}), maxResponseBytes: options.maxResponseBytes });
    this.credentials = new UpstreamCredentials(cipher, options.env, tokens);
    // The outbound policy checks every address at connect time (issue 10).
    this.agent = new Agent({ keepAliveTimeout: 30_000, connections: 64, pipelining: 1, ...(options.policy ? { connect: options.policy.connector() } : {}) });
  }

  /**
   * Call the API; failures come back as tool errors (isError), never as throws. `observe` sees the
   * request before it is sent. `abort`, when given, aborts `signal` and tells the executor the
   * signal is this call's alone, so it is reused for the timeout instead of combining signals.
   */
  async call(
    tool: RestTool,
    server: RestServer | undefined,
    args: Record<string, unknown>,
    signal?: AbortSignal,
    options: { abort?: () => void; observe?: (request: PreparedRequest) => void } = {},
  ): Promise<ToolResult> {
    const { abort, observe } = options;
    let request: PreparedRequest;
    const checked = this.argumentsCheck.checkTool(tool, args);
    if (!checked.ok) return toolError(checked.message);
    args = checked.args;
    try {
      // One resolver for every kind of credential (issue 10): stored oauth2 fetches its token too.
      const source = UpstreamCredentials.forRestTool(tool, server);
      const resolved =
        this.credentials.needsFetch(source) || tool.auth_also?.length ? await this.resolveAll(tool, source, signal) : this.credentials.resolveSync(source);
      request = this.buildSync(tool, server, args, resolved);
    } catch (error) {
      return toolError(`cannot call ${tool.name}: ${(error as Error).message}`);
    }
    observe?.(request);
    const timeoutMs = tool.timeout_ms ?? this.options.defaultTimeoutMs;
    const limit = deadline(timeoutMs, signal, abort);
    try {
      const response = await this.agent.request({
        origin: request.url.origin,
        path: request.url.pathname + request.url.search,
        method: request.method as 'GET',
        headers: request.headers,
        body: request.body,
        signal: limit.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const raw = await readCapped(response.body, this.options.maxResponseBytes);
      if (raw === undefined) {
        return toolError(`the response of ${tool.name} exceeds the limit of ${this.options.maxResponseBytes} bytes (MAX_RESPONSE_BYTES)`);
      }
      const contentType = String(response.headers['content-type'] ?? '');
      return this.toResult(tool, response.statusCode, contentType, raw);
    } catch (error) {
      if (limit.timedOut()) return toolError(`${tool.name} did not answer within ${timeoutMs} ms`);
      if (signal?.aborted) return toolError(`the call to ${tool.name} was cancelled`);
      return toolError(`cannot reach the API of ${tool.name}: ${describeNetworkError(error)}`);
    } finally {
      limit.dispose();
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Every credential a call sends: the tool's own source, plus each of `auth_also` (an AND-combined security requirement). */
  private async resolveAll(tool: RestTool, source: CredentialSource, signal?: AbortSignal): Promise<ResolvedCredentials> {
    const resolved = this.credentials.needsFetch(source) ? await this.credentials.resolve(source, signal) : this.credentials.resolveSync(source);
    for (const ref of tool.auth_also ?? []) {
      const more = await this.credentials.resolve({ ref }, signal);
      Object.assign(resolved.headers, more.headers);
      Object.assign(resolved.query, more.query);
      Object.assign(resolved.cookies, more.cookies);
      resolved.secrets.push(...more.secrets);
    }
    return resolved;
  }

  /** The URL, headers and body for one call: placeholders filled, auth added. */
  private buildSync(
    tool: RestTool,
    server: RestServer | undefined,
    args: Record<string, unknown>,
    resolved?: { headers: Record<string, string>; query: Record<string, string>; cookies: Record<string, string>; secrets: string[] },
  ): PreparedRequest {
    const used = new Set<string>();
    const method = tool.request_type.toUpperCase();
    const styles = tool.serialization ?? {};
    const path = tool.url.replace(PLACEHOLDER, (_m, key: string) => {
      const value = args[key];
      if (value === undefined || value === null) throw new Error(`argument "${key}" is required (it fills the URL)`);
      used.add(key);
      const style = styles.path?.[key];
      return style ? serializePath(key, value, style) : encodeURIComponent(scalar(value, key));
    });
    let url: URL;
    if (/^https?:\/\//i.test(path)) url = new URL(path);
    else {
      if (!server?.url) throw new Error(`its url "${tool.url}" is relative and no server with a url lists it`);
      url = new URL(server.url.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, ''));
    }
    // Styled query parameters are escaped by their own rules and added last (URLSearchParams would re-escape them).
    const styled: string[] = [];
    for (const [key, template] of Object.entries(tool.query)) {
      // A whole-placeholder array is the OpenAPI default (form, exploded): one pair per item.
      const whole = /^\{([A-Za-z_][\w.-]*)\}$/.exec(template);
      if (whole && styles.query?.[key]) {
        used.add(whole[1]!);
        styled.push(...serializeQuery(key, args[whole[1]!], styles.query[key]));
        continue;
      }
      const list = whole ? args[whole[1]!] : undefined;
      if (Array.isArray(list)) {
        used.add(whole![1]!);
        for (const item of list) url.searchParams.append(key, typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item));
        continue;
      }
      const value = fill(template, args, used);
      if (value !== undefined) url.searchParams.append(key, value);
    }
    for (const [key, value] of Object.entries(resolved?.query ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, string> = {};
    const relative = !/^https?:\/\//i.test(tool.url);
    if (server && relative) Object.assign(headers, server.headers);
    for (const [key, template] of Object.entries(tool.headers)) {
      const whole = /^\{([A-Za-z_][\w.-]*)\}$/.exec(template);
      const style = whole ? styles.header?.[key] : undefined;
      if (style) used.add(whole![1]!);
      const value = style ? serializeHeader(key, args[whole![1]!], style) : fill(template, args, used);
      if (value === undefined) continue;
      if (/[\r\n\u0000]/.test(value)) throw new Error(`header "${key}" would contain a line break`);
      headers[key.toLowerCase()] = value;
    }
    const cookies: string[] = [];
    for (const [key, template] of Object.entries({ ...tool.cookies })) {
      const whole = /^\{([A-Za-z_][\w.-]*)\}$/.exec(template);
      if (whole && styles.cookie?.[key]) {
        used.add(whole[1]!);
        cookies.push(...serializeCookie(key, args[whole[1]!], styles.cookie[key]));
        continue;
      }
      const value = fill(template, args, used);
      if (value !== undefined) cookies.push(`${key}=${encodeURIComponent(value)}`);
    }
    for (const [key, value] of Object.entries(resolved?.cookies ?? {})) cookies.push(`${key}=${encodeURIComponent(value)}`);
    if (cookies.length > 0) headers.cookie = cookies.join('; ');
    Object.assign(headers, resolved?.headers);
    let body: string | FormData | undefined;
    const bodyArg = /^\{([A-Za-z_][\w.-]*)\}$/.exec(typeof tool.body === 'string' ? tool.body : '')?.[1];
    if (bodyArg !== undefined && (args[bodyArg] === undefined || args[bodyArg] === null)) {
      // An optional body left out: nothing is sent (not "null").
      used.add(bodyArg);
    } else if (tool.body !== null && tool.body !== undefined) {
      const encoded = encodeBody(fillJson(tool.body, args, used), tool.body_content_type ?? null, styles.body?.xml_root);
      body = encoded.body;
      if (encoded.contentType) headers['content-type'] ??= encoded.contentType;
    } else if (WITH_BODY.has(method)) {
      body = JSON.stringify(rest(args, used));
      headers['content-type'] ??= 'application/json';
    } else {
      for (const [key, value] of Object.entries(rest(args, used))) {
        if (value === undefined || value === null) continue;
        if (Array.isArray(value)) for (const item of value) url.searchParams.append(key, scalar(item, key));
        else url.searchParams.append(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
      }
    }
    if (styled.length > 0) url.search = (url.search.length > 1 ? `${url.search}&` : '?') + styled.join('&');
    headers.accept ??= 'application/json, text/plain;q=0.9, */*;q=0.5';
    return { url, method, headers, body, secrets: resolved?.secrets ?? [] };
  }

  private toResult(tool: RestTool, status: number, contentType: string, raw: Buffer): ToolResult {
    const text = raw.toString('utf8');
    let json: unknown;
    let isJson = false;
    if (/json/i.test(contentType) || (contentType === '' && /^\s*[[{]/.test(text))) {
      try {
        json = JSON.parse(text);
        isJson = true;
      } catch {
        isJson = false;
      }
    }
    if (status >= 400) return toolError(`HTTP ${status} from the API of ${tool.name}: ${text.slice(0, 2000)}`);
    if (!isJson) return { content: [{ type: 'text', text }] };
    let value = json;
    if (tool.response_path) {
      value = selectPath(json, tool.response_path);
      if (value === undefined) return toolError(`response_path "${tool.response_path}" selects nothing in the response of ${tool.name}`);
    }
    const result: ToolResult = { content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }] };
    if (tool.output_schema) result.structuredContent = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : { result: value };
    return result;
  }
}

/** The body as its content type wants it: JSON, a form, multipart parts, or the raw string. */
function encodeBody(value: unknown, contentType: string | null, xmlRoot?: string): { body: string | FormData; contentType?: string } {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  const field = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  // Both form encodings take the fields the same way: absent ones left out, arrays repeated.
  const fill = <F extends { append(key: string, value: string): void }>(form: F): F => {
    for (const [key, v] of Object.entries(asFields(value))) {
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) for (const item of v) form.append(key, field(item));
      else form.append(key, field(v));
    }
    return form;
  };
  if (type === 'application/x-www-form-urlencoded') {
    return { body: fill(new URLSearchParams()).toString(), contentType: 'application/x-www-form-urlencoded' };
  }
  // undici sets the multipart content type with its boundary.
  if (type === 'multipart/form-data') return { body: fill(new FormData()) };
  if (type === 'application/json' || /[/+]json$/.test(type)) return { body: JSON.stringify(value), contentType: contentType ?? 'application/json' };
  if (isXml(type)) return { body: toXml(value, xmlRoot), contentType: contentType ?? undefined };
  return { body: typeof value === 'string' ? value : JSON.stringify(value), contentType: contentType ?? undefined };
}

function asFields(value: unknown): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new Error('a form body must be an object of fields');
}

function toolError(text: string): ToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

function scalar(value: unknown, key: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`argument "${key}" must be a string, number or boolean`);
}

/** Fill `{name}` placeholders in a string template; a template that is one missing placeholder is skipped. */
function fill(template: string, args: Record<string, unknown>, used: Set<string>): string | undefined {
  const whole = /^\{([A-Za-z_][\w.-]*)\}$/.exec(template);
  if (whole) {
    const value = args[whole[1]!];
    used.add(whole[1]!);
    if (value === undefined || value === null) return undefined;
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return template.replace(PLACEHOLDER, (_m, key: string) => {
    used.add(key);
    const value = args[key];
    return value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  });
}

/** Fill a JSON body template: `"{x}"` becomes the argument itself (any type), `"a {x} b"` interpolates. */
function fillJson(template: unknown, args: Record<string, unknown>, used: Set<string>): unknown {
  if (typeof template === 'string') {
    const whole = /^\{([A-Za-z_][\w.-]*)\}$/.exec(template);
    if (whole) {
      used.add(whole[1]!);
      return args[whole[1]!] ?? null;
    }
    return fill(template, args, used);
  }
  if (Array.isArray(template)) return template.map((item) => fillJson(item, args, used));
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(template)) out[key] = fillJson(value, args, used);
    return out;
  }
  return template;
}

function rest(args: Record<string, unknown>, used: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) if (!used.has(key)) out[key] = value;
  return out;
}

/** `$.a.b[0].c`, `a.b.0.c` or `/a/b/0/c`: a small, safe subset of JSONPath / JSON Pointer. */
export function selectPath(value: unknown, path: string): unknown {
  const parts = path
    .replace(/^\$\.?/, '')
    .replace(/^\//, '')
    .split(/[./]|\[(\d+)\]/)
    .filter((p) => p !== undefined && p !== '');
  let current: unknown = value;
  for (const part of parts) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function describeNetworkError(error: unknown): string {
  if (error instanceof undiciErrors.UndiciError) return error.message;
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.code === 'UPSTREAM_DENIED') return e.message ?? 'the outbound policy denies this address';
  return e.cause?.code ?? e.code ?? e.message ?? 'network error';
}
