import { spawn, type ChildProcess } from 'node:child_process';
import { REQUEST_TIMEOUT, RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';
import { CLIENT_CAPABILITIES_META, CLIENT_INFO_META, MODERN_VERSIONS, PROTOCOL_VERSION_META } from '../protocol/revision-2026.js';
import { VERSION } from '../version.js';
import { deadline } from './deadline.js';
import { tooLargeMessage } from './limits.js';
import { RelayedError } from './modern-http.js';
import type { RequestOptions } from '../protocol/call.js';

/**
 * The gateway as a 2026-07-28 client of a stdio upstream. A stdio connection keeps the era its
 * opening message chose, and the gateway's SDK connection opened with `initialize` (2025) for
 * 2025 callers; so 2026 callers get a second process of the same command, opened with
 * `server/discover` on their first request. It serves each request statelessly: the caller's own
 * params out, the upstream's answer (an `input_required` round, a result, an error with its data)
 * back untouched. Progress notifications come back under the caller's token. An upstream that
 * does not answer `server/discover` with 2026-07-28 is stopped and marked 2025-only.
 */

export interface StdioCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

interface Pending {
  resolve: (reply: { result?: unknown; error?: unknown }) => void;
  progressToken?: unknown;
  onNotify?: (method: string, params: unknown) => void;
}

/** What a 2026-07-28 request on the second stdio process takes of its call's options. */
export type StdioCall = Pick<RequestOptions, 'timeoutMs' | 'signal' | 'abort' | 'relay'>;

/** The line bound when the gateway has no MAX_RESPONSE_BYTES (64 MiB, as the 2025 stream's). */
const MAX_LINE = 64 * 1024 * 1024;
/** How long the second process may take to answer server/discover before it counts as 2025 only. */
const DISCOVER_TIMEOUT_MS = 10_000;

export class ModernStdioLane {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  /** undefined: not tried yet; a version: serves it; null: 2025 only. */
  private version: string | null | undefined;
  private opening: Promise<string | null> | undefined;

  constructor(
    private readonly upstream: string,
    private readonly command: StdioCommand,
    /** MAX_RESPONSE_BYTES: a longer line fails the calls in flight and restarts the process. */
    private readonly maxLineBytes: number = MAX_LINE,
  ) {}

  /** The revision the lane speaks, opening it on first use; null when the upstream is 2025 only. */
  open(timeoutMs: number): Promise<string | null> {
    if (this.version !== undefined) return Promise.resolve(this.version);
    this.opening ??= this.start(Math.min(timeoutMs, DISCOVER_TIMEOUT_MS)).then((version) => {
      this.version = version;
      this.opening = undefined;
      if (version === null) this.stop();
      return version;
    });
    return this.opening;
  }

  private async start(timeoutMs: number): Promise<string | null> {
    const child = spawn(this.command.command, this.command.args, { env: this.command.env, stdio: ['pipe', 'pipe', 'ignore'] });
    this.child = child;
    // The line being read, in bytes; past maxLineBytes nothing more of this process is read.
    let parts: Buffer[] = [];
    let size = 0;
    // A line over the bound cannot be tied to its request: every call in flight fails with the
    // coded error, the process is stopped and the next request starts a fresh one.
    const oversize = () => {
      parts = [];
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume(); // drained unread until the process is gone
      if (this.child === child && typeof this.version === 'string') this.version = undefined;
      this.fail(`gateway "${this.upstream}" failed: ${tooLargeMessage('a line of the upstream process', this.maxLineBytes)}`);
      this.stop(child);
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      let start = 0;
      let newline: number;
      while ((newline = chunk.indexOf(10, start)) >= 0) {
        if (size + newline - start > this.maxLineBytes) return oversize();
        parts.push(chunk.subarray(start, newline));
        const line = Buffer.concat(parts).toString('utf8').trim();
        parts = [];
        size = 0;
        start = newline + 1;
        if (line) this.receive(line);
      }
      size += chunk.length - start;
      if (size > this.maxLineBytes) return oversize();
      if (start < chunk.length) parts.push(chunk.subarray(start));
    });
    child.once('exit', () => {
      if (this.child !== undefined && this.child !== child) return; // replaced: its calls were settled then
      this.child = undefined;
      if (typeof this.version === 'string') this.version = undefined; // reopened on the next request
      this.fail(`the 2026-07-28 process of gateway "${this.upstream}" exited`);
    });
    child.once('error', () => undefined); // reported through exit
    child.stdin!.on('error', () => undefined);
    const version = MODERN_VERSIONS[0]!;
    const params = { _meta: { [PROTOCOL_VERSION_META]: version, [CLIENT_CAPABILITIES_META]: {}, [CLIENT_INFO_META]: { name: 'mcpgateway', version: VERSION } } };
    try {
      const reply = await this.send('server/discover', params, { timeoutMs });
      const supported = (reply.result as { supportedVersions?: unknown } | undefined)?.supportedVersions;
      return Array.isArray(supported) ? (MODERN_VERSIONS.find((v) => supported.includes(v)) ?? null) : null;
    } catch {
      return null;
    }
  }

  /** Settle every call in flight with an upstream failure. */
  private fail(message: string): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.resolve({ error: { code: UPSTREAM_FAILURE, message } });
    }
  }

  private receive(line: string): void {
    let message: { id?: unknown; method?: unknown; params?: { progressToken?: unknown }; result?: unknown; error?: unknown };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    if (message === null || typeof message !== 'object') return;
    if (typeof message.method === 'string') {
      // Progress is the one notification a stateless stdio answer can be tied to: by its token.
      if (message.method !== 'notifications/progress' || message.id !== undefined) return;
      const token = message.params?.progressToken;
      for (const pending of this.pending.values()) if (pending.progressToken === token && token !== undefined) pending.onNotify?.(message.method, message.params);
      return;
    }
    if (typeof message.id !== 'string') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    pending.resolve(message);
  }

  private send(method: string, params: Record<string, unknown>, call: StdioCall): Promise<{ result?: unknown; error?: unknown }> {
    const child = this.child;
    if (!child?.stdin?.writable) return Promise.reject(new Error('the process is not running'));
    const id = `gw-${++this.nextId}`;
    const limit = deadline(call.timeoutMs, call.signal, call.abort);
    return new Promise<{ result?: unknown; error?: unknown }>((resolve, reject) => {
      const meta = params._meta as { progressToken?: unknown } | undefined;
      const onAbort = () => {
        this.pending.delete(id);
        child.stdin?.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: limit.timedOut() ? 'timeout' : 'the client cancelled the call' } })}\n`);
        reject(limit.timedOut() ? new RpcError(REQUEST_TIMEOUT, `gateway "${this.upstream}" did not answer ${method} within ${call.timeoutMs} ms`) : new RpcError(UPSTREAM_FAILURE, `the ${method} call to gateway "${this.upstream}" was cancelled`));
      };
      limit.signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        progressToken: meta?.progressToken,
        onNotify: call.relay?.notify,
        resolve: (reply) => {
          limit.signal.removeEventListener('abort', onAbort);
          limit.dispose();
          resolve(reply);
        },
      });
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  /** One 2026-07-28 request; the upstream's JSON-RPC errors come back as RelayedError. */
  async request(method: string, params: Record<string, unknown>, call: StdioCall): Promise<Record<string, unknown>> {
    const reply = await this.send(method, params, call);
    if (reply.error !== undefined) {
      const e = (reply.error ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
      throw new RelayedError(typeof e.code === 'number' ? e.code : UPSTREAM_FAILURE, String(e.message ?? 'error').slice(0, 1000), e.data);
    }
    const result = reply.result;
    if (result === null || typeof result !== 'object' || Array.isArray(result)) throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.upstream}" sent a malformed reply to ${method}`);
    return result as Record<string, unknown>;
  }

  /** Stop the process (the connection closed, the upstream is 2025 only, or it printed an oversize line). */
  stop(child = this.child): void {
    if (this.child === child) this.child = undefined;
    if (child && child.exitCode === null) {
      child.stdin?.end();
      child.kill('SIGTERM');
    }
  }
}
