import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ADMIN } from './gateway.js';

export const AUTH_HEADERS = { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` };

/** The protocol revisions a client can speak to the gateway, and how to make such a client. */
export const REVISIONS = ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
export type Revision = (typeof REVISIONS)[number];

/** A connected SDK client for one revision: 2024-11-05 over legacy SSE, the rest over Streamable HTTP. */
export async function connectClient(baseUrl: string, path: string, revision: Revision): Promise<Client> {
  const init = { headers: AUTH_HEADERS };
  if (revision === '2024-11-05') {
    const client = new Client({ name: 'test', version: '1' }, { supportedProtocolVersions: ['2024-11-05'] });
    const sse = path.replace(/\/mcp$/, '/sse');
    await client.connect(new SSEClientTransport(new URL(baseUrl + sse), { requestInit: init, eventSourceInit: { fetch: authFetch } } as never));
    return client;
  }
  const options =
    revision === '2026-07-28' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : { supportedProtocolVersions: [revision] };
  const client = new Client({ name: 'test', version: '1' }, options);
  await client.connect(new StreamableHTTPClientTransport(new URL(baseUrl + path), { requestInit: init }));
  return client;
}

function authFetch(input: string | URL, init?: RequestInit): Promise<Response> {
  return fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...AUTH_HEADERS } });
}

/** A small HTTP server started by a test; records requests and answers with a handler. */
export interface TestHttp {
  url: string;
  requests: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string }[];
  close(): Promise<void>;
}

export async function startHttp(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<TestHttp> {
  const requests: TestHttp['requests'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Poll until check() returns a value (bounded). */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
