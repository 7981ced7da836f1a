import { Client, ProtocolError, SdkError, SdkErrorCode, SSEClientTransport, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Agent } from 'undici';
import { REQUEST_TIMEOUT, RpcError, UPSTREAM_FAILURE } from '../mcp/jsonrpc.js';
import { VERSION } from '../version.js';

/** How to reach one upstream MCP server (a gateway's stored fields, credentials decrypted). */
export interface UpstreamTarget {
  name: string;
  transport: 'streamablehttp' | 'sse' | 'stdio';
  url: string | null;
  command: string | null;
  args: string[];
  env: Record<string, string>;
  /** Decrypted auth headers; never logged. */
  headers: Record<string, string>;
}

export interface UpstreamLists {
  tools: Record<string, unknown>[];
  prompts: Record<string, unknown>[];
  resources: Record<string, unknown>[];
  templates: Record<string, unknown>[];
  capabilities: Record<string, unknown>;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
}

/** Accept whatever the upstream returned; the gateway checks the shape it needs itself (cheaper than zod). */
const PASSTHROUGH = {
  '~standard': { version: 1 as const, vendor: 'mcpgateway', validate: (value: unknown) => ({ value }) },
};

const MAX_LIST_PAGES = 200;

/**
 * One kept-alive connection to an upstream MCP server through the SDK client: connect, list,
 * call. A lost connection is reported through `onLost` and the caller reconnects; a stdio child
 * is killed when the connection closes.
 */
export class UpstreamConnection {
  private client: Client | undefined;
  private transport: Transport | undefined;
  private stderrTail = '';
  private closing = false;
  /** Streamable HTTP fast path for tools/call: one POST on a kept-alive undici pool. */
  private fast: { agent: Agent; origin: string; path: string; headers: Record<string, string> } | undefined;
  private fastId = 0;

  constructor(
    readonly target: UpstreamTarget,
    private readonly hooks: { onLost: (reason: string) => void; onListChanged: (kind: 'tools' | 'prompts' | 'resources') => void },
  ) {}

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** The stdio child's pid, for tests and diagnostics. */
  get pid(): number | null {
    return this.transport instanceof StdioClientTransport ? this.transport.pid : null;
  }

