import { describe, expect, it } from 'vitest';
import { capabilityToTool } from '../../capabilities/convert.js';
import { convertOpenApi, type ConvertOptions } from './convert.js';
import { snakeCase } from './names.js';

type Json = Record<string, unknown>;

const oas = (paths: Json, extra: Json = {}): Json => ({
  openapi: '3.0.3',
  info: { title: 'Test API', version: '1' },
  servers: [{ url: 'https://api.example.com/v2' }],
  paths,
  ...extra,
});

const ok = { '200': { description: 'ok' } };

function one(doc: Json, options: ConvertOptions = {}) {
  const result = convertOpenApi(doc, options);
  expect(result.report.skipped).toEqual([]);
  expect(result.capabilities).toHaveLength(1);
  return result.capabilities[0]!.capability;
}

function names(doc: Json, options: ConvertOptions = {}): string[] {
  return convertOpenApi(doc, options).capabilities.map((c) => c.capability.name);
}

describe('names', () => {
  it.each([
    ['getUserById', 'get_user_by_id'],
    ['repos/get-content', 'repos_get_content'],
    ['HTTPServerList', 'http_server_list'],
    ['list.v2.Items', 'list_v2_items'],
  ])('operationId %s becomes %s', (id, name) => {
    expect(snakeCase(id)).toBe(name);
  });

  it('falls back to the method and path without an operationId', () => {
    expect(names(oas({ '/users/{id}/keys': { get: { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: ok } } }))).toEqual([
      'get_users_id_keys',
    ]);
  });

  it('puts the prefix in front', () => {
    expect(names(oas({ '/a': { get: { operationId: 'listCharges', responses: ok } } }), { prefix: 'stripe' })).toEqual(['stripe_list_charges']);
  });

  it('cuts long names to 64 characters with a deterministic hash suffix', () => {
    const id = 'aVeryLongOperationIdentifierThatGoesOnAndOnForMoreThanSixtyFourCharactersInTotal';
    const [first] = names(oas({ '/a': { get: { operationId: id, responses: ok } } }));
    expect(first!.length).toBeLessThanOrEqual(64);
    expect(first).toMatch(/^a_very_long_operation_identifier.*_[0-9a-f]{8}$/);
    expect(names(oas({ '/a': { get: { operationId: id, responses: ok } } }))).toEqual([first]);
  });

  it('never gives two operations the same name, even when ids clash after cleaning', () => {
    const doc = oas({
      '/a': { get: { operationId: 'getThing', responses: ok }, post: { operationId: 'get-thing', responses: ok } },
      '/b': { get: { operationId: 'get_thing', responses: ok } },
    });
    const list = names(doc);
    expect(new Set(list.map((n) => n.toLowerCase())).size).toBe(3);
    expect(list[0]).toBe('get_thing');
    expect(names(doc)).toEqual(list);
  });
});

