import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, connectClient, startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { alive, DYNAMIC, MEMORY, startEverything, type HttpUpstream } from './helpers/upstreams.js';

type Json = Record<string, unknown>;

// Faults: an upstream killed mid-run, a hanging upstream, a malformed reply, stdio children.
describe('federation faults', () => {
  let gw: TestGateway;
  let http: HttpUpstream;
  let broken: TestHttp;
  let client: Client;

  const json = async (res: Response) => (await res.json()) as Json;
  const rpc = async (name: string, args: Json = {}) => {
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
      signal: AbortSignal.timeout(20_000),
    });
    return json(res);
  };

  beforeAll(async () => {
    http = await startEverything('streamableHttp');
    // A raw upstream that speaks just enough MCP to be discovered, then answers calls with garbage.
    broken = await startHttp((_req, body, res) => {
      const message = JSON.parse(body || '{}') as { id?: number; method?: string; params?: { protocolVersion?: string } };
      if (message.id === undefined) return void res.writeHead(202).end();
      const reply = (result: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
      };
      if (message.method === 'initialize') return reply({ protocolVersion: message.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'broken', version: '0' } });
      if (message.method === 'tools/list') return reply({ tools: [{ name: 'garbage', inputSchema: { type: 'object' } }, { name: 'not_json', inputSchema: { type: 'object' } }] });
      if (message.method === 'ping') return reply({});
      if (message.method === 'tools/call') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(body.includes('not_json') ? 'this is not json {' : JSON.stringify({ jsonrpc: '2.0', id: message.id, result: 'a string, not a result' }));
      }
      reply({});
    });
    gw = await startTestGateway(STORES[0]!, { HEALTH_CHECK_INTERVAL_MS: '200', TOOL_TIMEOUT_MS: '1000' });
    for (const body of [
      { name: 'ev', url: `http://127.0.0.1:${http.port}/mcp` },
      { name: 'broken', url: `${broken.url}/mcp` },
      { name: 'dyn', transport: 'stdio', command: process.execPath, args: [DYNAMIC] },
      { name: 'memory', transport: 'stdio', command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: `${gw.db.url.replace(/^sqlite:/, '')}.memory.jsonl` } },
    ]) {
      expect((await gw.api('/gateways', { method: 'POST', body })).status).toBe(201);
      expect((await gw.api(`/gateways/${body.name}/refresh`, { method: 'POST' })).status).toBe(200);
    }
    client = await connectClient(gw.url, '/mcp', '2025-11-25');
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
    await http?.stop();
    await broken?.close();
  });

  it('answers a hanging upstream with a timeout error', async () => {
    const reply = await rpc('dyn__hang');
    expect(reply.error).toMatchObject({ code: -32001, message: 'gateway "dyn" did not answer tools/call within 1000 ms' });
  });

  it('answers a malformed reply with an error and keeps serving the others', async () => {
    const garbage = await rpc('broken__garbage');
    expect(garbage.error).toMatchObject({ code: -32000, message: expect.stringMatching(/malformed/) });
    const notJson = await rpc('broken__not_json');
    expect(notJson.error).toMatchObject({ code: -32000, message: expect.stringMatching(/gateway "broken"/) });
    expect(JSON.stringify(notJson)).not.toMatch(/at .*\.js:\d+/);
    const echo = await client.callTool({ name: 'dyn__echo', arguments: { text: 'still here' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'dynamic:still here' }]);
  });

  it('fails fast while an upstream is down, flips its health, and recovers when it restarts', async () => {
    expect((await client.callTool({ name: 'ev__echo', arguments: { message: 'before' } })).isError).toBeFalsy();
    const port = http.port;
    await http.stop();
    const failed = await rpc('ev__echo', { message: 'during' });
    expect(failed.error).toMatchObject({ code: -32000, message: expect.stringMatching(/gateway "ev"/) });
    await waitFor(async () => (await json(await gw.api('/gateways/ev'))).reachable === false, 'ev to be marked unreachable');
    const down = await json(await gw.api('/gateways/ev'));
    expect(typeof down.last_error).toBe('string');
    const metrics = await (await gw.api('/metrics')).text();
    expect(metrics).toMatch(/mcpgateway_gateway_reachable\{gateway="ev"\} 0/);

    http = await startEverything('streamableHttp', port);
    await waitFor(async () => (await json(await gw.api('/gateways/ev'))).reachable === true, 'ev to be reachable again');
    const after = await client.callTool({ name: 'ev__echo', arguments: { message: 'after' } });
    expect(JSON.stringify(after.content)).toContain('after');
  });

  it('restarts a stdio child that died', async () => {
    const pid = gw.gateway.federation.pidOf('memory');
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await waitFor(() => {
      const next = gw.gateway.federation.pidOf('memory');
      return next !== null && next !== pid;
    }, 'a new memory child');
    await waitFor(async () => (await json(await gw.api('/gateways/memory'))).reachable === true, 'memory to be reachable again');
    const graph = await client.callTool({ name: 'memory__read_graph', arguments: {} });
    expect(graph.isError).toBeFalsy();
  });

  it('counts calls and errors per tool in /metrics', async () => {
    const text = await (await gw.api('/metrics')).text();
    expect(text).toMatch(/mcpgateway_tool_calls_total\{tool="dyn__echo",gateway="dyn",outcome="ok"\} \d+/);
    expect(text).toMatch(/mcpgateway_tool_call_errors_total\{tool="broken__garbage",gateway="broken"\} \d+/);
    expect(text).toMatch(/mcpgateway_tool_call_duration_seconds_bucket/);
  });

  it('leaves no stdio child behind when the gateway stops', async () => {
    const pids = [gw.gateway.federation.pidOf('dyn'), gw.gateway.federation.pidOf('memory')];
    expect(pids.every((p) => typeof p === 'number' && alive(p))).toBe(true);
    await client.close();
    await gw.close();
    await waitFor(() => pids.every((p) => !alive(p!)), 'stdio children to exit', 10_000);
    gw = undefined as unknown as TestGateway;
    client = undefined as unknown as Client;
  });
});
