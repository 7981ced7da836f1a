import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { nginxInstalled, startNginx, type OwnNginx } from './helpers/nginx.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/processes.js';
import { REDIS_URL, redisStatus } from './helpers/redis.js';
import { postgresAvailable, STORES, type TestDatabase } from './helpers/stores.js';
import { startEverything, type HttpUpstream } from './helpers/upstreams.js';

// Issue 10, item 12: two `mcpgateway serve` processes on one PostgreSQL schema and one Redis behind
// a real nginx running examples/nginx/mcpgateway.conf (the config docs/mcp.md shows), federating
// server-everything over Streamable HTTP. Under a mixed load (stateless tools/call, an SDK 1.x
// session, Admin API writes, all through nginx) one instance is SIGKILLed. What must hold: no wrong
// answer ever; failures only for requests in flight at the kill, and only as a connection error,
// 502, 503 or a JSON-RPC error; none for requests that start 1.5 s after it; every write answered
// 201 is on the survivor; a new session on the survivor works.

const CONFIG = fileURLToPath(new URL('../examples/nginx/mcpgateway.conf', import.meta.url));
const DOCS = fileURLToPath(new URL('../docs/mcp.md', import.meta.url));
const redisAvailable = (await redisStatus()).available;
const postgres = STORES[1]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Under load before the kill, and after it; requests starting later than GRACE after the kill must all succeed. */
const BEFORE_MS = 2500;
const AFTER_MS = 4000;
const GRACE_MS = 1500;
const CALL_LOOPS = 6;
const WRITE_LOOPS = 2;

type Outcome = 'ok' | 'connection' | 'http-502' | 'http-503' | 'http-404' | 'jsonrpc-error' | 'wrong';
interface Sample {
  kind: 'call' | 'write' | 'sdk';
  start: number;
  end: number;
  outcome: Outcome;
  detail: string;
  /** X-Upstream: the instance(s) nginx tried, last one answered. */
  upstream: string;
}

/** The failures a request in flight at the kill may end with: never a wrong answer. */
const ALLOWED_FAILURES: Outcome[] = ['connection', 'http-502', 'http-503', 'http-404', 'jsonrpc-error'];

function httpOutcome(status: number): Outcome | undefined {
  if (status === 502) return 'http-502';
  if (status === 503) return 'http-503';
  return undefined;
}

/** One stateless tools/call (no session) of ev__echo through nginx, checked against what was sent. */
async function call(base: string, message: string): Promise<Omit<Sample, 'kind' | 'start' | 'end'>> {
  let res: Response;
  try {
    res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: message, method: 'tools/call', params: { name: 'ev__echo', arguments: { message } } }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return { outcome: 'connection', detail: String((error as Error).cause ?? error), upstream: '' };
  }
  const upstream = res.headers.get('x-upstream') ?? '';
  const text = await res.text().catch((error: unknown) => `(body cut: ${String(error)})`);
  const failed = httpOutcome(res.status);
  if (failed) return { outcome: failed, detail: text.slice(0, 200), upstream };
  try {
    const reply = JSON.parse(text) as { id?: unknown; error?: unknown; result?: { content?: { text?: string }[] } };
    if (res.status === 200 && reply.id === message && reply.error !== undefined) return { outcome: 'jsonrpc-error', detail: JSON.stringify(reply.error), upstream };
    if (res.status === 200 && reply.id === message && reply.result?.content?.[0]?.text === `Echo: ${message}`) return { outcome: 'ok', detail: '', upstream };
  } catch {
    // not JSON: a wrong answer
  }
  return { outcome: 'wrong', detail: `${res.status} ${text.slice(0, 300)}`, upstream };
}