describe('parameters and bodies', () => {
  const doc = oas({
    '/repos/{owner}/{repo}': {
      parameters: [
        { name: 'owner', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'repo', in: 'path', required: true, schema: { type: 'string' } },
      ],
      post: {
        operationId: 'update',
        parameters: [
          { name: 'repo', in: 'path', required: true, description: 'operation-level wins', schema: { type: 'string' } },
          { name: 'owner', in: 'query', schema: { type: 'string' } },
          { name: '$top', in: 'query', schema: { type: 'integer', default: 10 } },
          { name: 'X-Trace', in: 'header', required: true, schema: { type: 'string', format: 'uuid' } },
          { name: 'Accept', in: 'header', schema: { type: 'string' } },
          { name: 'sid', in: 'cookie', schema: { type: 'string' } },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { body: { type: 'string' } } } } } },
        responses: ok,
      },
    },
  });

  it('places each parameter explicitly and disambiguates a name used twice', () => {
    const cap = one(doc);
    const config = cap.providers.primary.config;
    expect(config.base_url).toBe('https://api.example.com');
    expect(config.path).toBe('/v2/repos/{owner}/{repo}');
    expect(config.params).toEqual({ owner: '{query_owner}', $top: '{top}' });
    expect(config.headers).toEqual({ 'X-Trace': '{X-Trace}' });
    expect(config.cookies).toEqual({ sid: '{sid}' });
    expect(config.body).toBe('{body}');
    const input = cap.schema.input as { properties: Json; required: string[] };
    expect(Object.keys(input.properties)).toEqual(['owner', 'repo', 'query_owner', 'top', 'X-Trace', 'sid', 'body']);
    expect(input.required).toEqual(['owner', 'repo', 'X-Trace', 'body']);
    expect(input.properties.repo).toEqual({ type: 'string', description: 'operation-level wins' });
    expect(input.properties.top).toEqual({ type: 'integer', default: 10 });
  });

  it('recognises form and multipart bodies and sends anything else raw', () => {
    const body = (type: string) =>
      one(oas({ '/x': { post: { operationId: 'x', requestBody: { content: { [type]: { schema: { type: 'object', properties: { a: { type: 'string' } } } } } }, responses: ok } } }))
        .providers.primary.config.body_content_type;
    expect(body('application/x-www-form-urlencoded')).toBe('application/x-www-form-urlencoded');
    expect(body('multipart/form-data')).toBe('multipart/form-data');
    expect(body('application/octet-stream')).toBe('application/octet-stream');
    expect(body('application/json')).toBeUndefined();
  });

  it('keeps allOf, oneOf, enums, defaults and formats, with every input an object schema', () => {
    const cap = one(
      oas(
        { '/pets': { post: { operationId: 'addPet', requestBody: { content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Cat' }, { $ref: '#/components/schemas/Dog' }] } } } }, responses: ok } } },
        {
          components: {
            schemas: {
              Pet: { type: 'object', properties: { born: { type: 'string', format: 'date' }, kind: { type: 'string', enum: ['cat', 'dog'], default: 'cat' } } },
              Cat: { allOf: [{ $ref: '#/components/schemas/Pet' }, { type: 'object', properties: { lives: { type: 'integer', nullable: true } } }] },
              Dog: { allOf: [{ $ref: '#/components/schemas/Pet' }] },
              Unused: { type: 'string' },
            },
          },
        },
      ),
    );
    const input = cap.schema.input as Json & { properties: Json; $defs: Json };
    expect(input.type).toBe('object');
    expect(input.properties.body).toEqual({ oneOf: [{ $ref: '#/$defs/Cat' }, { $ref: '#/$defs/Dog' }] });
    expect(Object.keys(input.$defs)).toEqual(['Cat', 'Dog', 'Pet']);
    expect(input.$defs.Pet).toEqual({ type: 'object', properties: { born: { type: 'string', format: 'date' }, kind: { type: 'string', enum: ['cat', 'dog'], default: 'cat' } } });
    expect((input.$defs.Cat as { allOf: Json[] }).allOf[1]).toEqual({ type: 'object', properties: { lives: { type: ['integer', 'null'] } } });
  });

  it('keeps recursive schemas recursive through $defs', () => {
    const cap = one(
      oas(
        { '/tree': { get: { operationId: 'tree', responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } } } } } },
        { components: { schemas: { Node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } } } } },
      ),
    );
    expect(cap.schema.output).toEqual({
      $ref: '#/$defs/Node',
      type: 'object',
      $defs: { Node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/Node' } } } } },
    });
  });

  it('wraps a non-object 2xx response as {result}', () => {
    const cap = one(oas({ '/n': { get: { operationId: 'n', responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { type: 'string' } } } } } } } } }));
    expect(cap.schema.output).toEqual({ type: 'object', properties: { result: { type: 'array', items: { type: 'string' } } }, required: ['result'] });
  });
});

