import type { Kind } from '../domain/entities.js';
import type { ExportDocument } from '../domain/export-document.js';
import { ERRORS, GatewayError, type ErrorCode, type FieldError } from '../errors.js';
import type { ConflictMode } from '../services/transfer/import-plan.js';
import type { AdminApi } from '../services/transfer/import-replay.js';
import type { ImportReport } from '../services/transfer/import.js';

/** Where CLI commands send Admin API calls, and with what credentials (SPEC §2). */
export interface Target {
  url: string;
  authorization: string | undefined;
}

const DEFAULT_URL = 'http://127.0.0.1:4444';

/** Read MCPGATEWAY_URL and MCPGATEWAY_BEARER_TOKEN (or MCPGATEWAY_BASIC_AUTH=user:password). */
export function targetFromEnv(env: NodeJS.ProcessEnv = process.env): Target {
  const raw = env.MCPGATEWAY_URL || DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GatewayError('CONFIG_INVALID', `MCPGATEWAY_URL "${raw}" is not a URL; use e.g. ${DEFAULT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new GatewayError('CONFIG_INVALID', 'MCPGATEWAY_URL must be http:// or https://');
  let authorization: string | undefined;
  if (env.MCPGATEWAY_BEARER_TOKEN) authorization = `Bearer ${env.MCPGATEWAY_BEARER_TOKEN}`;
  else if (env.MCPGATEWAY_BASIC_AUTH) {
    if (!env.MCPGATEWAY_BASIC_AUTH.includes(':')) throw new GatewayError('CONFIG_INVALID', 'MCPGATEWAY_BASIC_AUTH must be user:password');
    authorization = `Basic ${Buffer.from(env.MCPGATEWAY_BASIC_AUTH, 'utf8').toString('base64')}`;
  }
  return { url: url.toString().replace(/\/+$/, ''), authorization };
}

interface RequestOptions {
  body?: string;
  contentType?: string;
  timeoutMs?: number;
}

/** A small Admin API client: coded errors for every failure, never a stack trace. */
export class AdminClient implements AdminApi {
  constructor(readonly target: Target) {}

  /** Send a request; answers 2xx as the Response, anything else as a coded error. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.target.authorization) headers.authorization = this.target.authorization;
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    let response: Response;
    try {
      response = await fetch(this.target.url + path, {
        method,
        headers,
        body: options.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new GatewayError('TARGET_UNREACHABLE', `cannot reach the gateway at ${this.target.url} (${cause}); is it running, and is MCPGATEWAY_URL right?`);
    }
    if (response.ok) return response;
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new GatewayError(
        'TARGET_AUTH_FAILED',
        `the gateway at ${this.target.url} refused the credentials (HTTP ${response.status}); set MCPGATEWAY_BEARER_TOKEN (see \`mcpgateway token create\`) or MCPGATEWAY_BASIC_AUTH=user:password`,
      );
    }
    throw await problemError(response, `${method} ${path}`);
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, options);
    try {
      return (await response.json()) as T;
    } catch {
      throw new GatewayError('TARGET_ERROR', `${method} ${path}: the gateway's answer is not JSON`);
    }
  }

  /** Every object of a kind, inactive ones included, following X-Next-Cursor. */
  async list(kind: Kind): Promise<Record<string, unknown>[]> {
    const all: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `include_inactive=true&limit=10000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await this.request('GET', `/${kind}?${query}`);
      all.push(...((await response.json()) as Record<string, unknown>[]));
      cursor = response.headers.get('x-next-cursor');
    } while (cursor);
    return all;
  }

  dryRun(doc: ExportDocument, conflict: ConflictMode): Promise<ImportReport> {
    return this.json('POST', `/import?dry_run=true&conflict=${conflict}`, { body: JSON.stringify(doc), timeoutMs: 600_000 });
  }

  create(kind: Kind, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.json('POST', `/${kind}`, { body: JSON.stringify(body) });
  }

  patch(kind: Kind, id: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.json('PATCH', `/${kind}/${encodeURIComponent(id)}`, { body: JSON.stringify(body), contentType: 'application/merge-patch+json' });
  }

  replace(kind: Kind, id: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.json('PUT', `/${kind}/${encodeURIComponent(id)}`, { body: JSON.stringify(body) });
  }

}

/** A problem+json answer as a coded error carrying the gateway's own code and findings. */
async function problemError(response: Response, what: string): Promise<GatewayError> {
  let problem: { code?: string; detail?: string; errors?: FieldError[] } = {};
  try {
    problem = (await response.json()) as typeof problem;
  } catch {
    // not JSON: described by status alone
  }
  const detail = problem.detail ?? `HTTP ${response.status}`;
  if (problem.code && problem.code in ERRORS && ERRORS[problem.code as ErrorCode].status !== 0) {
    return new GatewayError(problem.code as ErrorCode, detail, problem.errors);
  }
  return new GatewayError('TARGET_ERROR', `${what}: the gateway answered HTTP ${response.status}: ${detail}`, problem.errors);
}
