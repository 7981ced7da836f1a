/** The Admin API as the page calls it: same origin, session cookie, CSRF header on writes. */

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { path: string; message: string }[];
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

export interface Me {
  signed_in: boolean;
  trial: boolean;
  subject?: string;
  method?: string;
  role?: 'admin' | 'editor' | 'viewer' | 'client';
  csrf_token?: string;
}

export const session: { me: Me } = { me: { signed_in: false, trial: false } };

/** Whether the signed-in role may change configuration (viewers and clients may not). */
export function canWrite(): boolean {
  const role = session.me.role ?? 'admin';
  return role === 'admin' || role === 'editor';
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  authorization?: string;
}

/** Call the gateway; problem+json answers throw ApiError; 401 sends the page to sign-in. */
export async function call(path: string, options: CallOptions = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { 'x-requested-with': 'mcpgateway-admin', accept: 'application/json, text/event-stream', ...options.headers };
  if (options.authorization) headers.authorization = options.authorization;
  if (method !== 'GET' && session.me.csrf_token) headers['x-csrf-token'] = session.me.csrf_token;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  const type = response.headers.get('content-type') ?? '';
  let parsed: unknown = null;
  if (response.status !== 204) parsed = type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const problem = (parsed && typeof parsed === 'object' ? parsed : { detail: String(parsed ?? response.statusText) }) as Problem;
    if (response.status === 401 && !options.authorization) window.dispatchEvent(new CustomEvent('signed-out'));
    throw new ApiError(response.status, problem);
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export async function getJson<T>(path: string): Promise<T> {
  return (await call(path)).body as T;
}

/** One page of a list and the cursor of the next. */
export async function listPage(path: string): Promise<{ items: Record<string, unknown>[]; next: string | null }> {
  const r = await call(path);
  return { items: r.body as Record<string, unknown>[], next: r.headers.get('x-next-cursor') };
}

let openapi: Promise<{ components: { schemas: Record<string, JsonSchema> } }> | undefined;
/** The Admin API's OpenAPI document (the forms' schemas come from it). */
export function openApi() {
  openapi ??= getJson('/openapi.json');
  return openapi;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  description?: string;
  title?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  additionalProperties?: unknown;
}

/** The kinds and how the page names them. */
export const KINDS = {
  gateways: { title: 'Gateways', singular: 'gateway', schema: 'Gateway', key: 'name' },
  servers: { title: 'Virtual servers', singular: 'server', schema: 'Server', key: 'name' },
  tools: { title: 'Tools', singular: 'tool', schema: 'Tool', key: 'name' },
  prompts: { title: 'Prompts', singular: 'prompt', schema: 'Prompt', key: 'name' },
  resources: { title: 'Resources', singular: 'resource', schema: 'Resource', key: 'uri' },
} as const;
export type Kind = keyof typeof KINDS;
export function isKind(s: string | undefined): s is Kind {
  return s !== undefined && s in KINDS;
}
