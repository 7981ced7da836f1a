import { REQUEST_TIMEOUT, RpcError, UPSTREAM_FAILURE } from '../../protocol/jsonrpc.js';
import { LOG_LEVEL_META, MISSING_CAPABILITY } from '../../protocol/revision-2026.js';
import { deadline } from '../../upstream/deadline.js';
import type { UpstreamConnection } from '../../upstream/mcp-connection.js';
import type { CallOptions } from '../../protocol/call.js';

/** input_required rounds one request of a 2025 caller may take through a 2026-07-28-only upstream. */
const MAX_INPUT_ROUNDS = 16;

type Deadline = ReturnType<typeof deadline>;

/**
 * A 2025 caller's request to a 2026-07-28-only upstream: sent as a 2026-07-28 request with the
 * client's declared capabilities in `_meta`; each `input_required` answer's `inputRequests` go
 * to the client as server-to-client requests on its stream (only what it declared: anything else
 * fails the call with -32021), and the request is sent again with the `inputResponses` and the
 * upstream's `requestState` untouched, until a final result (at most MAX_INPUT_ROUNDS rounds,
 * all within the call's timeout).
 */
export async function answerRounds(gateway: string, shared: UpstreamConnection, method: string, base: Record<string, unknown>, options: CallOptions): Promise<unknown> {
  const limit = deadline(options.timeoutMs, options.signal);
  const ends = Date.now() + options.timeoutMs;
  const meta: Record<string, unknown> = { ...shared.modernMeta(options.client?.capabilities ?? {}), ...options.trace };
  if (options.progressToken !== undefined) meta.progressToken = options.progressToken;
  // The level the client set with logging/setLevel becomes the request's own (2026 logs per request).
  if (options.client?.logLevel) meta[LOG_LEVEL_META] = options.client.logLevel;
  let params: Record<string, unknown> = { ...base, _meta: meta };
  try {
    for (let round = 0; ; round++) {
      const result = await shared.modernRequest(method, params, { ...options, signal: limit.signal, abort: undefined, timeoutMs: Math.max(1, ends - Date.now()) });
      if (!result) throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" does not answer 2026-07-28 requests any more`);
      if (result.resultType !== 'input_required') {
        const { resultType: _complete, ...rest } = result;
        return rest;
      }
      if (round >= MAX_INPUT_ROUNDS) throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" asked the client for input more than ${MAX_INPUT_ROUNDS} times in one ${method}`);
      const inputResponses = await askClient(gateway, result.inputRequests, options, limit);
      params = { ...base, _meta: meta, inputResponses, ...(result.requestState !== undefined ? { requestState: result.requestState } : {}) };
    }
  } finally {
    limit.dispose();
  }
}

/** One round's `inputRequests` asked of the client at once; its answers keyed as the upstream keyed them. */
async function askClient(gateway: string, requests: unknown, options: CallOptions, limit: Deadline): Promise<Record<string, unknown>> {
  if (requests === null || typeof requests !== 'object' || Array.isArray(requests) || Object.keys(requests).length === 0) {
    throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" answered input_required without inputRequests`);
  }
  const ask = options.relay?.request;
  const answers = await Promise.all(
    Object.entries(requests as Record<string, { method?: unknown; params?: unknown }>).map(async ([key, request]) => {
      const needed = String(request?.method ?? '');
      if (!ask) throw new RpcError(MISSING_CAPABILITY, `gateway "${gateway}" needs ${needed.slice(0, 100)} from the client, and this request cannot carry a request to the client (it has no event stream)`);
      const answer = await ask(needed, request?.params ?? {}, limit.signal);
      if ('error' in answer) {
        if (limit.timedOut()) throw new RpcError(REQUEST_TIMEOUT, `the client did not answer ${needed.slice(0, 100)} within the call's ${options.timeoutMs} ms`);
        const code = answer.error.code === -32601 ? MISSING_CAPABILITY : answer.error.code;
        throw new RpcError(code, `gateway "${gateway}" needs ${needed.slice(0, 100)} from the client: ${answer.error.message}`);
      }
      return [key, answer.result] as const;
    }),
  );
  return Object.fromEntries(answers);
}
