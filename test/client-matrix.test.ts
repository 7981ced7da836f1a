import { fileURLToPath } from 'node:url';
import * as v2 from '@modelcontextprotocol/client';
import { StdioClientTransport as V2Stdio } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as V1Sse } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport as V1Stdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as V1Http } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { EVERYTHING } from './helpers/upstreams.js';

const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
type Route = 'direct' | 'streamable-http' | 'legacy-sse' | 'stdio-bridge';
interface Session {
  call(name: string, args: Record<string, unknown>, onprogress?: (p: { progress: number }) => void): Promise<{ text: string; isError: boolean }>;
  close(): Promise<void>;
}

const SAMPLED = { role: 'assistant', content: { type: 'text', text: 'sampled-by-client' }, model: 'test-model', stopReason: 'endTurn' };
const ELICITED = { action: 'accept', content: { name: 'Ada Lovelace' } };
const authFetch = (input: string | URL, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...AUTH_HEADERS } });
const summary = (result: unknown) => ({ text: JSON.stringify((result as { content?: unknown }).content), isError: (result as { isError?: boolean }).isError === true });
const failure = (error: unknown) => ({ text: String(error), isError: true });

/**
 * The real SDK clients, 2.x (@modelcontextprotocol/client) and 1.x (@modelcontextprotocol/sdk), each
 * over Streamable HTTP, legacy SSE and the `mcpgateway stdio` bridge to the gateway, and directly to
 * server-everything over stdio: the gateway's answers must equal the direct ones (tool names aside).
 */
function clientFor(sdk: '2.x' | '1.x', gw: TestGateway) {
  return async (route: Route, capable: boolean): Promise<Session> => {
    const bridgeEnv = { PATH: process.env.PATH ?? '', MCPGATEWAY_URL: gw.url, MCPGATEWAY_BASIC_AUTH: `${ADMIN.user}:${ADMIN.password}` };
    const stdio = route === 'direct' ? { command: process.execPath, args: [EVERYTHING, 'stdio'], stderr: 'ignore' as const } : { command: process.execPath, args: [MAIN, 'stdio'], env: bridgeEnv, stderr: 'ignore' as const };
    const capabilities = capable ? { sampling: {}, elicitation: { form: {} } } : {};
    if (sdk === '2.x') {
      const client = new v2.Client({ name: 'matrix', version: '2' }, { capabilities, ...(route === 'legacy-sse' ? { supportedProtocolVersions: ['2024-11-05'] } : {}) });
      if (capable) {
        client.setRequestHandler('sampling/createMessage', async () => SAMPLED as never);
        client.setRequestHandler('elicitation/create', async () => ELICITED as never);
      }
      const transport =
        route === 'streamable-http'
          ? new v2.StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: AUTH_HEADERS } })
          : route === 'legacy-sse'
            ? new v2.SSEClientTransport(new URL(`${gw.url}/sse`), { requestInit: { headers: AUTH_HEADERS }, eventSourceInit: { fetch: authFetch } } as never)
            : new V2Stdio(stdio);
      await client.connect(transport);
      return {
        call: (name, args, onprogress) => client.callTool({ name, arguments: args }, onprogress ? { onprogress } : undefined).then(summary, failure),
        close: () => client.close(),
      };
    }
    const client = new V1Client({ name: 'matrix', version: '1' }, { capabilities });
    if (capable) {
      client.setRequestHandler(CreateMessageRequestSchema, async () => SAMPLED as never);
      client.setRequestHandler(ElicitRequestSchema, async () => ELICITED as never);
    }
    const transport =
      route === 'streamable-http'
        ? new V1Http(new URL(`${gw.url}/mcp`), { requestInit: { headers: AUTH_HEADERS } })
        : route === 'legacy-sse'
          ? new V1Sse(new URL(`${gw.url}/sse`), { requestInit: { headers: AUTH_HEADERS }, eventSourceInit: { fetch: authFetch } } as never)
          : new V1Stdio(stdio);
    await client.connect(transport);
    return {
      call: (name, args, onprogress) => client.callTool({ name, arguments: args }, CallToolResultSchema, onprogress ? { onprogress } : undefined).then(summary, failure),
      close: () => client.close(),
    };
  };
}

