import type { Transport } from '@modelcontextprotocol/client';
import { INTERNAL_ERROR, METHOD_NOT_FOUND, REQUEST_TIMEOUT, RpcError, UPSTREAM_FAILURE } from '../protocol/jsonrpc.js';
import { deadline } from './deadline.js';
import { describe, type Reply } from './replies.js';
import type { CallOptions, RelayAnswer, RelayHooks } from '../protocol/call.js';

/**
 * tools/call on a stdio or SSE upstream, where there is no HTTP fast path: the call goes out on
 * the SDK transport under our own id, and a tap sees every message before the SDK client does,
 * keeping what belongs to a call in flight.
 */

/** A tools/call in flight on the SDK transport. */
interface TappedCall {
  /** The caller's own progress token; upstream the call's id is the token. */
  token?: string | number;
  relay?: RelayHooks;
  signal: AbortSignal;
  settle: (reply: Reply) => void;
  fail: (error: Error) => void;
}

/** Requests an upstream makes of the client during a call, relayed to the calling client. */
const CLIENT_REQUESTS = new Set(['sampling/createMessage', 'elicitation/create', 'roots/list']);

/** The tap on one SDK transport and the calls in flight on it, by our request id. */
export class CallTap {
  private readonly calls = new Map<string, TappedCall>();

  /** Install the tap: messages that are not a tapped call's go on to the SDK client as before. */
  constructor(
    private readonly transport: Transport,
    private readonly upstream: string,
  ) {
    const sdk = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (!this.calls.size || !this.take(message as Record<string, unknown>)) sdk?.call(transport, message, extra as never);
    };
  }

  /** Fail every call in flight (the connection closed). */
  failAll(why: string): void {
    for (const call of this.calls.values()) call.fail(new Error(why));
    this.calls.clear();
  }

  /**
   * tools/call under `id`, with `id` as the progress token: progress reaches the caller (under its
   * own token) synchronously, in the order the upstream sent it and before the result; requests the
   * upstream makes of the client (sampling, elicitation, roots) go to the calling client; a timeout
   * or the caller's cancellation sends notifications/cancelled upstream.
   */
  async call(id: string, name: string, args: Record<string, unknown>, options: CallOptions): Promise<Reply> {
    const limit = deadline(options.timeoutMs, options.signal, options.abort);
    const params = options.progressToken === undefined ? { name, arguments: args } : { name, arguments: args, _meta: { progressToken: id } };
    try {
      return await this.send(id, params, options, limit.signal);
    } catch (error) {
      const wasTapped = this.calls.delete(id);
      if (limit.timedOut() || (options.signal?.aborted && wasTapped)) {
        const reason = limit.timedOut() ? `the gateway's ${options.timeoutMs} ms timeout expired` : 'the client cancelled the call';
        void this.transport.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } } as never).catch(() => undefined);
      }
      if (limit.timedOut()) throw new RpcError(REQUEST_TIMEOUT, `gateway "${this.upstream}" did not answer tools/call within ${options.timeoutMs} ms`);
      if (options.signal?.aborted) throw new RpcError(UPSTREAM_FAILURE, `the tools/call call to gateway "${this.upstream}" was cancelled`);
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${this.upstream}" failed on tools/call: ${describe(error)}`);
    } finally {
      this.calls.delete(id);
      limit.dispose();
    }
  }

  /** Send the request and wait for the tap to see its response (or the signal to abort). */
  private send(id: string, params: Record<string, unknown>, options: CallOptions, signal: AbortSignal): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const onAbort = () => reject(new Error('aborted'));
      const done = () => signal.removeEventListener('abort', onAbort);
      this.calls.set(id, {
        token: options.progressToken,
        relay: options.relay,
        signal,
        settle: (r) => (done(), resolve(r)),
        fail: (e) => (done(), reject(e)),
      });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.transport.send({ jsonrpc: '2.0', id, method: 'tools/call', params } as never).catch((error: unknown) => (done(), reject(error as Error)));
    });
  }

  /** True when the message was a tapped call's (its response, its progress, a request of its client). */
  private take(message: Record<string, unknown>): boolean {
    const method = message.method;
    if (typeof method !== 'string') {
      const call = typeof message.id === 'string' ? this.calls.get(message.id) : undefined;
      if (!call || !('result' in message || 'error' in message)) return false;
      this.calls.delete(message.id as string);
      call.settle(message);
      return true;
    }
    const params = (message.params ?? {}) as Record<string, unknown>;
    if (message.id === undefined) {
      if (method !== 'notifications/progress' || typeof params.progressToken !== 'string') return false;
      const call = this.calls.get(params.progressToken);
      if (!call) return false;
      if (call.token !== undefined) call.relay?.notify?.(method, { ...params, progressToken: call.token });
      return true;
    }
    if (!CLIENT_REQUESTS.has(method)) return false;
    // A request for a task (its input_required) belongs to no call in flight: the SDK client's handler takes it.
    if ((params._meta as Record<string, unknown> | undefined)?.['io.modelcontextprotocol/related-task'] !== undefined) return false;
    this.relayRequest(message.id, method, params);
    return true;
  }

  /** stdio and SSE carry no link from a request to the call it serves: the one call in flight is its call. */
  private relayRequest(requestId: unknown, method: string, params: Record<string, unknown>): void {
    const calls = [...this.calls.values()];
    const answer: Promise<RelayAnswer> =
      calls.length !== 1
        ? Promise.resolve({ error: { code: INTERNAL_ERROR, message: `the gateway cannot tell which of ${calls.length} calls in flight this ${method} request serves` } })
        : calls[0]!.relay?.request
          ? calls[0]!.relay.request(method, params, calls[0]!.signal)
          : Promise.resolve({ error: { code: METHOD_NOT_FOUND, message: `the client cannot take the upstream's ${method} request` } });
    void answer
      .then((a) => this.transport.send(('result' in a ? { jsonrpc: '2.0', id: requestId, result: a.result } : { jsonrpc: '2.0', id: requestId, error: a.error }) as never))
      .catch(() => undefined);
  }
}