/** One Admin API create through nginx: 201 (acknowledged), or an allowed failure; a 409 would mean a write ran twice. */
async function write(base: string, name: string): Promise<Omit<Sample, 'kind' | 'start' | 'end'>> {
  let res: Response;
  try {
    res = await fetch(`${base}/tools`, {
      method: 'POST',
      headers: { ...AUTH_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ name, url: 'http://127.0.0.1:9/x', tags: ['lb'] }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return { outcome: 'connection', detail: String((error as Error).cause ?? error), upstream: '' };
  }
  const upstream = res.headers.get('x-upstream') ?? '';
  const text = await res.text().catch((error: unknown) => `(body cut: ${String(error)})`);
  if (res.status === 201 && (JSON.parse(text) as { name?: string }).name === name) return { outcome: 'ok', detail: '', upstream };
  return { outcome: httpOutcome(res.status) ?? 'wrong', detail: `${res.status} ${text.slice(0, 300)}`, upstream };
}

/** How an SDK call failed: the HTTP status it names (404, 502, 503), a JSON-RPC error, or the connection. */
function sdkFailure(error: unknown): Outcome {
  const text = String((error as Error).message ?? error);
  const status = /HTTP (\d{3})|\(HTTP (\d{3})\)|status[: ]+(\d{3})|^Streamable HTTP error: .*?(\d{3})/i.exec(text);
  const code = status ? Number(status.slice(1).find((s) => s !== undefined)) : (error as { code?: unknown }).code;
  if (code === 404) return 'http-404';
  if (code === 502) return 'http-502';
  if (code === 503) return 'http-503';
  if (typeof code === 'number' && code < 0) return 'jsonrpc-error';
  if (/fetch failed|ECONNRE|socket|terminated|other side closed|aborted|timed? ?out/i.test(text)) return 'connection';
  return 'wrong';
}

describe.skipIf(!postgresAvailable || !redisAvailable || (!nginxInstalled() && process.env.CI !== 'true'))('failover behind nginx', () => {
  let upstream: HttpUpstream;
  let db: TestDatabase;
  const instances: GatewayProcess[] = [];
  let nginx: OwnNginx;
  const clients: Client[] = [];

  beforeAll(async () => {
    upstream = await startEverything('streamableHttp');
    db = await postgres.create();
    const env = { REDIS_URL, REDIS_CHANNEL_PREFIX: `lb-${randomBytes(4).toString('hex')}`, LOG_LEVEL: 'warn' };
    // One after the other: both would run the migrations of the fresh schema otherwise.
    instances.push(await startGatewayProcess(db.url, TEST_SECRET, env));
    instances.push(await startGatewayProcess(db.url, TEST_SECRET, env));
    const [a, b] = instances as [GatewayProcess, GatewayProcess];
    const events = async (gw: GatewayProcess) => ((await (await fetch(`${gw.url}/ready`)).json()) as { events?: string }).events;
    await waitFor(async () => (await events(a)) === 'redis' && (await events(b)) === 'redis', 'both instances on redis');
    const created = await a.api('/gateways', { method: 'POST', body: { name: 'ev', url: `http://127.0.0.1:${upstream.port}/mcp` } });
    expect(created.status, await created.clone().text()).toBe(201);
    // B learns of the gateway through Redis and connects to it itself.
    for (const gw of instances) await waitFor(async () => (await call(gw.url, `ready-${gw.pid}`)).outcome === 'ok', `ev__echo served by ${gw.url}`, 20_000);
    const site = readFileSync(CONFIG, 'utf8');
    nginx = await startNginx((port) =>
      site
        .replaceAll('127.0.0.1:4444', new URL(a.url).host)
        .replaceAll('127.0.0.1:4445', new URL(b.url).host)
        .replace('listen 127.0.0.1:8080;', `listen 127.0.0.1:${port};`),
    );
  }, 60_000);

  // Every step runs even if one before it failed, so no child process outlives the file.
  afterAll(async () => {
    const steps = [
      ...clients.map((client) => () => client.close()),
      () => nginx?.stop(),
      ...instances.map((gw) => () => gw.stop()),
      () => upstream?.stop(),
      () => db?.drop(),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch((error: unknown) => console.warn(`[lb-failover] cleanup: ${String(error)}`));
  });

  it('docs/mcp.md shows the nginx config this test runs', () => {
    expect(readFileSync(DOCS, 'utf8')).toContain(readFileSync(CONFIG, 'utf8').trim());
  });

  it('sends a legacy SSE client\'s POST /message to the instance holding its GET /sse stream', async () => {
    const client = new Client({ name: 'lb-legacy', version: '1' });
    clients.push(client);
    const authFetch = (input: string | URL, init?: RequestInit) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...AUTH_HEADERS } });
    await client.connect(new SSEClientTransport(new URL(`${nginx.url}/sse`), { requestInit: { headers: AUTH_HEADERS }, eventSourceInit: { fetch: authFetch } } as never));
    for (let i = 0; i < 10; i++) {
      const result = (await client.callTool({ name: 'ev__echo', arguments: { message: `legacy-${i}` } })) as { content: { text: string }[] };
      expect(result.content[0]!.text).toBe(`Echo: legacy-${i}`);
    }
    await client.close();
  });

  it('keeps serving through nginx when one instance is killed mid-load: failures only in flight, every acknowledged write on the survivor', async () => {
    // The SDK session: whichever instance answered its initialize (the last one nginx tried) holds it, and is the one killed.
    let home = '';
    const trackedFetch = async (input: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(input, init);
      if (typeof init?.body === 'string' && init.body.includes('"method":"initialize"')) home = (res.headers.get('x-upstream') ?? '').split(', ').at(-1)!;
      return res;
    };
    const connect = async () => {
      const client = new Client({ name: 'lb-failover', version: '1' });
      client.onerror = () => undefined; // the GET stream's reconnects after the kill
      await client.connect(new StreamableHTTPClientTransport(new URL(`${nginx.url}/mcp`), { requestInit: { headers: AUTH_HEADERS }, fetch: trackedFetch }));
      clients.push(client);
      return client;
    };
    const oldClient = await connect();
    const victim = instances.find((gw) => new URL(gw.url).host === home);
    expect(victim, `the session's instance (${home})`).toBeDefined();
    const survivor = instances.find((gw) => gw !== victim)!;
    const survivorHost = new URL(survivor.url).host;

    const samples: Sample[] = [];
    const acknowledged: string[] = [];
    let stopAt = Infinity;
    let killedAt = Infinity;
    const loop = async (kind: Sample['kind'], once: (i: number) => Promise<Omit<Sample, 'kind' | 'start' | 'end'>>) => {
      for (let i = 0; performance.now() < stopAt; i++) {
        const start = performance.now();
        const result = await once(i);
        samples.push({ kind, start, end: performance.now(), ...result });
      }
    };
    const sdkOnce = async (i: number) => {
      const message = `sdk-${i}`;
      try {
        const result = (await oldClient.callTool({ name: 'ev__echo', arguments: { message } }, undefined, { timeout: 10_000 })) as { content?: { text?: string }[]; isError?: boolean };
        const ok = result.content?.[0]?.text === `Echo: ${message}`;
        return { outcome: ok ? 'ok' : 'wrong', detail: ok ? '' : JSON.stringify(result).slice(0, 300), upstream: '' } as const;
      } catch (error) {
        return { outcome: sdkFailure(error), detail: String((error as Error).message ?? error).slice(0, 300), upstream: '' };
      }
    };
    const started = performance.now();
    stopAt = started + BEFORE_MS + AFTER_MS;
    const loops = [
      ...Array.from({ length: CALL_LOOPS }, (_, l) => loop('call', (i) => call(nginx.url, `c${l}-${i}`))),
      ...Array.from({ length: WRITE_LOOPS }, (_, l) =>
        loop('write', async (i) => {
          const name = `lb-w${l}-${i}`;
          const result = await write(nginx.url, name);
          if (result.outcome === 'ok') acknowledged.push(name);
          return result;
        }),
      ),
      loop('sdk', sdkOnce),
    ];
    await sleep(BEFORE_MS);
    process.kill(victim!.pid, 'SIGKILL');
    killedAt = performance.now();
    await Promise.all(loops);
    await waitFor(() => victim!.exited() !== null, 'the killed instance to be gone');

    // A new session through nginx lands on the survivor and works.
    home = '';
    const fresh = await connect();
    expect(home).toBe(survivorHost);
    const echoed = (await fresh.callTool({ name: 'ev__echo', arguments: { message: 'after' } })) as { content: { text: string }[] };
    expect(echoed.content[0]!.text).toBe('Echo: after');

    // The old session's GET /mcp stream was cut with its instance; the SDK reopened it, on the survivor
    // (nginx logs a stream when it ends: closing the client ends it).
    await oldClient.close();
    await waitFor(
      () => nginx.accessLog().some((l) => l.method === 'GET' && l.uri === '/mcp' && l.status === 200 && l.upstreams.at(-1) === survivorHost),
      'the old session\'s GET /mcp stream reopened on the survivor',
      5000,
    );

    const late = samples.filter((s) => s.start > killedAt + GRACE_MS);
    const failures = samples.filter((s) => s.outcome !== 'ok');
    const inWindow = failures.filter((s) => s.start <= killedAt + GRACE_MS);
    const before = samples.filter((s) => s.end < killedAt);
    const retried = nginx.accessLog().filter((l) => l.method === 'POST' && l.upstreams.length > 1 && l.status < 500);
    const lastFailure = Math.max(0, ...failures.map((s) => s.end - killedAt));
    const oldSession = samples.filter((s) => s.kind === 'sdk' && s.start > killedAt);
    const count = (list: Sample[]) => Object.entries(list.reduce<Record<string, number>>((acc, s) => ({ ...acc, [`${s.kind}:${s.outcome}`]: (acc[`${s.kind}:${s.outcome}`] ?? 0) + 1 }), {}));
    console.log(
      `[lb-failover] ${samples.length} requests (${before.length} finished before the kill, ${late.length} started ${GRACE_MS} ms after it); ` +
        `errors in the kill window: ${inWindow.length} ${JSON.stringify(count(inWindow))}; after it: ${failures.length - inWindow.length}; ` +
        `recovery (kill to the end of the last failed request): ${Math.round(lastFailure)} ms; ` +
        `POSTs nginx re-sent to the survivor after a refused connect: ${retried.length}; ` +
        `old SDK session after the kill: ${JSON.stringify(count(oldSession))}; writes acknowledged: ${acknowledged.length}`,
    );

    // Never a wrong answer, failures only of the allowed kinds and only for requests in flight at the kill.
    expect(samples.filter((s) => s.outcome === 'wrong')).toEqual([]);
    expect(failures.filter((s) => !ALLOWED_FAILURES.includes(s.outcome))).toEqual([]);
    expect(late.length).toBeGreaterThan(20);
    expect(late.filter((s) => s.outcome !== 'ok')).toEqual([]);
    // The load was spread over both instances before the kill, and only the survivor answered after it.
    const answeredBy = (list: Sample[]) => new Set(list.filter((s) => s.upstream !== '').map((s) => s.upstream.split(', ').at(-1)));
    expect(answeredBy(before).size).toBe(2);
    expect([...answeredBy(late)]).toEqual([survivorHost]);
    expect(retried.every((l) => l.upstreams.at(-1) === survivorHost)).toBe(true);
    // Once fail_timeout is over nginx tries the dead instance again: the connect is refused, nothing
    // was sent, so the POST goes to the survivor and is answered right.
    const probed = await waitFor(async () => {
      const result = await call(nginx.url, `probe-${performance.now()}`);
      expect(result.outcome, result.detail).toBe('ok');
      return result.upstream.includes(', ') ? result.upstream : undefined;
    }, 'a tools/call nginx re-sent after a refused connect', 10_000);
    expect(probed).toBe(`${new URL(victim!.url).host}, ${survivorHost}`);

    // Every write answered 201 is on the survivor, read from it directly.
    const listed = (await (await survivor.api('/tools?include_inactive=true&tags=lb&limit=10000')).json()) as { name: string }[];
    const names = new Set(listed.map((t) => t.name));
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(acknowledged.filter((n) => !names.has(n))).toEqual([]);
    expect(survivor.exited()).toBeNull();
  });
});