describe('Swagger 2.0', () => {
  const swagger = {
    swagger: '2.0',
    info: { title: 'Old API', version: '1' },
    host: 'old.example.com',
    basePath: '/api',
    schemes: ['http', 'https'],
    definitions: { Thing: { type: 'object', properties: { id: { type: 'integer', minimum: 0, exclusiveMinimum: true } } } },
    paths: {
      '/things': {
        post: { operationId: 'addThing', parameters: [{ name: 'thing', in: 'body', required: true, schema: { $ref: '#/definitions/Thing' } }], responses: { '200': { description: 'ok', schema: { $ref: '#/definitions/Thing' } } } },
      },
      '/upload': {
        post: {
          operationId: 'upload',
          consumes: ['multipart/form-data'],
          parameters: [
            { name: 'file', in: 'formData', type: 'file', required: true },
            { name: 'note', in: 'formData', type: 'string' },
          ],
          responses: ok,
        },
      },
    },
  };

  it('uses host, basePath and https, definitions, in: body and formData', () => {
    const [thing, upload] = convertOpenApi(swagger).capabilities.map((c) => c.capability);
    expect(thing!.providers.primary.config).toMatchObject({ base_url: 'https://old.example.com', path: '/api/things', body: '{body}' });
    expect(thing!.schema.input).toMatchObject({ properties: { body: { $ref: '#/$defs/Thing' } }, required: ['body'] });
    expect((thing!.schema.input as { $defs: Json }).$defs.Thing).toEqual({ type: 'object', properties: { id: { type: 'integer', exclusiveMinimum: 0 } } });
    expect(upload!.providers.primary.config.body_content_type).toBe('multipart/form-data');
    expect(upload!.schema.input).toMatchObject({
      properties: { body: { type: 'object', properties: { file: { type: 'string', format: 'binary' }, note: { type: 'string' } }, required: ['file'] } },
    });
  });
});

describe('servers', () => {
  it('fills server variables with their defaults and honours path-level servers', () => {
    const doc = oas(
      {
        '/a': { get: { operationId: 'a', responses: ok } },
        '/b': { servers: [{ url: 'https://other.example.com' }], get: { operationId: 'b', responses: ok } },
      },
      { servers: [{ url: 'https://{region}.example.com:{port}/base/', variables: { region: { default: 'eu' }, port: { default: '8443' } } }] },
    );
    const [a, b] = convertOpenApi(doc).capabilities.map((c) => c.capability.providers.primary.config);
    expect([a!.base_url, a!.path]).toEqual(['https://eu.example.com:8443', '/base/a']);
    expect([b!.base_url, b!.path]).toEqual(['https://other.example.com', '/b']);
  });
});

describe('auth', () => {
  const schemes = {
    components: {
      securitySchemes: {
        token: { type: 'http', scheme: 'bearer' },
        basic: { type: 'http', scheme: 'basic' },
        header: { type: 'apiKey', in: 'header', name: 'X-Key' },
        query: { type: 'apiKey', in: 'query', name: 'key' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'k' },
        cc: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: 'https://auth.example.com/token', scopes: {} } } },
      },
    },
    security: [{ token: [] }],
  };
  const auth = (security: unknown, options: ConvertOptions = {}) =>
    one(oas({ '/a': { get: { operationId: 'a', ...(security === undefined ? {} : { security }), responses: ok } } }, schemes), options).auth;

  it('takes the document security when the operation has none', () => {
    expect(auth(undefined)).toEqual({ required: true, type: 'bearer', key: 'env:TEST_API_TOKEN' });
  });
  it('security: [] means none', () => {
    expect(auth([])).toEqual({ required: false });
  });
  it.each([
    ['basic', { type: 'basic', username: 'env:TEST_API_BASIC_USERNAME', password: 'env:TEST_API_BASIC_PASSWORD' }],
    ['header', { type: 'api_key', in: 'header', name: 'X-Key', key: 'env:TEST_API_HEADER' }],
    ['query', { type: 'api_key', in: 'query', name: 'key', key: 'env:TEST_API_QUERY' }],
    ['cookie', { type: 'api_key', in: 'cookie', name: 'k', key: 'env:TEST_API_COOKIE' }],
    ['cc', { type: 'oauth2', flow: 'client_credentials', token_url: 'https://auth.example.com/token', client_id: 'env:TEST_API_CC_CLIENT_ID', client_secret: 'env:TEST_API_CC_CLIENT_SECRET', scopes: [] }],
  ])('maps the %s scheme to an environment reference', (scheme, expected) => {
    expect(auth([{ [scheme]: [] }])).toEqual({ required: true, ...expected });
  });
  it('--auth-key replaces the generated variable name', () => {
    expect(auth([{ header: [] }], { authKey: 'env:MY_KEY' })).toEqual({ required: true, type: 'api_key', in: 'header', name: 'X-Key', key: 'env:MY_KEY' });
  });
});

