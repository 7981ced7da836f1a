import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardHeaders } from '../src/protocol/revision-2026.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';
import { stopChild } from './helpers/upstreams.js';

// MAX_RESPONSE_BYTES on the 2026-07-28 paths (issue 10): a 2026-07-28 caller's request is relayed
// to a 2026-07-28 upstream as its own stateless request (Streamable HTTP: one POST; stdio: a second
// process of the command), and those replies are bounded like the 2025 ones.

const FAULT = fileURLToPath(new URL('./fixtures/fault-upstream.mjs', import.meta.url));
const MAX = 60_000;
const V = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' } };

type Reply = { result?: { content?: { text?: string }[] }; error?: { code: number; message: string } };

async function startFaultHttp(args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [FAULT, 'http', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const m = /ready (\d+)/.exec(String(chunk));
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the fault upstream exited with ${code}`)));
  });
  return { port, child };
}

describe('MAX_RESPONSE_BYTES on 2026-07-28 upstream replies', () => {
  let gw: TestGateway;
  const upstreams: ChildProcess[] = [];

  /** One 2026-07-28 tools/call through the gateway's /mcp, as raw JSON-RPC. */
  async function call(name: string, args: Record<string, unknown> = {}): Promise<{ text: string; reply: Reply }> {
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: META, name, arguments: args } };
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standardHeaders(body) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { text, reply: JSON.parse(text) as Reply };
  }
  const answer = (reply: Reply) => reply.result?.content?.[0]?.text ?? '';

  beforeAll(async () => {
    const modern = await startFaultHttp(['--modern']);
    const padded = await startFaultHttp(['--modern', '--discover-bytes', String(MAX * 2)]);
    upstreams.push(modern.child, padded.child);
    gw = await startTestGateway(STORES[0]!, { MAX_RESPONSE_BYTES: String(MAX), HEALTH_CHECK_INTERVAL_MS: '3600000', TOOL_TIMEOUT_MS: '20000' });
    for (const body of [
      { name: 'mh', url: `http://127.0.0.1:${modern.port}/mcp` },
      { name: 'md', url: `http://127.0.0.1:${padded.port}/mcp` },
      { name: 'ms', transport: 'stdio', command: process.execPath, args: [FAULT, 'stdio', '--modern'] },
    ]) {
      const created = await gw.api('/gateways', { method: 'POST', body });
      expect(created.status, await created.clone().text()).toBe(201);
      await waitFor(async () => (await gw.api(`/tools/${body.name}__era`)).status === 200, `${body.name}__era discovered`);
    }
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    for (const child of upstreams) await stopChild(child);
  });

  it('relays 2026-07-28 requests to a 2026-07-28 upstream as they are (the path under test)', async () => {
    expect(answer((await call('mh__era')).reply)).toMatch(/^2026-07-28 from \d+$/);
    expect(answer((await call('ms__era')).reply)).toMatch(/^2026-07-28 from \d+$/);
  });

  it('refuses a Streamable HTTP JSON reply over MAX_RESPONSE_BYTES with the coded error, then serves again', async () => {
    const { text, reply } = await call('mh__big', { bytes: MAX * 3 });
    expect(reply.error?.message, text.slice(0, 300)).toContain('MAX_RESPONSE_BYTES');
    expect(reply.error?.message).toContain('UPSTREAM_REPLY_TOO_LARGE');
    expect(text.length).toBeLessThan(10_000);
    expect(answer((await call('mh__era')).reply)).toMatch(/^2026-07-28 from/);
  });

  it('refuses a Streamable HTTP SSE event over MAX_RESPONSE_BYTES with the coded error, then serves again', async () => {
    const { text, reply } = await call('mh__big', { bytes: MAX * 3, sse: true });
    expect(reply.error?.message, text.slice(0, 300)).toContain('MAX_RESPONSE_BYTES');
    expect(reply.error?.message).toContain('UPSTREAM_REPLY_TOO_LARGE');
    expect(text.length).toBeLessThan(10_000);
    expect(answer((await call('mh__big', { bytes: 100, sse: true })).reply)).toBe('x'.repeat(100));
  });

  it('fails a stdio call whose reply line is over MAX_RESPONSE_BYTES, then serves again on a fresh process', async () => {
    const before = /from (\d+)/.exec(answer((await call('ms__era')).reply))?.[1];
    expect(before).toBeDefined();
    const { text, reply } = await call('ms__big', { bytes: MAX * 3 });
    expect(reply.error?.message, text.slice(0, 300)).toContain('MAX_RESPONSE_BYTES');
    expect(reply.error?.message).toContain('UPSTREAM_REPLY_TOO_LARGE');
    expect(text.length).toBeLessThan(10_000);
    const after = await waitFor(async () => /^2026-07-28 from (\d+)$/.exec(answer((await call('ms__era')).reply))?.[1] ?? false, 'the 2026-07-28 lane serves again');
    expect(after).not.toBe(before);
    // A reply under the bound still goes through whole.
    expect(answer((await call('ms__big', { bytes: 1000 })).reply)).toBe('x'.repeat(1000));
  }, 60_000);

  it('reads a server/discover answer over MAX_RESPONSE_BYTES no further: the upstream counts as 2025 only', async () => {
    // The 2026-07-28 caller is served on the upstream's 2025 connection instead.
    expect(answer((await call('md__era')).reply)).toMatch(/^2025 from \d+$/);
  });
});
