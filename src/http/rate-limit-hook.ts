import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry as PromRegistry } from 'prom-client';
import { GatewayError } from '../errors.js';
import type { Bucket, Limiter, Verdict } from '../services/rate-limit.js';
import { ruleFor, type Permission } from './permissions.js';
import { sendProblem } from './problem.js';

/** The JSON-RPC error code of a spent rate limit on the MCP endpoints (server-defined range). */
export const RATE_LIMITED_RPC = -32029;

export interface RateLimits {
  /** Requests per minute per principal, on every authenticated route (0: off). */
  perPrincipal: number;
  /** MCP requests per minute per principal and virtual server (`/mcp` counts as one). */
  perServer: number;
  /** tools/call per minute per principal and tool. */
  perTool: number;
  /**
   * The `rate_limit` fields of the endpoint's virtual server and of the tools a request calls,
   * read from the in-memory catalog (never the database). Absent: only the variables limit.
   */
  objects?: ObjectLimitsLookup;
}

/** One stored object's own limit: its bucket key (stable across served names) and calls per minute. */
export interface ObjectLimit {
  key: string;
  limit: number;
}

/** For an endpoint (`undefined`: /mcp), its server's limit and a look-up of its tools' by served name. */
export interface ObjectLimits {
  server: ObjectLimit | undefined;
  /** Whether any tool of the endpoint has one (else the body of a tools/call need not be read for it). */
  hasToolLimits: boolean;
  /** The limit of the tool a tools/call names, by its served name (a search-mode call_tool: its target). */
  tool(servedName: string, args: unknown): ObjectLimit | undefined;
}

export type ObjectLimitsLookup = (server: string | undefined) => ObjectLimits | undefined | Promise<ObjectLimits | undefined>;

/**
 * The preHandler that applies rate limits after authentication (and after the body is read, so
 * a tools/call names its tool). Over the limit: 429 with Retry-After; on the MCP endpoints the
 * body is a JSON-RPC error carrying `data.retry_after_seconds`.
 */
export function rateLimitHook(limits: RateLimits, limiter: Limiter, metrics?: PromRegistry) {
  const refused = new Counter({
    name: 'mcpgateway_rate_limited_total',
    help: 'requests refused by a rate limit, by the limit that was spent (principal, server, tool)',
    labelNames: ['scope'],
    registers: metrics ? [metrics] : [],
  });
  return function limit(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
    const principal = request.principal;
    if (!principal) return done();
    const rule = ruleFor(request.method, request.routeOptions.url, request.routeOptions.config as { permission?: Permission });
    if (rule.permission === 'public') return done();
    const who = `${principal.method}:${principal.subject}`;
    const mcp = rule.permission === 'mcp';
    const server = (request.params as { server?: string } | undefined)?.server;
    let id: unknown = null;
    const answer = (verdict: Verdict) => {
      if (verdict.waitMs <= 0) return done();
      const seconds = Math.max(1, Math.ceil(verdict.waitMs / 1000));
      refused.inc({ scope: verdict.scope ?? 'principal' });
      reply.header('Retry-After', String(seconds));
      const detail = `rate limit (${verdict.scope ?? 'principal'}) exceeded; try again in ${seconds} s`;
      if (mcp) {
        const rpcId = typeof id === 'string' || typeof id === 'number' ? id : null;
        reply
          .code(429)
          .type('application/json')
          .send(JSON.stringify({ jsonrpc: '2.0', id: rpcId, error: { code: RATE_LIMITED_RPC, message: detail, data: { retry_after_seconds: seconds, limit: verdict.scope ?? 'principal' } } }));
      } else sendProblem(reply, new GatewayError('RATE_LIMITED', detail), request.url.split('?', 1)[0]);
    };
    const check = (objects: ObjectLimits | undefined) => {
      const buckets: Bucket[] = [];
      if (limits.perPrincipal > 0) buckets.push({ key: `p:${who}`, limit: limits.perPrincipal, scope: 'principal' });
      if (mcp) {
        if (limits.perServer > 0) buckets.push({ key: `s:${who}:${server ?? ''}`, limit: limits.perServer, scope: 'server' });
        if (objects?.server) buckets.push({ key: `os:${who}:${objects.server.key}`, limit: objects.server.limit, scope: 'server' });
        const body = request.body;
        // The body is read only when a tool's bucket may apply, or for the id of a refusal.
        if (typeof body === 'string' && (limits.perTool > 0 || objects?.hasToolLimits === true) && body.includes('tools/call')) {
          let messages: unknown;
          try {
            messages = JSON.parse(body);
          } catch {
            messages = undefined; // the route answers the parse error
          }
          const list = Array.isArray(messages) ? messages : [messages];
          if (!Array.isArray(messages)) id = (messages as { id?: unknown } | null)?.id ?? null;
          const tools = new Set<string>();
          const own = new Set<string>();
          for (const m of list) {
            const message = m as { method?: unknown; params?: { name?: unknown; arguments?: unknown } } | null;
            if (message?.method !== 'tools/call' || typeof message.params?.name !== 'string') continue;
            const name = message.params.name.slice(0, 256);
            if (limits.perTool > 0 && !tools.has(name)) {
              tools.add(name);
              buckets.push({ key: `t:${who}:${server ?? ''}:${name}`, limit: limits.perTool, scope: 'tool' });
            }
            const tool = objects?.hasToolLimits ? objects.tool(name, message.params.arguments) : undefined;
            if (tool && !own.has(tool.key)) {
              own.add(tool.key);
              buckets.push({ key: `ot:${who}:${tool.key}`, limit: tool.limit, scope: 'tool' });
            }
          }
        } else if (buckets.length > 0 && typeof body === 'string' && body.length < 10_000) {
          try {
            id = (JSON.parse(body) as { id?: unknown } | null)?.id ?? null;
          } catch {
            id = null;
          }
        }
      }
      if (buckets.length === 0) return done();
      const verdict = limiter.take(buckets);
      if ('then' in verdict) verdict.then(answer, () => done());
      else answer(verdict);
    };
    if (!mcp || !limits.objects) return check(undefined);
    let objects: ReturnType<ObjectLimitsLookup>;
    try {
      objects = limits.objects(server);
    } catch {
      objects = undefined; // an unknown server: the route answers it
    }
    if (objects && 'then' in objects) objects.then(check, () => check(undefined));
    else check(objects);
  };
}
