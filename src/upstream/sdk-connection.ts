import { type Client, ProtocolError, SdkError, SdkErrorCode, SSEClientTransport, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import type { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Agent } from 'undici';
import { METHOD_NOT_FOUND, REQUEST_TIMEOUT, RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';
import { cappedFetch, policyFetch } from './limits.js';
import type { UpstreamTarget } from './mcp-connection.js';
import { ModernStdioLane } from './modern-stdio.js';
import { describe } from './replies.js';
import type { RelayAnswer } from '../protocol/call.js';

/**
 * The SDK client's side of an upstream connection: the transport it runs on (stdio child,
 * Streamable HTTP, legacy SSE, each bounded by MAX_RESPONSE_BYTES), the handlers for what the
 * upstream sends on its own (list changes, notifications, requests of the client), its errors.
 */

/** What the upstream sends outside a call, and where the connection passes it. */
export interface UpstreamEvents {
  onListChanged: (kind: 'tools' | 'prompts' | 'resources') => void;
  /** Resource updates and log messages the upstream sends outside a call's own stream. */
  onNotification?: (method: string, params: unknown) => void;
  /** A request of the client the upstream makes outside any tools/call (a task's input_required); undefined: refused. */
  onRequest?: (method: string, params: Record<string, unknown>, signal: AbortSignal) => Promise<RelayAnswer> | undefined;
}

/** The SDK transport for a target; a stdio target's child process and its 2026-07-28 lane come with it. */
export interface SdkTransport {
  transport: Transport;
  stdio?: StdioClientTransport;
  lane?: ModernStdioLane;
}

/** Make the SDK transport the target names; `onStderr` gets a stdio child's stderr as it arrives. */
export async function makeTransport(t: UpstreamTarget, onStderr: (chunk: Buffer) => void, sessionId?: string): Promise<SdkTransport> {
  if (t.transport === 'stdio') {
    const { getDefaultEnvironment, StdioClientTransport } = await import('@modelcontextprotocol/client/stdio'); // only for stdio gateways
    const transport = new StdioClientTransport({
      command: t.command!,
      args: t.args,
      env: { ...getDefaultEnvironment(), ...t.env },
      stderr: 'pipe',
      ...(t.maxResponseBytes ? { maxBufferSize: t.maxResponseBytes } : {}),
    });
    transport.stderr?.on('data', onStderr);
    const lane = new ModernStdioLane(t.name, { command: t.command!, args: t.args, env: { ...getDefaultEnvironment(), ...t.env } }, t.maxResponseBytes);
    return { transport, stdio: transport, lane };
  }
  const url = new URL(t.url!);
  const requestInit = { headers: t.headers };
  const fetch = httpFetch(t);
  if (t.transport === 'sse') {
    const eventFetch = (input: string | URL, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...t.headers } });
    return { transport: new SSEClientTransport(url, { requestInit, fetch, eventSourceInit: { fetch: eventFetch } } as never) };
  }
  // With a session id the SDK client skips initialize and takes the session up as it is.
  return { transport: new StreamableHTTPClientTransport(url, { requestInit, fetch, ...(sessionId ? { sessionId } : {}) }) };
}

/** The fetch of an HTTP transport: through the outbound policy, bounded by MAX_RESPONSE_BYTES, with the current oauth2 token. */
function httpFetch(t: UpstreamTarget): (input: string | URL, init?: RequestInit) => Promise<Response> {
  const policed = t.connect ? policyFetch(new Agent({ connect: t.connect })) : globalThis.fetch;
  const fetch = t.maxResponseBytes ? cappedFetch(policed, t.maxResponseBytes) : policed;
  const bearer = t.bearer;
  if (!bearer) return fetch;
  return async (input: string | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const token = bearer();
    headers.set('authorization', `Bearer ${typeof token === 'string' ? token : await token}`);
    const res = await fetch(input, { ...init, headers });
    if (res.status === 401) t.refused?.();
    return res;
  };
}

/** Route what the upstream sends on its own to `events`: list changes, notifications, requests of the client. */
export function installHandlers(client: Client, events: UpstreamEvents): void {
  for (const kind of ['tools', 'prompts', 'resources'] as const) {
    client.setNotificationHandler(`notifications/${kind}/list_changed`, () => events.onListChanged(kind));
  }
  for (const method of ['notifications/resources/updated', 'notifications/message'] as const) {
    client.setNotificationHandler(method, (n: { params?: unknown }) => events.onNotification?.(method, n.params));
  }
  // Requests of the client outside a tools/call (a task waiting for input) go to whoever owns them.
  for (const method of ['sampling/createMessage', 'elicitation/create'] as const) {
    client.setRequestHandler(method, async (request: { params?: unknown }, ctx: { mcpReq: { signal: AbortSignal } }) => {
      const answer = await events.onRequest?.(method, (request.params ?? {}) as Record<string, unknown>, ctx.mcpReq.signal);
      if (!answer) throw new ProtocolError(METHOD_NOT_FOUND, `the gateway has no client to pass this ${method} request to`);
      if ('error' in answer) throw new ProtocolError(answer.error.code, answer.error.message, answer.error.data);
      return answer.result as never;
    });
  }
  // The SDK has no handler slot for the tasks extension's status notification: it arrives here.
  client.fallbackNotificationHandler = async (n) => {
    if (n.method === 'notifications/tasks/status') events.onNotification?.(n.method, n.params);
  };
}

/** An SDK client's failure as the RpcError the gateway answers with (`oversized`: the coded too-large message, when that broke it). */
export function translateSdkError(error: unknown, name: string, method: string, timeoutMs: number, oversized: string | undefined): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof ProtocolError) return new RpcError(error.code, error.message.replace(/^MCP error -?\d+:\s*/, ''), { upstream: name });
  if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
    return new RpcError(REQUEST_TIMEOUT, `gateway "${name}" did not answer ${method} within ${timeoutMs} ms`);
  }
  const message = (error as Error)?.message ?? '';
  if (oversized) return new RpcError(UPSTREAM_FAILURE, `gateway "${name}" failed on ${method}: ${oversized}`);
  if ((error as Error)?.name === 'ZodError' || (error as Error)?.name === 'SyntaxError' || /^\s*\[/.test(message) || /JSON/.test(message)) {
    return new RpcError(UPSTREAM_FAILURE, `gateway "${name}" sent a malformed reply to ${method}`);
  }
  if ((error as Error)?.name === 'AbortError') return new RpcError(UPSTREAM_FAILURE, `the ${method} call to gateway "${name}" was cancelled`);
  return new RpcError(UPSTREAM_FAILURE, `gateway "${name}" failed on ${method}: ${describe(error)}`);
}
