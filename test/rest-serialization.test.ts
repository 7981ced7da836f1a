import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { capabilityToTool } from '../src/capabilities/convert.js';
import { AuthCipher } from '../src/crypto/auth-value.js';
import { convertOpenApi } from '../src/importers/openapi/convert.js';
import { RestExecutor, type RestTool } from '../src/upstream/rest-executor.js';
import { startHttp, type TestHttp } from './helpers/mcp.js';

// OpenAPI serialization on the wire: @readme/oas-examples' parameters-style.yaml converted by the
// importer, each tool called through the REST executor against a loopback server that records
// the raw request line, headers and body. Expected values: the OpenAPI 3.1 style tables.
const EXAMPLES = 'node_modules/@readme/oas-examples';
// Strings, as the document's schemas declare them (arguments are checked against input_schema before a call).
const ARGS = { primitive: '5', array: ['3', '4', '5'], object: { role: 'admin', firstName: 'Alex' } };

let api: TestHttp;
let executor: RestExecutor;

beforeAll(async () => {
  api = await startHttp((_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  executor = new RestExecutor(new AuthCipher(randomBytes(32).toString('base64url')), { defaultTimeoutMs: 5_000, maxResponseBytes: 1_000_000, env: {} });
});
afterAll(async () => {
  await executor.close();
  await api.close();
});

/** Convert a document, then call one generated tool and return the raw request the server saw. */
async function send(doc: unknown, name: string, args: Record<string, unknown>) {
  const result = convertOpenApi(doc);
  const generated = result.capabilities.find((c) => c.capability.name === name);
  if (!generated) throw new Error(`no tool ${name} among ${result.capabilities.map((c) => c.capability.name).join(', ')}`);
  const tool = capabilityToTool(generated.capability);
  const url = tool.url.replace(/^https?:\/\/[^/]+/, '');
  const before = api.requests.length;
  // Only the arguments the operation declares: the executor refuses undeclared ones (additionalProperties: false).
  const declared = Object.keys((tool.input_schema as { properties?: Record<string, unknown> }).properties ?? {});
  const sent = Object.fromEntries(Object.entries(args).filter(([key]) => declared.includes(key)));
  const out = await executor.call({ ...tool, url: api.url + url } as unknown as RestTool, undefined, sent);
  expect(out.isError, JSON.stringify(out)).toBeFalsy();
  expect(api.requests.length).toBe(before + 1);
  return api.requests.at(-1)!;
}

describe('OpenAPI parameter serialization on the wire (parameters-style.yaml)', () => {
  const doc = parse(readFileSync(`${EXAMPLES}/3.1/yaml/parameters-style.yaml`, 'utf8'));

  // Path: the request path after the operation's own prefix.
  const paths: [string, string, string][] = [
    ['paths_standard', '/anything/path/', '5/3,4,5/role,admin,firstName,Alex'],
    ['paths_simple_non_exploded', '/anything/path/simple/', '5/3,4,5/role,admin,firstName,Alex'],
    ['paths_simple_exploded', '/anything/path/simple/', '5/3,4,5/role=admin,firstName=Alex'],
    ['paths_label_non_exploded', '/anything/path/label/', '.5/.3,4,5/.role,admin,firstName,Alex'],
    ['paths_label_exploded', '/anything/path/label/', '.5/.3.4.5/.role=admin.firstName=Alex'],
    ['paths_matrix_non_exploded', '/anything/path/matrix/', ';primitive=5/;array=3,4,5/;object=role,admin,firstName,Alex'],
    ['paths_matrix_exploded', '/anything/path/matrix/', ';primitive=5/;array=3;array=4;array=5/;role=admin;firstName=Alex'],
  ];
  it.each(paths)('path %s', async (name, prefix, expected) => {
    const request = await send(doc, name, ARGS);
    expect(request.url).toBe(prefix + expected);
  });

  const queries: [string, string][] = [
    ['query_standard', 'primitive=5&array=3&array=4&array=5&role=admin&firstName=Alex'],
    ['query_form_exploded', 'primitive=5&array=3&array=4&array=5&role=admin&firstName=Alex'],
    ['query_form_non_exploded', 'primitive=5&array=3,4,5&object=role,admin,firstName,Alex'],
    ['query_space_delimited_non_exploded', 'array=3%204%205&object=role%20admin%20firstName%20Alex'],
    ['query_pipe_delimited_non_exploded', 'array=3|4|5&object=role|admin|firstName|Alex'],
    ['query_deep_object_non_exploded', 'object[role]=admin&object[firstName]=Alex'],
  ];
  it.each(queries)('query %s', async (name, expected) => {
    const request = await send(doc, name, ARGS);
    expect(request.url.split('?')[1]).toBe(expected);
  });

  const headers: [string, Record<string, string>][] = [
    ['headers_standard', { primitive: '5', array: '3,4,5', object: 'role,admin,firstName,Alex' }],
    ['headers_simple_non_exploded', { primitive: '5', array: '3,4,5', object: 'role,admin,firstName,Alex' }],
    ['headers_simple_exploded', { primitive: '5', array: '3,4,5', object: 'role=admin,firstName=Alex' }],
  ];
  it.each(headers)('header %s', async (name, expected) => {
    const request = await send(doc, name, ARGS);
    for (const [key, value] of Object.entries(expected)) expect(request.headers[key], key).toBe(value);
  });

  const cookies: [string, string][] = [
    ['cookies_standard', 'primitive=5; array=3; array=4; array=5; role=admin; firstName=Alex'],
    ['cookies_form_exploded', 'primitive=5; array=3; array=4; array=5; role=admin; firstName=Alex'],
    ['cookies_form_non_exploded', 'primitive=5; array=3,4,5; object=role,admin,firstName,Alex'],
  ];
  it.each(cookies)('cookie %s', async (name, expected) => {
    const request = await send(doc, name, ARGS);
    expect(request.headers.cookie).toBe(expected);
  });
});

/** A one-operation OpenAPI 3.1 document. */
function oneOperation(operation: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    openapi: '3.1.0',
    info: { title: 'T', version: '1' },
    servers: [{ url: 'https://api.example.com' }],
    paths: { '/things/{id}': { post: { operationId: 'op', ...operation } } },
    ...extra,
  };
}

describe('reserved characters, content-typed parameters, Swagger collectionFormat', () => {
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

  it('escapes reserved characters, unless allowReserved', async () => {
    const doc = oneOperation({
      parameters: [id, { name: 'next', in: 'query', schema: { type: 'string' }, allowReserved: true }, { name: 'q', in: 'query', schema: { type: 'string' } }],
    });
    const request = await send(doc, 'op', { id: 'a/b c', next: '/v1/items?page=2', q: 'a/b,c' });
    expect(request.url).toBe('/things/a%2Fb%20c?q=a%2Fb%2Cc&next=/v1/items?page=2');
  });

  it('sends a content-typed (application/json) query parameter as escaped JSON', async () => {
    const doc = oneOperation({
      parameters: [id, { name: 'filter', in: 'query', content: { 'application/json': { schema: { type: 'object', properties: { a: { type: 'integer' } } } } } }],
    });
    const request = await send(doc, 'op', { id: '1', filter: { a: 1, b: [2] } });
    expect(request.url).toBe(`/things/1?filter=${encodeURIComponent('{"a":1,"b":[2]}')}`);
  });

  it('Swagger 2.0 collectionFormat: csv (the default), ssv, pipes, multi', async () => {
    const doc = {
      swagger: '2.0',
      info: { title: 'T', version: '1' },
      host: 'api.example.com',
      paths: {
        '/things': {
          get: {
            operationId: 'op',
            parameters: [
              { name: 'a', in: 'query', type: 'array', items: { type: 'string' } },
              { name: 'b', in: 'query', type: 'array', items: { type: 'string' }, collectionFormat: 'ssv' },
              { name: 'c', in: 'query', type: 'array', items: { type: 'string' }, collectionFormat: 'pipes' },
              { name: 'd', in: 'query', type: 'array', items: { type: 'string' }, collectionFormat: 'multi' },
              { name: 'e', in: 'header', type: 'array', items: { type: 'string' } },
            ],
          },
        },
      },
    };
    const request = await send(doc, 'op', { a: ['x', 'y'], b: ['x', 'y'], c: ['x', 'y'], d: ['x', 'y'], e: ['x', 'y'] });
    expect(request.url).toBe('/things?a=x,y&b=x%20y&c=x|y&d=x&d=y');
    expect(request.headers.e).toBe('x,y');
  });
});

describe('request bodies by media type', () => {
  it('sends a text/xml body as XML, its root named after the schema', async () => {
    const doc = oneOperation(
      {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'text/xml': { schema: { $ref: '#/components/schemas/Pet' } } } },
      },
      { components: { schemas: { Pet: { type: 'object', properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } } } } } },
    );
    const request = await send(doc, 'op', { id: '1', body: { name: 'Rex & <Co>', tags: ['a', 'b'] } });
    expect(request.headers['content-type']).toBe('text/xml');
    expect(request.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Pet><name>Rex &amp; &lt;Co&gt;</name><tags>a</tags><tags>b</tags></Pet>');
  });

  it('uses xml.name for the root', async () => {
    const doc = oneOperation({
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: { content: { 'application/xml': { schema: { type: 'object', xml: { name: 'order' }, properties: { qty: { type: 'integer' } } } } } },
    });
    expect((await send(doc, 'op', { id: '1', body: { qty: 2 } })).body).toBe('<?xml version="1.0" encoding="UTF-8"?><order><qty>2</qty></order>');
  });

  it('sends a text/plain body raw', async () => {
    const doc = oneOperation({
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: { content: { 'text/plain': { schema: { type: 'string' } } } },
    });
    const request = await send(doc, 'op', { id: '1', body: 'hello "world"' });
    expect(request.headers['content-type']).toBe('text/plain');
    expect(request.body).toBe('hello "world"');
  });
});

