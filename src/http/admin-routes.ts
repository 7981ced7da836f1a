import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KIND_DEFS, KINDS, type Kind } from '../domain/entities.js';
import { GatewayError } from '../errors.js';
import type { ListOptions, Registry } from '../services/registry.js';

type Query = Record<string, string | string[] | undefined>;
type Params = { id: string };

/** CRUD routes for the five kinds (SPEC §4). */
export function registerAdminRoutes(app: FastifyInstance, registry: Registry): void {
  for (const kind of KINDS) {
    const base = `/${kind}`;
    const item = `/${kind}/:id`;

    app.get(base, async (request, reply) => {
      const page = await registry.list(kind, listOptions(request.query as Query));
      if (page.nextCursor) reply.header('X-Next-Cursor', page.nextCursor);
      return page.items;
    });
    app.post(base, async (request, reply) => {
      const { object } = await registry.create(kind, request.body);
      reply.code(201).header('Location', `${base}/${String(object.id)}`);
      return object;
    });
    app.get(item, async (request) => registry.get(kind, itemId(request, kind)));
    app.put(item, async (request) => (await registry.replace(kind, itemId(request, kind), request.body)).object);
    app.patch(item, async (request) => (await registry.patch(kind, itemId(request, kind), request.body)).object);
    app.delete(item, async (request, reply) => {
      await registry.delete(kind, itemId(request, kind));
      return reply.code(204).send();
    });
  }
}

function itemId(request: FastifyRequest, kind: Kind): string {
  const id = (request.params as Params).id;
  if (!id) throw new GatewayError(KIND_DEFS[kind].notFound, `no ${KIND_DEFS[kind].singular} named ""`);
  return id;
}

/** Parse the list query: tags, filter, include_inactive, limit, cursor. */
export function listOptions(query: Query): ListOptions {
  const options: ListOptions = {};
  const tags = splitList(query.tags);
  if (tags.length > 0) options.tags = tags;
  const filters = all(query.filter);
  if (filters.length > 0) {
    for (const f of filters) {
      if (!/^[^=\s]+=[^\s]*$/.test(f)) throw new GatewayError('BAD_QUERY', `filter "${f}" must look like key=value`);
    }
    options.filters = filters;
  }
  const inactive = one(query.include_inactive, 'include_inactive');
  if (inactive !== undefined) options.includeInactive = parseFlag(inactive, 'include_inactive');
  const limit = one(query.limit, 'limit');
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 10_000) {
      throw new GatewayError('BAD_QUERY', `limit must be a whole number from 1 to 10000, not "${limit}"`);
    }
    options.limit = Number(limit);
  }
  const cursor = one(query.cursor, 'cursor');
  if (cursor !== undefined && cursor !== '') options.cursor = cursor;
  return options;
}

function all(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function splitList(value: string | string[] | undefined): string[] {
  return all(value)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

function one(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw new GatewayError('BAD_QUERY', `${name} may be given once`);
  return value;
}

export function parseFlag(value: string, name: string): boolean {
  if (value === 'true' || value === '1' || value === '') return true;
  if (value === 'false' || value === '0') return false;
  throw new GatewayError('BAD_QUERY', `${name} must be true or false, not "${value}"`);
}
