import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { planSource } from '../src/importers/planner/preview.js';
import type { ImportKind } from '../src/importers/planner/types.js';
import { ADMIN, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

// Property-based fuzzing of the surfaces test/fuzz.test.ts does not cover: the import planner's
// four source formats, and JSON-RPC on every MCP entry point (a virtual server's /mcp, 2026-07-28
// requests with their _meta and headers, legacy SSE /message, the stdio bridge). Bounded in count
// and time; fast-check prints the seed and the shrunk case on failure (FUZZ_SEED=<seed> replays).
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const params = { numRuns: RUNS, interruptAfterTimeLimit: 20_000, seed };
console.log(`fuzz seed ${seed} (FUZZ_SEED=${seed} to replay), ${RUNS} runs per property`);

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const jsonValue = fc.jsonValue({ maxDepth: 5 });
const word = fc.constantFrom('id', 'user', 'items', 'a', 'b', 'x-y', '{id}', '', ' ', 'ünï', '$ref', '__proto__', 'constructor');
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, jsonValue);

// Documents shaped like each format, with wrong types, dangling and cyclic $refs mixed in.
const ref = fc.constantFrom('#/components/schemas/A', '#/components/schemas/B', '#/components/schemas/missing', '#/definitions/A', 'other.yaml#/x', '#', '#/');
const schema: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.record({ $ref: ref }),
    fc.record({ type: maybe(fc.constantFrom('string', 'integer', 'number', 'boolean', 'array', 'object', 'null')), format: fc.constantFrom('int64', 'date-time', 'binary', 'x') }, { requiredKeys: [] }),
    fc.record({ type: fc.constant('object'), properties: fc.dictionary(word, tie('node'), { maxKeys: 3 }), required: maybe(fc.array(word, { maxLength: 3 })), additionalProperties: maybe(fc.boolean()) }, { requiredKeys: [] }),
    fc.record({ type: fc.constant('array'), items: tie('node') }, { requiredKeys: [] }),
    fc.record({ oneOf: fc.array(tie('node'), { maxLength: 3 }), allOf: fc.array(tie('node'), { maxLength: 2 }) }, { requiredKeys: [] }),
    jsonValue,
  ),
})).node;
const parameter = fc.record(
  {
    name: maybe(word),
    in: maybe(fc.constantFrom('query', 'path', 'header', 'cookie', 'body', 'formData')),
    required: maybe(fc.boolean()),
    style: fc.constantFrom('form', 'simple', 'deepObject', 'pipeDelimited', 'spaceDelimited', 'matrix', 'label', 'x'),
    explode: maybe(fc.boolean()),
    schema,
    content: fc.dictionary(fc.constantFrom('application/json', 'text/plain', '*/*'), fc.record({ schema }), { maxKeys: 2 }),
  },
  { requiredKeys: [] },
);
const operation = fc.record(
  {
    operationId: maybe(word),
    summary: maybe(fc.string({ maxLength: 40 })),
    parameters: maybe(fc.array(fc.oneof(parameter, fc.record({ $ref: fc.constantFrom('#/components/parameters/P', '#/components/parameters/none') })), { maxLength: 4 })),
    requestBody: maybe(fc.record({ required: fc.boolean(), content: fc.dictionary(fc.constantFrom('application/json', 'application/xml', 'multipart/form-data', 'application/x-www-form-urlencoded'), fc.record({ schema }), { maxKeys: 2 }) }, { requiredKeys: [] })),
    responses: maybe(fc.dictionary(fc.constantFrom('200', '201', 'default', '4XX', 'x'), fc.record({ description: fc.string(), content: fc.dictionary(fc.constant('application/json'), fc.record({ schema }), { maxKeys: 1 }) }, { requiredKeys: [] }), { maxKeys: 2 })),
    security: maybe(fc.array(fc.dictionary(fc.constantFrom('key', 'oauth', 'basic', 'nope'), fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }), { maxKeys: 2 }), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const openapi = fc.record(
  {
    openapi: fc.oneof(fc.constantFrom('3.0.3', '3.1.0', '3.1.1', '2.0', '4.0.0'), jsonValue),
    swagger: fc.constantFrom('2.0', '1.2'),
    info: maybe(fc.record({ title: maybe(fc.string({ maxLength: 20 })), version: maybe(fc.string({ maxLength: 8 })) })),
    servers: maybe(fc.array(fc.record({ url: maybe(fc.constantFrom('https://api.example.test/v1', '/rel', '{scheme}://{host}', 'ftp://x', '')), variables: jsonValue }, { requiredKeys: [] }), { maxLength: 2 })),
    paths: maybe(fc.dictionary(fc.constantFrom('/', '/users/{id}', '/items', '/a/{b}/{c}', 'no-slash', '/{id}/{id}', '/x y'), fc.dictionary(fc.constantFrom('get', 'post', 'delete', 'put', 'patch', 'parameters', 'trace', 'x-ext'), maybe(operation), { maxKeys: 3 }), { maxKeys: 3 })),
    components: maybe(fc.record({ schemas: fc.dictionary(fc.constantFrom('A', 'B', 'C'), schema, { maxKeys: 3 }), parameters: fc.dictionary(fc.constantFrom('P'), parameter, { maxKeys: 1 }), securitySchemes: jsonValue }, { requiredKeys: [] })),
    definitions: jsonValue,
  },
  { requiredKeys: [] },
);
const sdlPiece = fc.constantFrom(
  'type Query { a: Int, user(id: ID!): User }',
  'type User { id: ID!, name: String, friends(first: Int): [User!]! }',
  'type Mutation { userDelete(id: ID!): Boolean, cartLinesRemove(ids: [ID!]!): Int }',
  'input Filter { and: [Filter!], name: String }',
  'enum Color { RED GREEN }',
  'scalar DateTime',
  'union Thing = User | Missing',
  'schema { query: Query mutation: Mutation }',
  'type Query {',
  '}}}',
  'directive @x on FIELD',
  'extend type Query { b: Nope }',
  'interface Node { id: ID! }',
  '"""unterminated',
  '# comment',
);
const graphql = fc.oneof(
  fc.array(sdlPiece, { maxLength: 6 }).map((parts) => parts.join('\n')),
  fc.string({ maxLength: 200 }),
  fc.record({ data: fc.record({ __schema: fc.record({ queryType: maybe(fc.record({ name: fc.constantFrom('Query', 'Nope') })), types: maybe(fc.array(jsonValue, { maxLength: 3 })) }, { requiredKeys: [] }) }, { requiredKeys: [] }) }).map((v) => JSON.stringify(v)),
);
const postmanItem: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  item: fc.record(
    {
      name: maybe(fc.string({ maxLength: 20 })),
      request: fc.oneof(
        fc.constantFrom('https://api.example.test/x', '{{base}}/users/:id', 'not a url'),
        fc.record(
          {
            method: maybe(fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH', 'get', 'BREW')),
            url: fc.oneof(fc.constantFrom('{{base}}/users/:id?x=1', 'https://h/p'), fc.record({ raw: maybe(fc.string({ maxLength: 30 })), host: maybe(fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 })), path: maybe(fc.array(fc.constantFrom(':id', 'users', '{{v}}'), { maxLength: 3 })), query: maybe(fc.array(fc.record({ key: maybe(word), value: maybe(fc.string({ maxLength: 8 })) }, { requiredKeys: [] }), { maxLength: 2 })) }, { requiredKeys: [] })),
            header: maybe(fc.array(fc.record({ key: maybe(fc.constantFrom('Authorization', 'X-Api-Key', 'accept')), value: maybe(fc.string({ maxLength: 10 })) }, { requiredKeys: [] }), { maxLength: 2 })),
            body: maybe(fc.record({ mode: maybe(fc.constantFrom('raw', 'urlencoded', 'formdata', 'graphql', 'file')), raw: maybe(fc.string({ maxLength: 30 })) }, { requiredKeys: [] })),
            auth: jsonValue,
          },
          { requiredKeys: [] },
        ),
        jsonValue,
      ),
      item: fc.array(tie('item'), { maxLength: 2 }),
    },
    { requiredKeys: [] },
  ),
})).item;
const postman = fc.record(
  { info: maybe(fc.record({ name: maybe(fc.string({ maxLength: 20 })), schema: fc.constantFrom('https://schema.getpostman.com/json/collection/v2.1.0/collection.json', 'x') }, { requiredKeys: [] })), item: maybe(fc.array(postmanItem, { maxLength: 3 })), variable: jsonValue, auth: jsonValue },
  { requiredKeys: [] },
);
const serverJson = fc.record(
  {
    $schema: fc.constant('https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json'),
    name: maybe(fc.constantFrom('io.github.example/weather', 'bad name', '')),
    version: maybe(fc.constantFrom('1.0.0', 'latest', '')),
    description: maybe(fc.string({ maxLength: 30 })),
    packages: maybe(
      fc.array(
        fc.record(
          {
            registryType: maybe(fc.constantFrom('npm', 'pypi', 'oci', 'nuget', 'mcpb', 'cargo')),
            identifier: maybe(fc.constantFrom('@example/weather', 'ghcr.io/x/y:1', '')),
            version: maybe(fc.string({ maxLength: 8 })),
            transport: maybe(fc.record({ type: maybe(fc.constantFrom('stdio', 'streamable-http', 'sse', 'x')), url: maybe(fc.string({ maxLength: 20 })) }, { requiredKeys: [] })),
            runtimeArguments: maybe(fc.array(jsonValue, { maxLength: 2 })),
            packageArguments: maybe(fc.array(fc.record({ type: maybe(fc.constantFrom('positional', 'named')), name: maybe(word), value: maybe(fc.string({ maxLength: 8 })), isRequired: maybe(fc.boolean()), isSecret: maybe(fc.boolean()) }, { requiredKeys: [] }), { maxLength: 2 })),
            environmentVariables: maybe(fc.array(fc.record({ name: maybe(fc.constantFrom('API_KEY', '', 'lower')), isSecret: maybe(fc.boolean()), isRequired: maybe(fc.boolean()) }, { requiredKeys: [] }), { maxLength: 2 })),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
    remotes: maybe(fc.array(fc.record({ type: maybe(fc.constantFrom('streamable-http', 'sse')), url: maybe(fc.constantFrom('https://mcp.example.test/mcp', 'nope')) }, { requiredKeys: [] }), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);

/** Within `ms`, or a failure naming what hung. */
function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<T>((_r, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

describe('fuzzing the import planner (OpenAPI, Swagger, GraphQL, Postman, server.json)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcpgw-fuzz-import-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Plan one document: a plan, or a coded GatewayError with a message (never a TypeError, a stack overflow or a hang). */
  const planned = async (kind: ImportKind, text: string, extension: string) => {
    const file = join(dir, `doc.${extension}`);
    writeFileSync(file, text);
    try {
      const plan = await bounded(planSource({ kind, file, sourceName: 'fuzz' }), 10_000, `planning a fuzzed ${kind} document`);
      expect(Array.isArray(plan.drafts)).toBe(true);
      for (const draft of plan.drafts) expect(typeof draft.name).toBe('string');
    } catch (error) {
      if (!(error instanceof GatewayError)) throw new Error(`a fuzzed ${kind} document raised an uncoded ${(error as Error)?.name}: ${(error as Error)?.message}\n--- document ---\n${text.slice(0, 2000)}`);
      expect(error.code).toMatch(/^[A-Z_]+$/);
      expect(error.message.length).toBeGreaterThan(0);
      expect(error.message).not.toMatch(/\n\s+at /); // no stack trace in what the user reads
    }
  };

  it('OpenAPI and Swagger documents: a plan or a coded error, never a crash or a hang', async () => {
    await fc.assert(
      fc.asyncProperty(openapi, fc.boolean(), async (doc, yaml) => {
        const text = JSON.stringify(doc);
        // JSON is valid YAML: the .yaml path goes through the YAML parser on the same document.
        await planned('openapi', text, yaml ? 'yaml' : 'json');
      }),
      params,
    );
  }, 90_000);

  it('GraphQL SDL and introspection: a plan or a coded error', async () => {
    await fc.assert(fc.asyncProperty(graphql, async (text) => planned('graphql', text, text.startsWith('{') ? 'json' : 'graphql')), params);
  }, 90_000);

  it('Postman collections: a plan or a coded error', async () => {
    await fc.assert(fc.asyncProperty(postman, async (doc) => planned('postman', JSON.stringify(doc), 'json')), params);
  }, 90_000);

  it('MCP server.json package metadata: a plan or a coded error', async () => {
    await fc.assert(fc.asyncProperty(serverJson, async (doc) => planned('oci-mcp-package', JSON.stringify(doc), 'json')), params);
  }, 90_000);
});

// JSON-RPC messages with wrong types, unknown methods, odd ids, batches and 2026-07-28 _meta.
const method = fc.constantFrom('initialize', 'ping', 'tools/list', 'tools/call', 'prompts/list', 'prompts/get', 'resources/read', 'resources/templates/list', 'server/discover', 'subscriptions/listen', 'logging/setLevel', 'completion/complete', 'nope', 'notifications/initialized', 'notifications/cancelled');
const meta = fc.record(
  {
    'io.modelcontextprotocol/protocolVersion': maybe(fc.constantFrom('2026-07-28', '2025-11-25', 'v999.0.0', '2099-01-01', '')),
    'io.modelcontextprotocol/clientCapabilities': maybe(fc.record({ sampling: jsonValue, elicitation: jsonValue }, { requiredKeys: [] })),
    'io.modelcontextprotocol/clientInfo': jsonValue,
    'io.modelcontextprotocol/logLevel': maybe(fc.constantFrom('debug', 'error', 'loud')),
    traceparent: maybe(fc.constantFrom('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'garbage')),
  },
  { requiredKeys: [] },
);
const message = fc.oneof(
  fc.record(
    {
      jsonrpc: fc.oneof(fc.constant('2.0'), jsonValue),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), fc.double(), jsonValue),
      method: fc.oneof(method, jsonValue),
      params: fc.oneof(jsonValue, fc.record({ name: fc.oneof(fc.constant('echo'), fc.string({ maxLength: 10 })), arguments: jsonValue, uri: fc.string({ maxLength: 20 }), _meta: maybe(meta) }, { requiredKeys: [] })),
    },
    { requiredKeys: [] },
  ),
  jsonValue,
);
const payload = fc.oneof(message, fc.array(message, { maxLength: 4 }));
const modernHeaders = fc.record(
  { 'mcp-protocol-version': fc.constantFrom('2026-07-28', '2025-11-25', 'v999', ''), 'mcp-method': fc.oneof(method, fc.string({ maxLength: 10 })), 'mcp-name': fc.constantFrom('echo', 'other', '') },
  { requiredKeys: [] },
);

/** A legacy SSE session: the stream's text so far, and the /message URL it announced. */
async function openLegacy(base: string, path: string) {
  const abort = new AbortController();
  const res = await fetch(`${base}${path}`, { headers: { ...AUTH_HEADERS, accept: 'text/event-stream' }, signal: abort.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const state = { text: '', closed: false };
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        state.text += decoder.decode(value, { stream: true });
      }
    } catch {
      // aborted at the end of the test
    }
    state.closed = true;
  })();
  const deadline = Date.now() + 5000;
  while (!/event: endpoint\ndata: (\S+)/.test(state.text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const endpoint = /event: endpoint\ndata: (\S+)/.exec(state.text)![1]!;
  return { state, url: new URL(endpoint, base).toString(), close: () => abort.abort() };
}

describe('fuzzing JSON-RPC on every MCP entry point', () => {
  let gw: TestGateway;
  let server: string;
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '3600000' });
    expect((await gw.api('/tools', { method: 'POST', body: { name: 'echo', url: 'http://127.0.0.1:9/x', input_schema: { type: 'object', properties: { text: { type: 'string' } } } } })).status).toBe(201);
    const created = await gw.api('/servers', { method: 'POST', body: { name: 'desk', tools: ['echo'] } });
    expect(created.status).toBe(201);
    server = ((await created.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await gw?.close();
  });

  const answersJson = async (res: Response) => {
    expect(res.status).toBeLessThan(500);
    const text = await res.text();
    if (text !== '' && !text.startsWith('event:')) JSON.parse(text);
  };

  it("a virtual server's /mcp, with 2025 and 2026-07-28 headers: never 5xx, always JSON", async () => {
    await fc.assert(
      fc.asyncProperty(payload, fc.option(modernHeaders, { nil: undefined }), async (m, headers) => {
        const res = await fetch(`${gw.url}/servers/${server}/mcp`, { method: 'POST', headers: { ...AUTH_HEADERS, ...(headers ?? {}), 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(m) });
        await answersJson(res);
      }),
      params,
    );
  }, 60_000);

  it('legacy SSE /message: never 5xx; the session keeps answering afterwards', async () => {
    for (const path of ['/sse', `/servers/${server}/sse`]) {
      const session = await openLegacy(gw.url, path);
      try {
        await fc.assert(
          fc.asyncProperty(payload, async (m) => {
            const res = await fetch(session.url, { method: 'POST', headers: { ...AUTH_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify(m) });
            expect(res.status).toBeLessThan(500);
            await res.text();
          }),
          params,
        );
        // The stream survived everything above: a well-formed request is still answered on it.
        const probe = await fetch(session.url, { method: 'POST', headers: { ...AUTH_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 'probe-after-fuzz', method: 'tools/list' }) });
        expect(probe.status).toBeLessThan(300);
        const deadline = Date.now() + 5000;
        while (!session.state.text.includes('"probe-after-fuzz"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(session.state.closed).toBe(false);
        expect(session.state.text).toContain('"probe-after-fuzz"');
      } finally {
        session.close();
      }
    }
  }, 120_000);

  it('the stdio bridge: every fuzzed line is answered with JSON or nothing, and the bridge keeps serving', async () => {
    const lines = await fc.sample(fc.oneof(payload.map((m) => JSON.stringify(m)), fc.string({ maxLength: 60 }).filter((s) => !s.includes('\n'))), { numRuns: RUNS, seed });
    const child = spawn(process.execPath, [MAIN, 'stdio', '--server', 'desk'], {
      env: { PATH: process.env.PATH ?? '', MCPGATEWAY_URL: gw.url, MCPGATEWAY_BASIC_AUTH: `${ADMIN.user}:${ADMIN.password}` },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    let exited: number | null | undefined;
    child.once('exit', (code) => (exited = code));
    try {
      for (const line of lines) child.stdin.write(`${line}\n`);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 'probe-after-fuzz', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } })}\n`);
      const deadline = Date.now() + 20_000;
      while (!stdout.includes('"probe-after-fuzz"') && exited === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(exited, `the bridge exited: ${stderr.slice(-2000)}`).toBeUndefined();
      expect(stdout).toContain('"probe-after-fuzz"');
      const answers = stdout.split('\n').filter((l) => l.trim() !== '');
      for (const out of answers) JSON.parse(out);
      console.log(`stdio bridge: ${lines.length} fuzzed lines, ${answers.length} answers`);
      expect(answers.length).toBeGreaterThan(lines.length / 2); // garbage lines get parse errors, not silence
      expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
});
