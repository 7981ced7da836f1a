import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, type ErrorCode } from '../errors.js';
import { sendProblem } from './problem.js';

/**
 * Errors Fastify and Node's HTTP parser answer before any route runs (issue 10), in the
 * gateway's problem+json shape instead of Fastify's: a bad percent-encoding or an overlong path
 * parameter (frameworkErrors), oversized headers, a malformed request or a body that never
 * arrives in full (clientErrorHandler, written to the socket since there is no reply object).
 */
export function frameworkErrors(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?', 1)[0]!.slice(0, 300);
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void sendProblem(reply, new GatewayError('BAD_REQUEST', 'a path parameter is longer than 2048 characters', [{ path: '$.path', message: 'is too long' }]), path);
    return;
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    void sendProblem(reply, new GatewayError('BAD_REQUEST', 'the path is not valid percent-encoded UTF-8', [{ path: '$.path', message: 'bad percent-encoding' }]), path);
    return;
  }
  void sendProblem(reply, new GatewayError('BAD_REQUEST', 'the request cannot be routed'), path);
}

export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let code: ErrorCode = 'BAD_REQUEST';
  let status = 400;
  let detail = 'the request is not valid HTTP';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    code = 'REQUEST_TIMEOUT';
    status = 408;
    detail = 'the request (its headers or its body, shorter than its Content-Length?) did not arrive in time';
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    code = 'HEADERS_TOO_LARGE';
    status = 431;
    detail = 'the request headers exceed the limit of 16 KiB';
  } else if (error.code === 'HPE_INVALID_CONTENT_LENGTH' || error.code === 'HPE_UNEXPECTED_CONTENT_LENGTH') {
    detail = 'the Content-Length header is invalid';
  }
  const e = new GatewayError(code, detail);
  const body = JSON.stringify({ type: `urn:mcpgateway:error:${code}`, title: e.title, status, detail, code });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/problem+json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/**
 * A body that stops arriving (shorter than its Content-Length, or a client that stalls) is
 * answered 408 REQUEST_TIMEOUT after `ms` and the connection closed, instead of holding a
 * connection until Node's own check much later.
 */
export function bodyTimeoutHook(ms: number) {
  return function bodyTimeout(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const raw = request.raw;
    const length = raw.headers['content-length'];
    if ((length === undefined || length === '0') && raw.headers['transfer-encoding'] === undefined) return done();
    if (raw.complete) return done();
    const timer = setTimeout(() => {
      if (raw.complete || reply.sent) return;
      reply.header('connection', 'close');
      void sendProblem(reply, new GatewayError('REQUEST_TIMEOUT', `the request body did not arrive within ${ms} ms (is it shorter than its Content-Length?)`), request.url.split('?', 1)[0]);
      reply.raw.once('finish', () => raw.destroy());
    }, ms);
    timer.unref();
    raw.once('end', () => clearTimeout(timer));
    raw.once('close', () => clearTimeout(timer));
    done();
  };
}

/** A NUL in the path is refused alike on every store (PostgreSQL cannot even compare it). */
export function nulPathHook(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const path = request.url.split('?', 1)[0]!;
  if (!/%00/.test(path)) return done();
  void sendProblem(reply, new GatewayError('BAD_REQUEST', 'the path holds a NUL character (%00)', [{ path: '$.path', message: 'holds a NUL character' }]), path.slice(0, 300));
}
