import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { fileURLToPath } from 'node:url';
import { CallToolResultSchema, CreateTaskResultSchema, ElicitRequestSchema, TaskStatusNotificationSchema, type Task } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { EVERYTHING, startTaskFixture, TASKS, type HttpUpstream } from './helpers/upstreams.js';

type Json = Record<string, unknown>;
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const authFetch = (input: string | URL, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...AUTH_HEADERS } });

// The 2025-11-25 tasks extension through the gateway: a real SDK 1.x client (declaring tasks) over
// Streamable HTTP, a real SDK 1.x upstream with task tools (test/fixtures/task-upstream.mjs), and
// the same client calling the upstream directly as the reference.
// Over a Streamable HTTP upstream (one upstream session per client session) and a stdio upstream
// (one process shared by every client: the gateway keeps each principal's tasks apart).
for (const transport of ['streamablehttp', 'stdio'] as const) {
  const NAME = transport === 'stdio' ? 'tks' : 'tk';
  const P = `${NAME}__`;
  describe(`the tasks extension is relayed (${transport} upstream)`, () => {
    let upstream: HttpUpstream;
    let gw: TestGateway;
    let other: string;
    const clients: Client[] = [];

    const connect = async (url: string, headers: Record<string, string>, capabilities: Json = { tasks: {} }) => {
      const client = new Client({ name: 'tasks-test', version: '1.0.0' }, { capabilities });
      const statuses: Task[] = [];
      client.setNotificationHandler(TaskStatusNotificationSchema, (n) => void statuses.push(n.params as Task));
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
      clients.push(client);
      return { client, statuses };
    };
    const viaGateway = (headers: Record<string, string> = AUTH_HEADERS, capabilities?: Json) => connect(`${gw.url}/mcp`, headers, capabilities);
    const direct = () => connect(`http://127.0.0.1:${upstream.port}/mcp`, {});
    /** Task ids the gateway handed to the admin principal's clients. */
    const mine = new Set<string>();
    const createTask = async (client: Client, name: string, args: Json) => {
      const created = await client.request({ method: 'tools/call', params: { name, arguments: args, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
      if (name.startsWith(P)) mine.add(created.task.taskId);
      return created;
    };
    const settled = (client: Client, taskId: string) =>
      waitFor(async () => {
        const task = await client.experimental.tasks.getTask(taskId);
        return ['completed', 'failed', 'cancelled'].includes(task.status) ? task : undefined;
      }, `task ${taskId} settled`);

    beforeAll(async () => {
      upstream = await startTaskFixture();
      gw = await startTestGateway(STORES[0]!);
      const gateway = transport === 'stdio' ? { transport, command: process.execPath, args: [TASKS, '--stdio'] } : { transport, url: `http://127.0.0.1:${upstream.port}/mcp` };
      const created = await gw.api('/gateways', { method: 'POST', body: { name: NAME, ...gateway } });
      expect(created.status).toBe(201);
      await waitFor(async () => (await gw.api(`/tools/${P}plain`)).status === 200, 'tk tools discovered');
      const token = await gw.api('/tokens', { method: 'POST', body: { name: 'someone-else', role: 'editor' } });
      other = `Bearer ${((await token.json()) as { token: string }).token}`;
    }, 60_000);
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await gw?.close();
      await upstream?.stop();
    });

    it('advertises tasks as the upstream does, and lists the task-only tool to a client that declared tasks', async () => {
      const { client } = await viaGateway();
      const { client: reference } = await direct();
      expect(client.getServerCapabilities()?.tasks).toEqual(reference.getServerCapabilities()?.tasks);
      const tools = (await client.listTools()).tools;
      expect(tools.find((t) => t.name === `${P}slow_echo`)?.execution).toEqual({ taskSupport: 'required' });
      expect(tools.find((t) => t.name === `${P}hang`)?.execution).toEqual({ taskSupport: 'optional' });
    });

    it('hides the task-only tool from a client that declared nothing about tasks, with the reason in the discovery report', async () => {
      const { client } = await viaGateway(AUTH_HEADERS, {});
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain(`${P}plain`);
      expect(names).toContain(`${P}hang`);
      expect(names).not.toContain(`${P}slow_echo`);
      await expect(client.callTool({ name: `${P}slow_echo`, arguments: { text: 'x' } })).rejects.toThrow(/unknown tool/);
      const report = (await (await gw.api(`/gateways/${NAME}/refresh`, { method: 'POST' })).json()) as Json;
      expect(report.hidden).toEqual([{ original_name: 'slow_echo', reason: expect.stringMatching(/clients that declare the tasks capability/) }]);
    });

    it("keeps the task-only tool out of search mode's results for a client that declared nothing about tasks", async () => {
      const server = await gw.api('/servers', { method: 'POST', body: { name: `${NAME}-search`, tools: [`${P}*`], tool_exposure: 'search' } });
      expect(server.status).toBe(201);
      const found = async (capabilities: Json) => {
        const { client } = await connect(`${gw.url}/servers/${NAME}-search/mcp`, AUTH_HEADERS, capabilities);
        const result = (await client.callTool({ name: 'gateway_find_tools', arguments: { query: 'echoes after a while, works until cancelled, answers at once', limit: 20 } })) as unknown as { structuredContent: { tools: { name: string }[] } };
        return result.structuredContent.tools.map((t) => t.name);
      };
      expect(await found({ tasks: {} })).toContain(`${P}slow_echo`);
      const without = await found({});
      expect(without).not.toContain(`${P}slow_echo`);
      expect(without).toContain(`${P}hang`); // the search itself still answers, task-optional tools included
    });

    it('creates a task, polls it to completion and gets the same result as the upstream gives directly', async () => {
      const { client, statuses } = await viaGateway();
      const { client: reference, statuses: referenceStatuses } = await direct();
      const created = await createTask(client, `${P}slow_echo`, { text: 'hello', ms: 200 });
      const expected = await createTask(reference, 'slow_echo', { text: 'hello', ms: 200 });
      expect(Object.keys(created.task).sort()).toEqual(Object.keys(expected.task).sort());
      expect({ ...created.task, taskId: 'x', createdAt: 'x', lastUpdatedAt: 'x' }).toEqual({ ...expected.task, taskId: 'x', createdAt: 'x', lastUpdatedAt: 'x' });
      expect(created.task.taskId).not.toBe(expected.task.taskId);
      expect((await settled(client, created.task.taskId)).status).toBe('completed');
      await settled(reference, expected.task.taskId);
      const result = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
      const want = await reference.experimental.tasks.getTaskResult(expected.task.taskId, CallToolResultSchema);
      expect(result.content).toEqual(want.content);
      expect(result.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect(result._meta?.['io.modelcontextprotocol/related-task']).toEqual({ taskId: created.task.taskId });
      // Status notifications reach the client session that created the task, under its task id.
      await waitFor(() => statuses.some((s) => s.status === 'completed'), 'completed status notification');
      await waitFor(() => referenceStatuses.some((s) => s.status === 'completed'), 'completed status notification (direct)');
      expect(statuses.map((s) => [s.status, s.statusMessage ?? null])).toEqual(referenceStatuses.map((s) => [s.status, s.statusMessage ?? null]));
      expect(new Set(statuses.map((s) => s.taskId))).toEqual(new Set([created.task.taskId]));
    });

    it('cancels a task upstream', async () => {
      const { client } = await viaGateway();
      const { client: reference } = await direct();
      const created = await createTask(client, `${P}hang`, {});
      const expected = await createTask(reference, 'hang', {});
      const cancelled = await client.experimental.tasks.cancelTask(created.task.taskId);
      const want = await reference.experimental.tasks.cancelTask(expected.task.taskId);
      expect(cancelled.taskId).toBe(created.task.taskId);
      expect([cancelled.status, cancelled.statusMessage]).toEqual([want.status, want.statusMessage]);
      expect((await client.experimental.tasks.getTask(created.task.taskId)).status).toBe('cancelled');
    });

    it("lists the principal's tasks, from every one of its sessions, under the gateway's ids", async () => {
      const { client } = await viaGateway();
      const a = await createTask(client, `${P}hang`, {});
      const b = await createTask(client, `${P}slow_echo`, { text: 'b', ms: 50 });
      const { tasks } = await client.experimental.tasks.listTasks();
      const ids = tasks.map((t) => t.taskId);
      expect(ids).toEqual(expect.arrayContaining([a.task.taskId, b.task.taskId]));
      expect(ids.filter((id) => !mine.has(id))).toEqual([]);
      expect(mine.size).toBeGreaterThan(2); // earlier tests' sessions are listed too
      expect(new Set(ids)).toEqual(mine);
      await client.experimental.tasks.cancelTask(a.task.taskId);
    });

    it('relays a task-augmented call of a task-optional tool for a client that declared nothing about tasks', async () => {
      const { client } = await viaGateway(AUTH_HEADERS, {});
      const created = await createTask(client, `${P}hang`, {});
      expect(created.task.status).toBe('working');
      expect((await client.experimental.tasks.cancelTask(created.task.taskId)).status).toBe('cancelled');
    });

    it("answers another principal's task id as not found, and lists it none of them", async () => {
      const { client } = await viaGateway();
      const created = await createTask(client, `${P}hang`, {});
      const { client: stranger } = await viaGateway({ authorization: other });
      await expect(stranger.experimental.tasks.getTask(created.task.taskId)).rejects.toThrow(/not found/i);
      await expect(stranger.experimental.tasks.cancelTask(created.task.taskId)).rejects.toThrow(/not found/i);
      await expect(stranger.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema)).rejects.toThrow(/not found/i);
      expect((await stranger.experimental.tasks.listTasks()).tasks).toEqual([]);
      expect((await client.experimental.tasks.getTask(created.task.taskId)).status).toBe('working');
      await client.experimental.tasks.cancelTask(created.task.taskId);
    });

    it(transport === 'stdio' ? 'keeps a task reachable after its client session ends (the upstream process is shared)' : 'forgets a task whose client session, and with it its upstream session, ended', async () => {
      const { client } = await viaGateway();
      const created = await createTask(client, `${P}hang`, {});
      await (client.transport as StreamableHTTPClientTransport).terminateSession();
      const { client: again } = await viaGateway();
      await again.listTools();
      const open = gw.gateway.federation.sessionsOf(NAME);
      if (transport === 'stdio') {
        expect((await again.experimental.tasks.getTask(created.task.taskId)).status).toBe('working');
        await again.experimental.tasks.cancelTask(created.task.taskId);
      } else {
        await expect(again.experimental.tasks.getTask(created.task.taskId)).rejects.toThrow(/not found/i);
        // No upstream session is reopened for the ended client session.
        expect(gw.gateway.federation.sessionsOf(NAME)).toBe(open);
      }
    });

    it('answers an unknown task id as the upstream does (-32602)', async () => {
      const { client } = await viaGateway();
      const { client: reference } = await direct();
      const code = (p: Promise<unknown>) => p.then(() => undefined, (e: { code?: number }) => e.code);
      expect(await code(client.experimental.tasks.getTask('no-such-task'))).toBe(await code(reference.experimental.tasks.getTask('no-such-task')));
    });
  });
}

// The same task round through the other client transports: legacy SSE and the `mcpgateway stdio` bridge.
describe('the tasks extension is relayed to legacy SSE and stdio-bridge clients', () => {
  let upstream: HttpUpstream;
  let gw: TestGateway;
  const clients: Client[] = [];
  beforeAll(async () => {
    upstream = await startTaskFixture();
    gw = await startTestGateway(STORES[0]!);
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'tk', transport: 'streamablehttp', url: `http://127.0.0.1:${upstream.port}/mcp` } })).status).toBe(201);
    await waitFor(async () => (await gw.api('/tools/tk__plain')).status === 200, 'tk tools discovered');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await gw?.close();
    await upstream?.stop();
  });

  const transports: Record<string, () => Transport> = {
    'legacy SSE': () => new SSEClientTransport(new URL(`${gw.url}/sse`), { requestInit: { headers: AUTH_HEADERS }, eventSourceInit: { fetch: authFetch } } as never),
    'the stdio bridge': () =>
      new StdioClientTransport({
        command: process.execPath,
        args: [MAIN, 'stdio'],
        env: { PATH: process.env.PATH ?? '', MCPGATEWAY_URL: gw.url, MCPGATEWAY_BASIC_AUTH: `${ADMIN.user}:${ADMIN.password}` },
        stderr: 'ignore',
      }),
  };
  for (const [route, make] of Object.entries(transports)) {
    it(`over ${route}: create, poll, result and status notifications`, async () => {
      const client = new Client({ name: 'tasks-test', version: '1.0.0' }, { capabilities: { tasks: {} } });
      const statuses: Task[] = [];
      client.setNotificationHandler(TaskStatusNotificationSchema, (n) => void statuses.push(n.params as Task));
      await client.connect(make());
      clients.push(client);
      expect(client.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('tk__slow_echo');
      const created = await client.request({ method: 'tools/call', params: { name: 'tk__slow_echo', arguments: { text: route, ms: 100 }, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
      await waitFor(async () => (await client.experimental.tasks.getTask(created.task.taskId)).status === 'completed', 'completed');
      const result = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
      expect(result.content).toEqual([{ type: 'text', text: `echo: ${route}` }]);
      await waitFor(() => statuses.some((s) => s.status === 'completed' && s.taskId === created.task.taskId), 'completed status notification');
      expect(statuses.map((s) => [s.status, s.statusMessage ?? null])).toEqual([['working', 'halfway'], ['completed', 'halfway']]); // as the upstream says it directly (the message stays)
    });
  }
});

// server-everything's own task tool (simulate-research-query, task-only), federated over stdio,
// against the same server spawned directly.
describe("server-everything's task tool through the gateway", () => {
  let gw: TestGateway;
  const clients: Client[] = [];
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!);
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'ev', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] } })).status).toBe(201);
    await waitFor(async () => (await gw.api('/tools/ev__simulate-research-query')).status === 200, 'ev tools discovered');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await gw?.close();
  });

  it('runs simulate-research-query as a task with the same statuses and result as directly', async () => {
    const run = async (transport: Transport, name: string) => {
      const client = new Client({ name: 'tasks-test', version: '1.0.0' }, { capabilities: { tasks: {} } });
      await client.connect(transport);
      clients.push(client);
      const created = await client.request({ method: 'tools/call', params: { name, arguments: { topic: 'relays' }, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
      const task = await waitFor(async () => {
        const t = await client.experimental.tasks.getTask(created.task.taskId);
        return t.status === 'completed' ? t : undefined;
      }, `${name} completed`, 20_000);
      const result = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
      return { capability: client.getServerCapabilities()?.tasks, status: created.task.status, final: [task.status, task.statusMessage], content: result.content };
    };
    const [through, direct] = await Promise.all([
      run(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: AUTH_HEADERS } }), 'ev__simulate-research-query'),
      run(new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'], stderr: 'ignore' }), 'simulate-research-query'),
    ]);
    expect(through).toEqual(direct);
  }, 30_000);

  it("relays the upstream's elicitation for a task waiting in input_required to the client that created it", async () => {
    const run = async (transport: Transport, name: string) => {
      const client = new Client({ name: 'tasks-test', version: '1.0.0' }, { capabilities: { tasks: {}, elicitation: {} } });
      const asked: unknown[] = [];
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        asked.push(request.params._meta?.['io.modelcontextprotocol/related-task']);
        return { action: 'accept', content: { interpretation: 'the snake' } };
      });
      await client.connect(transport);
      clients.push(client);
      const created = await client.request({ method: 'tools/call', params: { name, arguments: { topic: 'python', ambiguous: true }, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
      // tasks/result waits for the task; the upstream's question is asked meanwhile.
      const result = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema, { timeout: 20_000 });
      expect(asked).toEqual([{ taskId: created.task.taskId }]);
      return result.content;
    };
    const [through, direct] = await Promise.all([
      run(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: AUTH_HEADERS } }), 'ev__simulate-research-query'),
      run(new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'], stderr: 'ignore' }), 'simulate-research-query'),
    ]);
    expect(JSON.stringify(through)).toContain('the snake');
    expect(through).toEqual(direct);
  }, 30_000);
});
