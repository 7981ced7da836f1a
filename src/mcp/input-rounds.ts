import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../domain/merge-patch.js';
import { clientDeclared } from './client-sessions.js';
import { INVALID_PARAMS, REQUEST_TIMEOUT, RpcError } from '../protocol/jsonrpc.js';
import type { RelayAnswer, RelayHooks } from '../protocol/call.js';

/**
 * Era translation for a 2026-07-28 client calling a tool of a 2025-era upstream: the requests the
 * upstream makes of the client during the call (sampling, elicitation, roots) become
 * multi-round-trip rounds. The client gets `resultType: "input_required"` with `inputRequests`
 * and a `requestState` the gateway mints; its retry carries `inputResponses` and that state; the
 * pending upstream requests are answered with them and the same upstream call goes on, until it
 * ends and its result answers the last retry.
 *
 * The upstream call stays open between rounds, in this process: a retry must reach the instance
 * that answered `input_required` (an unknown round is refused, never replayed). A round expires
 * when the client does not retry within the call's timeout (its pending upstream requests get an
 * error and the call is cancelled); each principal has at most MAX_ROUNDS_PER_PRINCIPAL open.
 *
 * The state is `v1.<payload>.<mac>`: base64url JSON (round id, round number, a hash of the
 * principal and of the call — gateway, tool, arguments — and the expiry) and its HMAC-SHA256 under
 * a key derived from the gateway's secret. A state that fails the check, names another principal
 * or another call, is stale or expired is refused with -32602 before anything reaches the upstream.
 */

/** Open rounds (calls waiting for a client's retry) per principal. */
export const MAX_ROUNDS_PER_PRINCIPAL = 16;
/** Requests one call may have pending with the client at once. */
const MAX_ASKS = 32;
/** Upstream requests arriving within this window go out in one round. */
const BATCH_MS = 10;
const PREFIX = 'v1';

/** A request the upstream made of the client, not answered yet. */
interface Ask {
  method: string;
  params: unknown;
  resolve: (answer: RelayAnswer) => void;
}

type Outcome = { result: unknown } | { error: unknown };

interface Round {
  /** Set when the round opens (its first input_required answer): a call that asks nothing costs no id or hash. */
  id: string;
  principal: string;
  binding: string;
  /** The hash of the call (gateway, tool, arguments) the round's states are bound to. */
  bind: () => string;
  /** Number of the latest `input_required` answer; its state is the only one accepted. */
  seq: number;
  registered: boolean;
  /** The upstream call's own signal: aborting it cancels the call upstream. */
  controller: AbortController;
  asks: Map<string, Ask>;
  nextKey: number;
  outcome: Outcome | undefined;
  /** Wakes the request waiting on this round (a new ask, the outcome). */
  wake: (() => void) | undefined;
  waiting: boolean;
  batch: NodeJS.Timeout | undefined;
  expiry: NodeJS.Timeout | undefined;
  timeoutMs: number;
  /** The waiting request's capabilities, notification sink and progress token. */
  capabilities: Record<string, unknown> | undefined;
  notify: ((method: string, params: unknown) => void) | undefined;
  progressToken: string | number | undefined;
}

/** One tools/call of a 2026-07-28 client on a 2025-era upstream. */
export interface RoundCall {
  /** Who calls (see principalKey). */
  principal: string;
  gateway: string;
  /** The upstream's tool name. */
  tool: string;
  args: Record<string, unknown>;
  /** The caller's params: `inputResponses`, `requestState`, `_meta`. */
  params: Record<string, unknown>;
  capabilities: Record<string, unknown> | undefined;
  timeoutMs: number;
  /** This HTTP request's signal: the client went away while waiting. */
  signal: AbortSignal;
  notify?: (method: string, params: unknown) => void;
  progressToken?: string | number;
}

/** Starts the upstream call with these hooks, on this signal (which `abort` ends). */
export type StartCall = (relay: RelayHooks, signal: AbortSignal, abort: () => void) => Promise<unknown>;

/** The key a principal's rounds are kept under: a stored or OAuth token by its id, anyone else by method and subject. */
export function principalKey(principal: { subject: string; method: string; tokenId?: string | undefined } | undefined): string {
  if (!principal) return 'anonymous';
  return principal.tokenId !== undefined ? `token:${principal.tokenId}` : `${principal.method}:${principal.subject}`;
}

const refuse = (reason: string, detail: string): RpcError => new RpcError(INVALID_PARAMS, `Invalid requestState: ${detail}`, { requestState: reason });

const hash = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64url').slice(0, 22);

export class InputRounds {
  private readonly rounds = new Map<string, Round>();
  private readonly perPrincipal = new Map<string, number>();
  private readonly key: Buffer;

  /** `secret`: the gateway's secret (AUTH_ENCRYPTION_SECRET); a random key when absent (one process). */
  constructor(secret?: string) {
    this.key = createHmac('sha256', secret ?? randomBytes(32).toString('hex')).update('mcpgateway input rounds v1').digest();
  }

