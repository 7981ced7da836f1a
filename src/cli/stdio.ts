import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { errorResponse, isValidId, PARSE_ERROR, parseMessage, UPSTREAM_FAILURE, type RequestId } from '../protocol/jsonrpc.js';
import { standardHeaders } from '../protocol/revision-2026.js';
import { sseEvents } from '../protocol/sse.js';
import { targetFromEnv } from './admin-client.js';

/**
 * `mcpgateway stdio [--server NAME]`: a bridge for stdio-only MCP clients. Each line on stdin is
 * a JSON-RPC message, POSTed to the running gateway's `/mcp` (or a virtual server's); replies and
 * server notifications are written to stdout, one per line. Logs go to stderr only. The session
 * the gateway opens at initialize (Mcp-Session-Id) is sent with every later message and on the
 * notification stream, so the gateway knows what the client declared and keeps its upstream
 * sessions apart from other clients'.
 */
export function stdioCommand(program: Command): void {
  program
    .command('stdio')
    .description('bridge stdin/stdout MCP to a running gateway (MCPGATEWAY_URL, MCPGATEWAY_BEARER_TOKEN or MCPGATEWAY_BASIC_AUTH)')
    .option('--server <name>', 'a virtual server id or name (default: every tool, /mcp)')
    .action(async (options: { server?: string }) => {
      // The same URL and credentials as every other CLI command: bearer first, then Basic.
      const target = targetFromEnv();
      const endpoint = new URL(options.server ? `${target.url}/servers/${encodeURIComponent(options.server)}/mcp` : `${target.url}/mcp`);
      await bridge(endpoint, target.authorization ? { authorization: target.authorization } : {});
    });
}

async function bridge(endpoint: URL, auth: Record<string, string>): Promise<void> {
  const headers = { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const inflight = new Set<Promise<void>>();
  const abort = new AbortController();
  let sessionId: string | undefined;
  let unsessioned = new AbortController();
  void listen(endpoint, auth, write, AbortSignal.any([abort.signal, unsessioned.signal]));
  const opened = (id: string) => {
    if (sessionId !== undefined) return;
    sessionId = id;
    unsessioned.abort(); // the session's own stream replaces the anonymous one
    unsessioned = new AbortController();
    void listen(endpoint, { ...auth, 'mcp-session-id': id }, write, abort.signal);
  };

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let id: RequestId | null = null;
    let modern: Record<string, string> | undefined;
    try {
      // The id as sent (a big integer included) for the errors the bridge answers itself.
      const message = parseMessage(line) as { id?: unknown };
      id = isValidId(message?.id) ? message.id : null;
      modern = standardHeaders(message); // a 2026-07-28 request carries its standard headers over HTTP
    } catch {
      write(errorResponse(null, PARSE_ERROR, 'the line is not valid JSON'));
      continue;
    }
    // A 2026-07-28 request carries its standard headers and no 2025 session; a 2025 message carries the session.
    const sent = modern ? { ...headers, ...modern } : sessionId === undefined ? headers : { ...headers, 'mcp-session-id': sessionId };
    const task = post(endpoint, sent, line, write, opened).catch((error: unknown) => {
      if (id !== null) write(errorResponse(id, UPSTREAM_FAILURE, `cannot reach the gateway at ${endpoint.origin}: ${(error as Error).message}`));
    });
    inflight.add(task);
    void task.finally(() => inflight.delete(task));
  }
  await Promise.all(inflight);
  abort.abort();
  if (sessionId !== undefined) {
    await fetch(endpoint, { method: 'DELETE', headers: { ...auth, 'mcp-session-id': sessionId }, signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  }
}

/** POST one message; relay a JSON reply or every event of an SSE reply. */
async function post(endpoint: URL, headers: Record<string, string>, body: string, write: (line: string) => void, opened: (id: string) => void): Promise<void> {
  const res = await fetch(endpoint, { method: 'POST', headers, body });
  const session = res.headers.get('mcp-session-id');
  if (session) opened(session); // before the reply is written: the client's next message carries it
  const type = res.headers.get('content-type') ?? '';
  if (res.status === 202 || res.status === 204) return;
  if (type.includes('text/event-stream') && res.body) {
    for await (const data of sseData(res.body)) write(data);
    return;
  }
  const text = (await res.text()).trim();
  if (isJsonRpc(text)) return write(text.replace(/\n/g, ' '));
  const id = (parseMessage(body) as { id?: unknown } | null)?.id;
  if (!isValidId(id)) return;
  let detail = text.slice(0, 300);
  try {
    detail = String((JSON.parse(text) as { detail?: unknown }).detail ?? detail);
  } catch {
    // not JSON: keep the text
  }
  write(errorResponse(id, UPSTREAM_FAILURE, `the gateway answered HTTP ${res.status}: ${detail}`));
}

function isJsonRpc(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as unknown;
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    return typeof first === 'object' && first !== null && (first as { jsonrpc?: unknown }).jsonrpc === '2.0';
  } catch {
    return false;
  }
}

/** Keep a GET stream open for list_changed notifications; retry quietly while the gateway is away. */
async function listen(endpoint: URL, auth: Record<string, string>, write: (line: string) => void, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; !signal.aborted && attempt < 1_000_000; attempt++) {
    try {
      const res = await fetch(endpoint, { headers: { ...auth, accept: 'text/event-stream' }, signal });
      if (res.ok && res.body) for await (const data of sseData(res.body)) write(data);
    } catch {
      // the gateway is away or we are stopping
    }
    if (signal.aborted) return;
    await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5))).unref());
  }
}

/** The non-empty `data` of each event of a server-sent event stream. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  for await (const { data } of sseEvents(body as unknown as AsyncIterable<Uint8Array>)) if (data) yield data;
}
