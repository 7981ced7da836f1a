/** JSON-RPC 2.0 wire helpers for the MCP endpoints: error codes and response encoding. */

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** Server-defined range: the upstream is unreachable, timed out or answered badly. */
export const UPSTREAM_FAILURE = -32000;
export const REQUEST_TIMEOUT = -32001;
export const RESOURCE_NOT_FOUND = -32002;

/**
 * A number id that JSON.parse cannot give back as the client wrote it (past 2^53, an exponent,
 * `1.0`, `-0`): its token text, echoed verbatim in the reply (issue 10: ids preserved as sent).
 * `value` is what JSON.parse made of it, so a cancellation naming the id still finds the call.
 */
export class RawId {
  constructor(
    readonly text: string,
    readonly value: number,
  ) {}

  toString(): string {
    return this.text;
  }
}

export type RequestId = string | number | RawId;

/** A JSON-RPC error raised by a handler; `message` goes on the wire, so it must hold no secret. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** A result that is already serialized JSON (cached list pages). */
export class RawResult {
  constructor(readonly json: string) {}
}

/** A parsed JSON-RPC message, only as far as routing needs. */
export interface RpcMessage {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export function isValidId(id: unknown): id is RequestId {
  return (typeof id === 'string' && id.length <= 1024) || (typeof id === 'number' && Number.isFinite(id)) || id instanceof RawId;
}

/** The key a request id is tracked by (a RawId by its parsed value, as a cancellation names it), or undefined. */
export function idKey(id: unknown): string | number | undefined {
  if (id instanceof RawId) return id.value;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** Serialize a success response. */
export function resultResponse(id: RequestId, result: unknown): string {
  if (result instanceof RawResult) return `{"jsonrpc":"2.0","id":${idJson(id)},"result":${result.json}}`;
  if (id instanceof RawId) return withRawId(id, JSON.stringify({ jsonrpc: '2.0', id: 0, result }));
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

/** Serialize an error response; `id` is null when the request could not be read. */
export function errorResponse(id: RequestId | null, code: number, message: string, data?: unknown): string {
  const error: Record<string, unknown> = { code, message };
  if (data !== undefined) error.data = data;
  if (id instanceof RawId) return withRawId(id, JSON.stringify({ jsonrpc: '2.0', id: 0, error }));
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/** An id as JSON text: a RawId as the client wrote it. */
function idJson(id: RequestId): string {
  return id instanceof RawId ? id.text : JSON.stringify(id);
}

const ZERO_ID = '{"jsonrpc":"2.0","id":0';

/** A response serialized with id 0 (the keys keep their order), the id then put back as sent. */
function withRawId(id: RawId, json: string): string {
  return `{"jsonrpc":"2.0","id":${id.text}${json.slice(ZERO_ID.length)}`;
}

/**
 * JSON.parse for a JSON-RPC message or batch, keeping each message's number id as sent: JSON.parse
 * turns 12345678901234567890123 into 1.2345678901234568e+22 and 1e3 into 1000, so where the token
 * differs from what the number prints as, the message's id becomes a RawId of the token.
 */
export function parseMessage(text: string): unknown {
  const value = JSON.parse(text) as unknown;
  const messages = Array.isArray(value) ? value : [value];
  if (!messages.some((m) => typeof (m as RpcMessage | null)?.id === 'number')) return value;
  const tokens = idTokens(text, Array.isArray(value));
  messages.forEach((m: unknown, index) => {
    const message = m as RpcMessage | null;
    const token = tokens[index];
    if (typeof message?.id === 'number' && token !== undefined && token !== JSON.stringify(message.id) && Number(token) === message.id) {
      message.id = new RawId(token, message.id);
    }
  });
  return value;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isNumberChar = (c: number) => (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69;

/**
 * The number token after each message's `"id":` key in valid JSON text (one message, or each
 * element of a batch), by one linear scan: only keys of the messages themselves count, not of
 * objects nested in them; a later duplicate key wins, as in JSON.parse.
 */
function idTokens(text: string, batch: boolean): (string | undefined)[] {
  const tokens: (string | undefined)[] = [];
  const level = batch ? 2 : 1;
  let depth = 0;
  let element = 0;
  let inMessage = false; // the current container at `level` is an object (a message)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const start = i;
      i = closingQuote(text, i);
      if (i < 0) break;
      if (depth !== level || !inMessage) continue;
      let j = i + 1;
      while (isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== 58) continue; // a value, not a key
      const key = text.slice(start, i + 1);
      if (key !== '"id"' && !(key.includes('\\') && JSON.parse(key) === 'id')) continue;
      for (j++; isSpace(text.charCodeAt(j)); j++);
      let k = j;
      while (k < text.length && isNumberChar(text.charCodeAt(k))) k++;
      tokens[element] = k > j ? text.slice(j, k) : undefined;
      // One message whose text holds no later "id" key (not even an escaped one): done.
      if (!batch && text.indexOf('"id"', k) < 0 && text.indexOf('\\', k) < 0) break;
      i = k - 1;
    } else if (c === 123 || c === 91) {
      if (++depth === level) inMessage = c === 123;
    } else if (c === 125 || c === 93) {
      depth--;
    } else if (c === 44 && batch && depth === 1) {
      element++;
    }
  }
  return tokens;
}

/** Serialize a notification. */
export function notification(method: string, params?: unknown): string {
  return JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
}

/** The index of the quote closing the string opened at `open` (found natively, escapes skipped), or -1. */
function closingQuote(text: string, open: number): number {
  let end = text.indexOf('"', open + 1);
  while (end > 0) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  return -1;
}
