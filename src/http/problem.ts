import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, type ErrorCode, type FieldError } from '../errors.js';
import { isStoreUnavailable } from '../store/store.js';

/** An RFC 9457 problem document as the gateway sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  errors?: FieldError[];
}

/** Render a coded error as problem+json. */
export function sendProblem(reply: FastifyReply, error: GatewayError, instance?: string): FastifyReply {
  const body: Problem = {
    type: `urn:mcpgateway:error:${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
  };
  if (instance) body.instance = instance;
  if (error.errors) body.errors = error.errors;
  return reply.code(error.status).type('application/problem+json').send(body);
}

// Fastify's own client errors, by code, and what we call them.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BODY_EMPTY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BODY_NOT_JSON',
};

// Database and network failures that mean "try again later", not "bug".
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', 'SQLITE_BUSY', 'SQLITE_LOCKED']);

/** Map anything thrown while handling a request to a coded error; unknown faults are logged. */
export function toGatewayError(error: unknown, request: FastifyRequest): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = error as Partial<FastifyError> & { code?: string };
  if (e.code && FASTIFY_CODES[e.code]) {
    const code = FASTIFY_CODES[e.code]!;
    return new GatewayError(code, code === 'BODY_TOO_LARGE' ? `the body exceeds the limit of ${request.routeOptions.bodyLimit ?? 'the configured'} bytes` : describe(e));
  }
  if (e instanceof SyntaxError || (e.statusCode === 400 && /JSON/i.test(e.message ?? ''))) {
    return new GatewayError('BODY_NOT_JSON', `the body is not valid JSON: ${e.message ?? 'parse error'}`);
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new GatewayError(e.statusCode === 404 ? 'ROUTE_NOT_FOUND' : 'BAD_REQUEST', describe(e));
  }
  // PostgreSQL refuses what SQLite stores: NUL in text (22021, 22P05). A client's value, not a fault.
  if (e.code === '22021' || e.code === '22P05') {
    return new GatewayError('BAD_REQUEST', 'a value holds a character the database cannot store (NUL, U+0000)');
  }
  if ((e.code && UNAVAILABLE.has(e.code)) || isStoreUnavailable(error)) {
    request.log.warn({ code: e.code }, 'database or network unavailable');
    return new GatewayError('STORE_UNAVAILABLE', 'the database is unavailable; try again shortly');
  }
  request.log.error({ err: error }, 'unexpected error');
  return new GatewayError('INTERNAL', `an unexpected error occurred; the server log has details under request id ${request.id}`);
}

function describe(e: Partial<FastifyError>): string {
  return (e.message ?? 'bad request').replace(/^FST_\w+:\s*/, '');
}