  async connect(timeoutMs: number): Promise<void> {
    const transport = this.makeTransport();
    const client = new Client({ name: 'mcpgateway', version: VERSION }, { capabilities: {} });
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
      if (!this.closing) this.hooks.onLost(this.stderrTail ? `connection closed (stderr: ${this.stderrTail.trim().slice(-300)})` : 'connection closed');
    };
    client.onerror = () => undefined; // transport errors surface on the requests they break
    for (const kind of ['tools', 'prompts', 'resources'] as const) {
      client.setNotificationHandler(`notifications/${kind}/list_changed`, () => this.hooks.onListChanged(kind));
    }
    this.transport = transport;
    try {
      await client.connect(transport, { timeout: timeoutMs });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw new RpcError(UPSTREAM_FAILURE, `cannot connect to gateway "${this.target.name}": ${describe(error)}${this.stderrHint()}`);
    }
    this.client = client;
    if (transport instanceof StreamableHTTPClientTransport) {
      const url = new URL(this.target.url!);
      const headers: Record<string, string> = {
        ...Object.fromEntries(Object.entries(this.target.headers).map(([k, v]) => [k.toLowerCase(), v])),
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      };
      const version = client.getNegotiatedProtocolVersion();
      if (version) headers['mcp-protocol-version'] = version;
      if (transport.sessionId) headers['mcp-session-id'] = transport.sessionId;
      this.fast = { agent: new Agent({ keepAliveTimeout: 60_000, connections: 128 }), origin: url.origin, path: url.pathname + url.search, headers };
    }
  }

  /**
   * tools/call without progress on a Streamable HTTP upstream: the request goes out as one POST
   * on a pooled connection and the reply is parsed once, skipping the SDK client's per-request
   * machinery (the hot path; see docs/decisions/0001). Anything unusual falls back to errors
   * the caller understands; calls that want progress take the SDK path.
   */
  async fastCall(name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown | undefined> {
    const fast = this.fast;
    if (!fast || options.onprogress || !this.client) return undefined;
    const id = `gw-${++this.fastId}`;
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let text: string;
    let type: string;
    try {
      const res = await fast.agent.request({
        origin: fast.origin,
        path: fast.path,
        method: 'POST',
        headers: fast.headers,
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
        signal,
      });
      text = await res.body.text();
      type = String(res.headers['content-type'] ?? '');
      if (res.statusCode === 404 && fast.headers['mcp-session-id']) {
        this.fast = undefined; // the session is gone: let the SDK path notice and reconnect
        throw new Error('the upstream session expired');
      }
      if (res.statusCode >= 400) throw new Error(`HTTP ${res.statusCode}`);
    } catch (error) {
      if (timeout.aborted) throw new RpcError(REQUEST_TIMEOUT, `gateway "${this.target.name}" did not answer tools/call within ${options.timeoutMs} ms`);
      if (options.signal?.aborted) throw new RpcError(UPSTREAM_FAILURE, `the tools/call call to gateway "${this.target.name}" was cancelled`);
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" failed on tools/call: ${describe(error)}`);
    }
    const reply = parseReply(text, type, id);
    if (!reply) throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" sent a malformed reply to tools/call`);
    if (reply.error) {
      const e = reply.error as { code?: unknown; message?: unknown };
      throw new RpcError(typeof e.code === 'number' ? e.code : UPSTREAM_FAILURE, String(e.message ?? 'error').slice(0, 1000), { upstream: this.target.name });
    }
    const result = reply.result;
    if (result === null || typeof result !== 'object' || Array.isArray(result)) {
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" sent a malformed reply to tools/call`);
    }
    return result;
  }

  /** Everything the upstream offers, page by page. */
  async discover(timeoutMs: number): Promise<UpstreamLists> {
    const client = this.require();
    const capabilities = (client.getServerCapabilities() ?? {}) as Record<string, unknown>;
    const list = async (method: string, key: string) => {
      const items: Record<string, unknown>[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const result = (await this.request(method, cursor ? { cursor } : {}, { timeoutMs })) as Record<string, unknown>;
        const batch = result[key];
        if (!Array.isArray(batch)) throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" answered ${method} without a ${key} array`);
        for (const item of batch) if (item && typeof item === 'object') items.push(item as Record<string, unknown>);
        cursor = typeof result.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
        if (!cursor) break;
      }
      return items;
    };
    const tools = capabilities.tools ? await list('tools/list', 'tools') : [];
    const prompts = capabilities.prompts ? await list('prompts/list', 'prompts') : [];
    const resources = capabilities.resources ? await list('resources/list', 'resources') : [];
    const templates = capabilities.resources ? await list('resources/templates/list', 'resourceTemplates').catch(() => []) : [];
    return { tools, prompts, resources, templates, capabilities };
  }

  async ping(timeoutMs: number): Promise<void> {
    await this.request('ping', {}, { timeoutMs });
  }

  /** One request; upstream JSON-RPC errors are rethrown as RpcError with the upstream's code and message. */
  async request(method: string, params: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    const client = this.require();
    try {
      const requestOptions: Record<string, unknown> = { timeout: options.timeoutMs };
      if (options.signal) requestOptions.signal = options.signal;
      if (options.onprogress) requestOptions.onprogress = options.onprogress;
      const result = await client.request({ method, params } as never, PASSTHROUGH, requestOptions);
      if (result === null || typeof result !== 'object' || Array.isArray(result)) {
        throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" sent a malformed reply to ${method}`);
      }
      return result;
    } catch (error) {
      throw this.translate(error, method, options.timeoutMs);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const fast = this.fast;
    this.fast = undefined;
    if (fast) await fast.agent.close().catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client) await client.close().catch(() => undefined);
    else await this.transport?.close().catch(() => undefined);
  }

  private require(): Client {
    if (!this.client) throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.target.name}" is not connected`);
    return this.client;
  }

  private makeTransport(): Transport {
    const t = this.target;
    if (t.transport === 'stdio') {
      const transport = new StdioClientTransport({
        command: t.command!,
        args: t.args,
        env: { ...getDefaultEnvironment(), ...t.env },
        stderr: 'pipe',
      });
      transport.stderr?.on('data', (chunk: Buffer) => {
        this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
      });
      return transport;
    }
    const url = new URL(t.url!);
    const requestInit = { headers: t.headers };
    if (t.transport === 'sse') {
      return new SSEClientTransport(url, { requestInit, eventSourceInit: { fetch: (input: string | URL, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...t.headers } }) } } as never);
    }
    return new StreamableHTTPClientTransport(url, { requestInit });
  }

  private translate(error: unknown, method: string, timeoutMs: number): RpcError {
    if (error instanceof RpcError) return error;
    const name = this.target.name;
    if (error instanceof ProtocolError) return new RpcError(error.code, error.message.replace(/^MCP error -?\d+:\s*/, ''), { upstream: name });
    if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
      return new RpcError(REQUEST_TIMEOUT, `gateway "${name}" did not answer ${method} within ${timeoutMs} ms`);
    }
    const message = (error as Error)?.message ?? '';
    if ((error as Error)?.name === 'ZodError' || (error as Error)?.name === 'SyntaxError' || /^\s*\[/.test(message) || /JSON/.test(message)) {
      return new RpcError(UPSTREAM_FAILURE, `gateway "${name}" sent a malformed reply to ${method}`);
    }
    if ((error as Error)?.name === 'AbortError') return new RpcError(UPSTREAM_FAILURE, `the ${method} call to gateway "${name}" was cancelled`);
    return new RpcError(UPSTREAM_FAILURE, `gateway "${name}" failed on ${method}: ${describe(error)}`);
  }

  private stderrHint(): string {
    const tail = this.stderrTail.trim();
    return tail ? ` (stderr: ${tail.slice(-300)})` : '';
  }
}

/** The JSON-RPC response with our id in a JSON or SSE reply body. */
function parseReply(text: string, type: string, id: string): { result?: unknown; error?: unknown } | undefined {
  const candidates: string[] = [];
  if (type.includes('text/event-stream')) {
    for (const event of text.split(/\r?\n\r?\n/)) {
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data) candidates.push(data);
    }
  } else candidates.push(text);
  for (const data of candidates) {
    try {
      const message = JSON.parse(data) as { id?: unknown; result?: unknown; error?: unknown };
      if (message && message.id === id && ('result' in message || 'error' in message)) return message;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function describe(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  const message = (e?.message ?? String(error)).split('\n', 1)[0]!.slice(0, 300);
  return cause && !message.includes(cause) ? `${message} (${cause})` : message;
}
