import { z } from 'zod';
import { KIND_DEFS, KINDS } from '../domain/entities.js';
import { exportDocumentSchema } from '../domain/export-document.js';
import { ERRORS } from '../errors.js';
import { accessPaths } from './access-openapi.js';

/** A kind's schemas as JSON Schema, derived from the zod entities (never written by hand). */
export function kindJsonSchemas(kind: (typeof KINDS)[number]): { write: object; read: object } {
  const def = KIND_DEFS[kind];
  const options = { unrepresentable: 'any', io: 'input' } as const;
  return {
    write: z.toJSONSchema(def.write, options),
    read: z.toJSONSchema(def.read, { ...options, io: 'output' }),
  };
}

const problem = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', enum: Object.keys(ERRORS) },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** The Admin API's OpenAPI 3.1 document. */
export function buildOpenApi(version: string): object {
  const schemas: Record<string, object> = { Problem: problem };
  const paths: Record<string, object> = {};
  for (const kind of KINDS) {
    const def = KIND_DEFS[kind];
    const { write, read } = kindJsonSchemas(kind);
    schemas[def.title] = read;
    schemas[`${def.title}Write`] = write;
    const ref = { $ref: `#/components/schemas/${def.title}` };
    const body = (description: string, mediaType = 'application/json') => ({
      required: true,
      description,
      content: { [mediaType]: { schema: { $ref: `#/components/schemas/${def.title}Write` } } },
    });
    const one = { description: `The ${def.singular}`, content: { 'application/json': { schema: ref } } };
    const idParam = { name: 'id', in: 'path', required: true, description: `id or ${def.keyField}`, schema: { type: 'string' } };
    paths[`/${kind}`] = {
      get: {
        tags: [kind],
        summary: `List ${kind}`,
        parameters: [
          { name: 'tags', in: 'query', description: 'comma list: objects carrying any of them', schema: { type: 'string' } },
          { name: 'filter', in: 'query', description: 'key=value label; repeat to require all', schema: { type: 'string' } },
          { name: 'include_inactive', in: 'query', schema: { type: 'boolean' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000 } },
          { name: 'cursor', in: 'query', description: 'from the X-Next-Cursor header of the previous page', schema: { type: 'string' } },
        ],
        responses: {
          200: {
            description: `The ${kind}, ordered by ${def.keyField}`,
            headers: { 'X-Next-Cursor': { schema: { type: 'string' }, description: 'present when another page follows' } },
            content: { 'application/json': { schema: { type: 'array', items: ref } } },
          },
          400: problemResponse('Bad query'),
        },
      },
      post: {
        tags: [kind],
        summary: `Create a ${def.singular}`,
        requestBody: body(`The new ${def.singular}; server-made fields are ignored, unknown fields rejected`),
        responses: {
          201: one,
          409: problemResponse(`The ${def.keyField} is taken (${def.exists})`),
          422: problemResponse('Invalid fields'),
        },
      },
    };
    paths[`/${kind}/{id}`] = {
      parameters: [idParam],
      get: { tags: [kind], summary: `Get a ${def.singular}`, responses: { 200: one, 404: problemResponse(def.notFound) } },
      put: {
        tags: [kind],
        summary: `Replace a ${def.singular}`,
        requestBody: body('The whole object'),
        responses: { 200: one, 404: problemResponse(def.notFound), 409: problemResponse(def.exists), 422: problemResponse('Invalid fields') },
      },
      patch: {
        tags: [kind],
        summary: `Change a ${def.singular} with a JSON merge patch (RFC 7386)`,
        requestBody: {
          required: true,
          content: {
            'application/merge-patch+json': { schema: { type: 'object' } },
            'application/json': { schema: { type: 'object' } },
          },
        },
        responses: { 200: one, 404: problemResponse(def.notFound), 409: problemResponse(def.exists), 422: problemResponse('Invalid fields') },
      },
      delete: { tags: [kind], summary: `Delete a ${def.singular}`, responses: { 204: { description: 'Deleted' }, 404: problemResponse(def.notFound) } },
    };
  }
  const { $schema: _draft, ...exportDoc } = z.toJSONSchema(exportDocumentSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  schemas.ExportDocument = exportDoc;
  const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
  const exportFilters = [
    { name: 'types', in: 'query', description: 'comma list of kinds (default: all five)', schema: { type: 'string' } },
    { name: 'tags', in: 'query', description: 'comma list: objects carrying any of them', schema: { type: 'string' } },
    { name: 'filter', in: 'query', description: 'key=value label; repeat to require all', schema: { type: 'string' } },
    { name: 'include_inactive', in: 'query', schema: { type: 'boolean' } },
  ];
  paths['/export'] = {
    get: {
      tags: ['configuration'],
      summary: 'The export document (SPEC §5): credentials stay encrypted, keys sorted, objects ordered by name',
      parameters: exportFilters,
      responses: { 200: json({ $ref: '#/components/schemas/ExportDocument' }, 'The export document'), 400: problemResponse('Bad query') },
    },
  };
  paths['/import'] = {
    post: {
      tags: ['configuration'],
      summary: 'Replay an export document (or a ContextForge export) in one transaction',
      parameters: [
        { name: 'dry_run', in: 'query', description: 'plan only; write nothing', schema: { type: 'boolean' } },
        { name: 'conflict', in: 'query', schema: { type: 'string', enum: ['update', 'skip', 'fail', 'rename'], default: 'update' } },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ExportDocument' } } } },
      responses: {
        200: json({ type: 'object', description: 'per kind and per object: created, updated, unchanged, skipped, renamed' }, 'The import report'),
        409: problemResponse('IMPORT_CONFLICT'),
        422: problemResponse('IMPORT_INVALID, IMPORT_VERSION_UNSUPPORTED or IMPORT_SECRET_MISMATCH; nothing was written'),
      },
    },
  };
  paths['/gateways/{id}/refresh'] = {
    parameters: [{ name: 'id', in: 'path', required: true, description: 'id or name', schema: { type: 'string' } }],
    post: {
      tags: ['gateways'],
      summary: "Rediscover an upstream's tools, prompts and resources now",
      responses: {
        200: json({ type: 'object', properties: { gateway: { type: 'string' }, tools: { type: 'integer' }, prompts: { type: 'integer' }, resources: { type: 'integer' }, resource_templates: { type: 'integer' }, collisions: { type: 'array' }, hidden: { type: 'array' } } }, 'What was found'),
        404: problemResponse('GW_NOT_FOUND'),
        502: problemResponse('GW_UNREACHABLE or GW_DISCOVERY_FAILED'),
      },
    },
  };
  // The admin page (issue 13: src/http/ui-routes.ts, ui-plan-routes.ts; docs/admin.md).
  paths['/admin'] = { get: { tags: ['admin page'], summary: 'The admin web page (HTML; signs in by itself)', security: [], responses: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } } } };
  paths['/admin/assets/{id}'] = {
    parameters: [{ name: 'id', in: 'path', required: true, description: 'file name, such as main.js', schema: { type: 'string' } }],
    get: { tags: ['admin page'], summary: "The page's scripts and styles", security: [], responses: { 200: { description: 'The file' }, 404: problemResponse('ROUTE_NOT_FOUND') } },
  };
  const me = json({ type: 'object', properties: { signed_in: { type: 'boolean' }, trial: { type: 'boolean' }, subject: { type: 'string' }, method: { type: 'string' }, role: { type: 'string' }, csrf_token: { type: 'string' } } }, 'Who is signed in, and the CSRF token for writes made with the cookie');
  paths['/admin/session'] = {
    get: { tags: ['admin page'], summary: "The page's session (from its cookie); signed_in false without one", security: [], responses: { 200: me } },
    post: { tags: ['admin page'], summary: 'Exchange the Authorization header for an HttpOnly, SameSite=Strict session cookie', responses: { 200: me, 401: problemResponse('AUTH_REQUIRED or AUTH_INVALID') } },
    delete: { tags: ['admin page'], summary: 'Sign out: the cookie stops working at once (needs X-CSRF-Token)', responses: { 204: { description: 'Signed out' }, 403: problemResponse('CSRF_INVALID') } },
  };
  const planQuery = [
    { name: 'kind', in: 'query', required: true, schema: { type: 'string', enum: ['openapi', 'graphql', 'postman', 'oci-mcp-package'] } },
    { name: 'source_name', in: 'query', schema: { type: 'string' } },
    { name: 'endpoint', in: 'query', description: 'GraphQL endpoint for an SDL or introspection file', schema: { type: 'string' } },
  ];
  paths['/admin/api/import-plan'] = {
    post: {
      tags: ['admin page'],
      summary: 'The import planner\'s plan (drafts, TrustCards) for an uploaded API description, as `mcpgateway import preview` prints it; writes nothing',
      parameters: planQuery,
      requestBody: { required: true, content: { '*/*': { schema: { type: 'string' } } } },
      responses: { 200: json({ type: 'object' }, 'The plan'), 400: problemResponse('BAD_QUERY or BODY_EMPTY'), 422: problemResponse('VALIDATION_FAILED naming the planner code') },
    },
  };
  const drafts = { type: 'object', properties: { id: { type: 'string', description: 'the first 12 hex digits of the plan digest' }, source: { type: 'object' }, plan_digest_sha256: { type: 'string' }, drafts: { type: 'array' }, skipped: { type: 'array' }, activated: { type: 'array' } } };
  paths['/admin/api/import-drafts'] = {
    get: { tags: ['admin page'], summary: 'Every import manifest under IMPORT_DRAFTS_DIR: drafts with verdicts, skipped drafts, what was activated by whom', responses: { 200: json({ type: 'array', items: drafts }, 'The manifests') } },
    post: {
      tags: ['admin page'],
      summary: 'Plan an uploaded API description and write its drafts (enabled: false) and manifest into IMPORT_DRAFTS_DIR/<id>/, as `mcpgateway import apply`; the same plan again answers the drafts already written',
      parameters: planQuery,
      requestBody: { required: true, content: { '*/*': { schema: { type: 'string' } } } },
      responses: { 200: json(drafts, 'Already written (existing: true), with the plan'), 201: json(drafts, 'Written, with the plan'), 400: problemResponse('BAD_QUERY or BODY_EMPTY'), 409: problemResponse('IMPORT_ACTIVATION_REFUSED'), 422: problemResponse('VALIDATION_FAILED naming the planner code') },
    },
  };
  paths['/admin/api/import-drafts/{id}/activate'] = {
    parameters: [{ name: 'id', in: 'path', required: true, description: 'plan id (12 hex digits)', schema: { type: 'string' } }],
    post: {
      tags: ['admin page'],
      summary: 'Approve drafts: `mcpgateway import activate --approve` into the first of CAPABILITY_DIRS, audited with the signed-in subject as actor',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['approve'], properties: { drafts: { type: 'array', items: { type: 'string' } }, approve: { type: 'boolean' }, force: { type: 'boolean' } }, additionalProperties: false } } } },
      responses: { 200: json(drafts, 'Activated (activated_now names them)'), 404: problemResponse('IMPORT_DRAFTS_NOT_FOUND'), 409: problemResponse('IMPORT_ACTIVATION_REFUSED naming the planner code; nothing moved'), 422: problemResponse('VALIDATION_FAILED') },
    },
  };
  paths['/metrics'] = {
    get: { tags: ['operations'], summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } },
  };
  paths['/openapi.json'] = { get: { tags: ['operations'], summary: 'This document', responses: { 200: json({ type: 'object' }, 'OpenAPI 3.1') } } };
  paths['/health'] = { get: { tags: ['operations'], summary: 'Liveness', security: [], responses: { 200: { description: 'The process is up' } } } };
  paths['/ready'] = {
    get: {
      tags: ['operations'],
      summary: 'Readiness: the database answers and the capability files are loaded (503 with `capabilities: {state: "loading", loaded, total}` while they load; the JSON also says how change events travel: redis, redis-disconnected or local; Redis never fails readiness)',
      security: [],
      responses: { 200: { description: 'Ready' }, 503: problemResponse('Not ready') },
    },
  };
  Object.assign(paths, accessPaths());
  return {
    openapi: '3.1.0',
    info: { title: 'MCP Gateway Admin API', version },
    security: [{ basic: [] }, { bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        basic: { type: 'http', scheme: 'basic' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
    },
  };
}