describe('text and annotations', () => {
  it('cleans HTML out of descriptions and caps them', () => {
    const cap = one(oas({ '/a': { get: { operationId: 'a', summary: 'Get <b>A</b>', description: `<p>Line &amp; more</p><script>x()</script>${'z'.repeat(5000)}`, responses: ok } } }));
    expect(cap.title).toBe('Get A');
    expect(cap.description.startsWith('Get A\n\nLine & more\nzzz')).toBe(true);
    expect(cap.description.length).toBeLessThanOrEqual(2000);
    expect(cap.description).not.toMatch(/<|x\(\)/);
  });

  it.each([
    ['get', { readOnlyHint: true, destructiveHint: false, idempotentHint: true }],
    ['post', { readOnlyHint: false, destructiveHint: false, idempotentHint: false }],
    ['put', { readOnlyHint: false, destructiveHint: true, idempotentHint: true }],
    ['delete', { readOnlyHint: false, destructiveHint: true, idempotentHint: true }],
  ])('%s operations get their MCP annotations', (method, hints) => {
    const cap = one(oas({ '/a': { [method]: { operationId: 'a', responses: ok } } }));
    expect(cap.annotations).toMatchObject(hints);
    expect(cap.metadata?.read_only).toBe(method === 'get');
  });
});

describe('filters and report', () => {
  const doc = oas({
    '/a': { get: { operationId: 'listA', tags: ['a'], responses: ok }, delete: { operationId: 'deleteA', tags: ['a', 'admin'], responses: ok } },
    '/b': { get: { operationId: 'listB', tags: ['b'], responses: ok }, trace: { operationId: 'traceB', responses: ok } },
  });

  it('filters by tags, operation glob and read-only, reporting each skip with its reason', () => {
    expect(names(doc, { includeTags: ['a'] })).toEqual(['list_a', 'delete_a']);
    expect(names(doc, { excludeTags: ['admin'] })).toEqual(['list_a', 'list_b']);
    expect(names(doc, { operations: ['list*'] })).toEqual(['list_a', 'list_b']);
    expect(names(doc, { readOnly: true })).toEqual(['list_a', 'list_b']);
    const report = convertOpenApi(doc, { readOnly: true }).report;
    expect(report.operations_found).toBe(4);
    expect(report.skipped).toEqual([
      { operation: 'DELETE /a', kind: 'filtered', reason: 'not read-only (--read-only)' },
      { operation: 'TRACE /b', kind: 'unsupported', reason: 'TRACE is not a method tools may use' },
    ]);
  });

  it('is deterministic: the same document gives the same capabilities', () => {
    expect(JSON.stringify(convertOpenApi(doc))).toBe(JSON.stringify(convertOpenApi(structuredClone(doc))));
  });

  it('reports an operation it cannot convert instead of failing the import', () => {
    const bad = oas({ '/a': { get: { operationId: 'a', parameters: [{ $ref: '#/components/parameters/missing' }], responses: ok } }, '/b': { get: { operationId: 'b', responses: ok } } });
    const result = convertOpenApi(bad);
    expect(result.capabilities.map((c) => c.capability.name)).toEqual(['b']);
    expect(result.report.skipped).toEqual([{ operation: 'GET /a', kind: 'failed', reason: expect.stringMatching(/points at nothing/) }]);
  });

  it('refuses a document that is not OpenAPI or Swagger', () => {
    expect(() => convertOpenApi({ asyncapi: '2.0.0' })).toThrow(/neither "openapi" nor "swagger"/);
    expect(() => convertOpenApi({ openapi: '4.0.0', paths: {} })).toThrow(/not supported/);
  });

  it('every generated capability becomes a valid REST tool', () => {
    for (const c of convertOpenApi(doc).capabilities) expect(capabilityToTool(c.capability).url).toMatch(/^https:\/\/api\.example\.com\/v2\//);
  });
});