describe('client matrix: real SDK clients through every client transport, compared with direct', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!);
    expect((await gw.api('/gateways', { method: 'POST', body: { name: 'evstdio', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] } })).status).toBe(201);
    await waitFor(async () => ((await gw.api('/tools/evstdio__trigger-sampling-request')).status === 200 ? true : undefined), 'conditional tools');
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  describe.each(['2.x', '1.x'] as const)('SDK %s', (sdk) => {
    const open = (route: Route, capable: boolean) => clientFor(sdk, gw)(route, capable);
    /** What the scenarios give, with the gateway's name prefix taken off. */
    const scenarios = async (route: Route) => {
      const name = (tool: string) => (route === 'direct' ? tool : `evstdio__${tool}`);
      const session = await open(route, true);
      try {
        const sampling = await session.call(name('trigger-sampling-request'), { prompt: 'hello', maxTokens: 10 });
        const elicitation = await session.call(name('trigger-elicitation-request'), {});
        const progress: number[][] = [];
        for (let i = 0; i < 3; i++) {
          const seen: number[] = [];
          await session.call(name('trigger-long-running-operation'), { duration: 0.06, steps: 3 }, (p) => seen.push(p.progress));
          progress.push(seen);
        }
        return {
          sampling: { isError: sampling.isError, sampled: sampling.text.includes('sampled-by-client') },
          elicitation: { isError: elicitation.isError, elicited: elicitation.text.includes('Ada Lovelace') },
          progress,
        };
      } finally {
        await session.close();
      }
    };
    let direct: Awaited<ReturnType<typeof scenarios>>;
    beforeAll(async () => {
      direct = await scenarios('direct');
      expect(direct.sampling).toEqual({ isError: false, sampled: true });
    }, 30_000);

    it.each(['streamable-http', 'legacy-sse', 'stdio-bridge'] as const)('over %s: sampling, elicitation and progress as direct', async (route) => {
      const through = await scenarios(route);
      expect({ sampling: through.sampling, elicitation: through.elicitation }).toEqual({ sampling: direct.sampling, elicitation: direct.elicitation });
      // The gateway sends every progress notification, the last one too, before the result. Over a
      // stream shared by progress and result (legacy SSE, stdio — and directly over stdio) the SDK
      // clients themselves may drop the last one when it arrives in the same read as the result: they
      // handle a notification a microtask late and the response at once. So: all of them over
      // Streamable HTTP (a stream per call); elsewhere, in order and at least the first. On a loaded
      // machine the last two can share a read with the result, and the SDK then keeps only one (a
      // list of one was seen in 4 of 14 runs at load 5, through the stdio bridge or direct over
      // stdio): a count here tests the SDK's timing, not the relay. test/relay-transports.test.ts
      // holds the gateway to all of them from every upstream transport.
      if (route === 'streamable-http') {
        expect(through.progress).toEqual([
          [1, 2, 3],
          [1, 2, 3],
          [1, 2, 3],
        ]);
      }
      for (const seen of [...through.progress, ...direct.progress]) {
        expect(seen.length).toBeGreaterThanOrEqual(1);
        expect([1, 2, 3].slice(0, seen.length)).toEqual(seen);
      }
    });

    it.each(['streamable-http', 'legacy-sse', 'stdio-bridge'] as const)('over %s: a client that declares nothing is never asked to sample', async (route) => {
      const session = await open(route, false);
      try {
        const result = await session.call('evstdio__trigger-sampling-request', { prompt: 'hello', maxTokens: 10 });
        // Directly, server-everything does not even offer the tool to such a client; through the gateway the call fails the same way, with the reason.
        expect(result.isError).toBe(true);
        expect(result.text).toMatch(/did not declare/);
      } finally {
        await session.close();
      }
    });
  });
});
