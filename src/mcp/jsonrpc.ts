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

export type RequestId = string | number;

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
  return (typeof id === 'string' && id.length <= 1024) || (typeof id === 'number' && Number.isFinite(id));
}

/** Serialize a success response. */
export function resultResponse(id: RequestId, result: unknown): string {
  if (result instanceof RawResult) return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${result.json}}`;
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

/** Serialize an error response; `id` is null when the request could not be read. */
export function errorResponse(id: RequestId | null, code: number, message: string, data?: unknown): string {
  const error: Record<string, unknown> = { code, message };
  if (data !== undefined) error.data = data;
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/** Serialize a notification. */
export function notification(method: string, params?: unknown): string {
  return JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
}