describe('servers and security', () => {
  it('prefers an https server over an http one listed first, and a scheme variable that offers https', () => {
    const doc = oneOperation({ parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] }, {
      servers: [{ url: 'http://api.example.com/v1' }, { url: 'https://secure.example.com/v1' }],
    });
    expect(capabilityToTool(convertOpenApi(doc).capabilities[0]!.capability).url).toBe('https://secure.example.com/v1/things/{id}');
    const variables = oneOperation({ parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] }, {
      servers: [{ url: '{scheme}://{region}.example.com', variables: { scheme: { default: 'http', enum: ['http', 'https'] }, region: { default: 'eu' } } }],
    });
    expect(capabilityToTool(convertOpenApi(variables).capabilities[0]!.capability).url).toBe('https://eu.example.com/things/{id}');
  });

  it('sends every scheme of an AND-combined requirement', async () => {
    const doc = oneOperation(
      { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], security: [{ appKey: [], userKey: [] }] },
      { components: { securitySchemes: { appKey: { type: 'apiKey', in: 'header', name: 'X-App-Key' }, userKey: { type: 'apiKey', in: 'query', name: 'user_key' } } } },
    );
    const result = convertOpenApi(doc);
    expect(result.report.warnings.join(' ')).not.toMatch(/only/);
    const tool = capabilityToTool(result.capabilities[0]!.capability);
    expect(tool.auth_also).toEqual([{ type: 'api_key', in: 'query', name: 'user_key', key: 'env:T_USER_KEY' }]);
    const withEnv = new RestExecutor(new AuthCipher(randomBytes(32).toString('base64url')), {
      defaultTimeoutMs: 5_000,
      maxResponseBytes: 1_000_000,
      env: { T_APP_KEY: 'app-secret', T_USER_KEY: 'user-secret' },
    });
    try {
      const out = await withEnv.call({ ...tool, url: `${api.url}/things/{id}` } as unknown as RestTool, undefined, { id: '7' });
      expect(out.isError, JSON.stringify(out)).toBeFalsy();
    } finally {
      await withEnv.close();
    }
    const request = api.requests.at(-1)!;
    expect(request.headers['x-app-key']).toBe('app-secret');
    expect(request.url).toBe('/things/7?user_key=user-secret');
  });

  it('keeps a required authorization header parameter that no security requirement fills', () => {
    const doc = oneOperation({
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'Authorization', in: 'header', required: true, schema: { type: 'string' } },
      ],
    });
    const cap = convertOpenApi(doc).capabilities[0]!.capability;
    expect(cap.providers.primary.config.headers).toEqual({ Authorization: '{Authorization}' });
    expect(cap.schema.input.required).toContain('Authorization');
    // Covered by a bearer scheme: the gateway fills it, so it is not an argument.
    const covered = oneOperation(
      { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, { name: 'Authorization', in: 'header', required: true, schema: { type: 'string' } }], security: [{ t: [] }] },
      { components: { securitySchemes: { t: { type: 'http', scheme: 'bearer' } } } },
    );
    expect(convertOpenApi(covered).capabilities[0]!.capability.providers.primary.config.headers).toEqual({});
  });
});
