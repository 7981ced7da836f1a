import { RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';

/**
 * What an upstream's answers mean to the gateway, whichever way the call went (the fast path, a
 * tapped SDK transport, the SDK client): a tools/call result or its error, a failure in one line.
 */

/** A JSON-RPC response as it came: a result or an error, unchecked. */
export type Reply = { result?: unknown; error?: unknown };

/** A tools/call reply's result, or the upstream's error (its code kept) or a malformed-reply error. */
export function toolsCallResult(upstream: string, reply: Reply): Record<string, unknown> {
  if (reply.error) {
    const e = reply.error as { code?: unknown; message?: unknown };
    throw new RpcError(typeof e.code === 'number' ? e.code : UPSTREAM_FAILURE, String(e.message ?? 'error').slice(0, 1000), { upstream });
  }
  const result = reply.result;
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw new RpcError(UPSTREAM_FAILURE, `gateway "${upstream}" sent a malformed reply to tools/call`);
  }
  return result as Record<string, unknown>;
}

/** A failure in one line: its message and, when it adds something, its cause (the outbound policy's refusal as is). */
export function describe(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  if (e?.cause?.code === 'UPSTREAM_DENIED') return e.cause.message ?? 'the outbound policy denies this address';
  const cause = e?.cause?.code ?? e?.cause?.message;
  const message = (e?.message ?? String(error)).split('\n', 1)[0]!.slice(0, 300);
  return cause && !message.includes(cause) ? `${message} (${cause})` : message;
}