  /** Open rounds (tests, diagnostics). */
  get size(): number {
    return this.rounds.size;
  }

  /**
   * Serve one request of the call: a first call starts the upstream call; a retry (with our
   * `requestState`) answers the round's pending requests. Resolves with the call's result or an
   * `input_required` result; rejects with the call's error or a refused state.
   */
  async call(call: RoundCall, start: StartCall): Promise<unknown> {
    const bind = () => hash(canonicalJson({ g: call.gateway, t: call.tool, a: call.args }));
    const state = call.params.requestState;
    if (state === undefined) {
      const round: Round = {
        id: '',
        principal: call.principal,
        binding: '',
        bind,
        seq: 0,
        registered: false,
        controller: new AbortController(),
        asks: new Map(),
        nextKey: 0,
        outcome: undefined,
        wake: undefined,
        waiting: false,
        batch: undefined,
        expiry: undefined,
        timeoutMs: call.timeoutMs,
        capabilities: call.capabilities,
        notify: undefined,
        progressToken: call.progressToken,
      };
      const relay: RelayHooks = {
        notify: (method, params) => this.notify(round, method, params),
        request: (method, params, signal) => this.ask(round, method, params, signal),
      };
      const controller = round.controller;
      start(relay, controller.signal, () => controller.abort()).then(
        (result) => this.settle(round, { result }),
        (error: unknown) => this.settle(round, { error }),
      );
      return this.serve(round, call);
    }
    const round = this.verify(state, call, bind());
    const responses = call.params.inputResponses;
    if (responses !== null && typeof responses === 'object' && !Array.isArray(responses)) {
      for (const [key, ask] of round.asks) {
        if (!(key in responses)) continue;
        const value = (responses as Record<string, unknown>)[key];
        round.asks.delete(key);
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) ask.resolve({ result: value });
        else ask.resolve({ error: { code: INVALID_PARAMS, message: `the client's input response "${key}" is not an object` } });
      }
    }
    return this.serve(round, call);
  }

  /** Check a retry's state: ours, untampered, this principal's, this call's, the latest, and open here. */
  private verify(state: unknown, call: RoundCall, binding: string): Round {
    if (typeof state !== 'string') throw refuse('malformed', 'it must be the string the gateway sent');
    const parts = state.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) throw refuse('tampered', 'it fails the gateway\'s integrity check (altered, or not minted by this gateway)');
    const mac = createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2]!, 'base64url');
    if (given.length !== mac.length || !timingSafeEqual(given, mac)) throw refuse('tampered', 'it fails the gateway\'s integrity check (altered, or not minted by this gateway)');
    let payload: { r?: unknown; s?: unknown; p?: unknown; b?: unknown; e?: unknown };
    try {
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as typeof payload;
    } catch {
      throw refuse('tampered', 'it fails the gateway\'s integrity check');
    }
    if (payload.p !== hash(call.principal)) throw refuse('foreign', 'it was minted for another caller');
    if (payload.b !== binding) throw refuse('other_call', 'it was minted for another tool call (the tool or its arguments differ)');
    const round = typeof payload.r === 'string' ? this.rounds.get(payload.r) : undefined;
    if (!round) {
      if (typeof payload.e === 'number' && payload.e <= Date.now()) {
        throw refuse('expired', 'the input round expired: the client did not answer within the call\'s timeout; call the tool again');
      }
      throw refuse(
        'unknown',
        'no input round is pending for it on this gateway instance (it was answered already, or it was opened on another instance: a retry must reach the instance that answered input_required)',
      );
    }
    if (round.principal !== call.principal || round.binding !== binding) throw refuse('foreign', 'it was minted for another caller');
    if (payload.s !== round.seq) throw refuse('stale', 'it is not the latest state of this call (each input_required answer carries a new one)');
    if (round.waiting) throw refuse('busy', 'a retry with this state is being served already');
    return round;
  }

  /** Wait for what comes next: the call's outcome, or requests for the client (an input_required answer). */
  private async serve(round: Round, call: RoundCall): Promise<unknown> {
    round.waiting = true;
    round.capabilities = call.capabilities;
    round.notify = call.notify;
    if (call.progressToken !== undefined) round.progressToken = call.progressToken;
    if (round.expiry) clearTimeout(round.expiry);
    round.expiry = undefined;
    const gone = () => round.wake?.();
    call.signal.addEventListener('abort', gone, { once: true });
    try {
      for (;;) {
        if (round.outcome) {
          this.finish(round);
          if ('error' in round.outcome) throw round.outcome.error;
          return round.outcome.result;
        }
        if (call.signal.aborted) {
          // The client went away while the call ran: cancel it upstream.
          this.expire(round, 'the client closed the request');
          throw new RpcError(REQUEST_TIMEOUT, 'the client closed the request');
        }
        if (round.asks.size > 0 && !round.batch) return this.inputRequired(round);
        await new Promise<void>((resolve) => (round.wake = resolve));
        round.wake = undefined;
      }
    } finally {
      call.signal.removeEventListener('abort', gone);
      round.waiting = false;
      round.notify = undefined;
    }
  }

  /** Answer the waiting request with the round's pending requests and a fresh state. */
  private inputRequired(round: Round): Record<string, unknown> {
    if (!round.registered) {
      const open = this.perPrincipal.get(round.principal) ?? 0;
      if (open >= MAX_ROUNDS_PER_PRINCIPAL) {
        // Too many calls of this principal wait for it already: the upstream hears no.
        for (const [key, ask] of round.asks) {
          round.asks.delete(key);
          ask.resolve({ error: { code: REQUEST_TIMEOUT, message: `the client has ${open} input rounds open already (at most ${MAX_ROUNDS_PER_PRINCIPAL})` } });
        }
        throw new RpcError(INVALID_PARAMS, `too many pending input rounds for this caller (at most ${MAX_ROUNDS_PER_PRINCIPAL}); answer or abandon the others first`);
      }
      this.perPrincipal.set(round.principal, open + 1);
      round.id = randomUUID();
      round.binding = round.bind();
      this.rounds.set(round.id, round);
      round.registered = true;
    }
    round.seq++;
    const expires = Date.now() + round.timeoutMs;
    round.expiry = setTimeout(() => this.expire(round, `the client did not answer within ${round.timeoutMs} ms`), round.timeoutMs);
    round.expiry.unref();
    const payload = Buffer.from(JSON.stringify({ r: round.id, s: round.seq, p: hash(round.principal), b: round.binding, e: expires }), 'utf8').toString('base64url');
    const mac = createHmac('sha256', this.key).update(`${PREFIX}.${payload}`).digest('base64url');
    const inputRequests: Record<string, unknown> = {};
    for (const [key, ask] of round.asks) inputRequests[key] = { method: ask.method, params: ask.params };
    return { resultType: 'input_required', inputRequests, requestState: `${PREFIX}.${payload}.${mac}` };
  }

  /** A request of the upstream during the call: pending until a retry answers it. */
  private ask(round: Round, method: string, params: unknown, signal: AbortSignal): Promise<RelayAnswer> {
    if (!clientDeclared(round.capabilities, method)) {
      return Promise.resolve({ error: { code: -32601, message: `the client did not declare the capability ${method.slice(0, 100)} needs` } });
    }
    if (round.asks.size >= MAX_ASKS) return Promise.resolve({ error: { code: REQUEST_TIMEOUT, message: `too many requests pending with the client (at most ${MAX_ASKS})` } });
    const key = `${method.split('/')[0]}_${++round.nextKey}`;
    return new Promise<RelayAnswer>((resolve) => {
      const onAbort = () => {
        if (round.asks.delete(key)) resolve({ error: { code: REQUEST_TIMEOUT, message: 'the call ended before the client answered' } });
      };
      round.asks.set(key, {
        method,
        params,
        resolve: (answer) => {
          signal.removeEventListener('abort', onAbort);
          resolve(answer);
        },
      });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      // Requests sent together go out together.
      round.batch ??= setTimeout(() => {
        round.batch = undefined;
        round.wake?.();
      }, BATCH_MS);
    });
  }

  /** A notification of the call goes to the request waiting now (progress under its own token). */
  private notify(round: Round, method: string, params: unknown): void {
    const sink = round.notify;
    if (!sink) return;
    if (method === 'notifications/progress') {
      if (round.progressToken === undefined) return;
      sink(method, { ...(params as Record<string, unknown>), progressToken: round.progressToken });
      return;
    }
    sink(method, params);
  }

  private settle(round: Round, outcome: Outcome): void {
    round.outcome = outcome;
    if (round.batch) clearTimeout(round.batch);
    round.batch = undefined;
    round.wake?.();
  }

  /** No retry came in time (or the client left): the upstream hears no and the call is cancelled. */
  private expire(round: Round, why: string): void {
    this.finish(round);
    for (const [key, ask] of round.asks) {
      round.asks.delete(key);
      ask.resolve({ error: { code: REQUEST_TIMEOUT, message: `the gateway's input round expired: ${why}` } });
    }
    round.controller.abort();
  }

  private finish(round: Round): void {
    if (round.expiry) clearTimeout(round.expiry);
    if (round.batch) clearTimeout(round.batch);
    round.expiry = undefined;
    round.batch = undefined;
    if (!round.registered) return;
    round.registered = false;
    this.rounds.delete(round.id);
    const open = (this.perPrincipal.get(round.principal) ?? 1) - 1;
    if (open > 0) this.perPrincipal.set(round.principal, open);
    else this.perPrincipal.delete(round.principal);
  }

  /** Cancel every open round (the gateway stops). */
  close(): void {
    for (const round of [...this.rounds.values()]) this.expire(round, 'the gateway is stopping');
  }
}
