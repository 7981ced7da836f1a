import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecord } from '../src/services/session-directory.js';
import { sseEvents } from '../src/protocol/sse.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { AUTH_HEADERS, waitFor } from './helpers/mcp.js';
import { REDIS_URL, redisStatus } from './helpers/redis.js';
import { postgresAvailable, STORES, type TestDatabase } from './helpers/stores.js';
import { startAskingFixture, type HttpUpstream } from './helpers/upstreams.js';

// Two instances sharing one PostgreSQL database and one Redis, as behind a round-robin load
// balancer: a 2025 client session opened (initialize) on A is served on B as that client's own
// session (what it declared, its own upstream sessions, its owner), and ending it on one instance
// ends it on both. Requests are sent to A or B by hand, as the balancer would.
const RELAY = fileURLToPath(new URL('./fixtures/relay-upstream.mjs', import.meta.url));
const ASKING = fileURLToPath(new URL('./fixtures/asking-upstream.mjs', import.meta.url));
const redisAvailable = (await redisStatus()).available;
const postgres = STORES[1]!;
const ACCEPT = 'application/json, text/event-stream';

type Message = { id?: unknown; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { code: number; message: string } };

function initialize(capabilities: Record<string, unknown> = {}) {
  return { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'shared-test', version: '1' } } };
}

async function post(gw: TestGateway, body: unknown, session?: string, headers: Record<string, string> = AUTH_HEADERS): Promise<Response> {
  return fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { ...headers, accept: ACCEPT, 'content-type': 'application/json', 'mcp-protocol-version': '2025-11-25', ...(session ? { 'mcp-session-id': session } : {}) },
    body: JSON.stringify(body),
  });
}

/** initialize on `gw` and the initialized notification: the new session's id. */
async function open(gw: TestGateway, capabilities: Record<string, unknown> = {}, headers: Record<string, string> = AUTH_HEADERS, initialized: TestGateway = gw): Promise<string> {
  const res = await post(gw, initialize(capabilities), undefined, headers);
  expect(res.status).toBe(200);
  const id = res.headers.get('mcp-session-id');
  await res.text();
  expect(id).toBeTruthy();
  expect((await post(initialized, { jsonrpc: '2.0', method: 'notifications/initialized' }, id!, headers)).status).toBe(202);
  return id!;
}

/**
 * tools/call on `gw` under `session`; requests the gateway makes of the client on the call's
 * stream are answered by `answer` (POSTed back to the same instance). The call's response.
 */
async function call(gw: TestGateway, session: string | undefined, name: string, args: Record<string, unknown> = {}, answer?: (m: Message) => unknown): Promise<Message> {
  const id = randomBytes(4).toString('hex');
  const res = await post(gw, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, session);
  expect(res.status).toBe(200);
  if (!res.headers.get('content-type')?.includes('text/event-stream')) return (await res.json()) as Message;
  for await (const { data } of sseEvents(res.body!)) {
    if (!data.trim()) continue;
    const message = JSON.parse(data) as Message;
    if (message.method && message.id !== undefined) {
      const result = answer?.(message);
      const reply = result === undefined ? { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'not answered' } } : { jsonrpc: '2.0', id: message.id, result };
      expect((await post(gw, reply, session)).status).toBe(202);
    } else if (message.id === id) return message;
  }
  throw new Error('the call ended without its response');
}

const makeRedis = () => createClient({ url: REDIS_URL });
type Redis = ReturnType<typeof makeRedis>;

const said = (message: Message) => JSON.stringify(message.result ?? message.error);

describe('cross-instance session records: what is read back from Redis', () => {
  it('takes the records a gateway writes and refuses anything else', () => {
    expect(parseRecord(JSON.stringify({ v: 1, owner: 'basic:admin', capabilities: { sampling: {} }, logLevel: 'info' }))).toEqual({
      session: { owner: 'basic:admin', capabilities: { sampling: {} }, logLevel: 'info' },
    });
    expect(parseRecord(JSON.stringify({ v: 1, ended: true }))).toEqual({ ended: true });
    for (const bad of [
      'not json',
      'null',
      '[]',
      JSON.stringify({ v: 2, owner: 'o', capabilities: {} }),
      JSON.stringify({ v: 1, capabilities: {} }),
      JSON.stringify({ v: 1, owner: '', capabilities: {} }),
      JSON.stringify({ v: 1, owner: 'o', capabilities: [] }),
      JSON.stringify({ v: 1, owner: 'o' }),
      JSON.stringify({ v: 1, owner: 'o', capabilities: {}, logLevel: 'loud' }),
      JSON.stringify({ v: 1, owner: 'o', capabilities: { big: 'x'.repeat(70_000) } }),
    ]) {
      expect(parseRecord(bad), bad.slice(0, 80)).toBeUndefined();
    }
  });
});

describe.skipIf(!redisAvailable || !postgresAvailable)('2025 client sessions shared by instances over Redis', () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  let other: Record<string, string>;
  let web: HttpUpstream;
  const prefix = `test-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    web = await startAskingFixture();
    db = await postgres.create();
    const env = { REDIS_URL, REDIS_CHANNEL_PREFIX: prefix, STDIO_UPSTREAM_SESSIONS: 'per-client' };
    a = await startTestGateway(postgres, env, db);
    b = await startTestGateway(postgres, env, db);
    const ready = async (gw: TestGateway) => ((await (await fetch(`${gw.url}/ready`)).json()) as { events?: string }).events === 'redis';
    await waitFor(async () => (await ready(a)) && (await ready(b)), 'both instances on redis');
    expect((await a.api('/gateways', { method: 'POST', body: { name: 'fx', transport: 'stdio', command: process.execPath, args: [RELAY] } })).status).toBe(201);
    expect((await a.api('/gateways', { method: 'POST', body: { name: 'ask', transport: 'stdio', command: process.execPath, args: [ASKING] } })).status).toBe(201);
    expect((await a.api('/gateways', { method: 'POST', body: { name: 'web', url: `http://127.0.0.1:${web.port}/mcp` } })).status).toBe(201);
    const listed = async (gw: TestGateway) => {
      const res = await post(gw, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
      const text = await res.text();
      return text.includes('fx__recall') && text.includes('ask__ask_sampling') && text.includes('web__recall');
    };
    await waitFor(async () => (await listed(a)) && (await listed(b)), 'the tools on both instances', 30_000);
    const token = await a.api('/tokens', { method: 'POST', body: { name: 'someone-else', role: 'editor' } });
    expect(token.status).toBe(201);
    other = { authorization: `Bearer ${((await token.json()) as { token: string }).token}` };
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
    await web?.stop();
  });

  /** One Redis command on a connection of the test's own. */
  const redisDo = async <T>(run: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = makeRedis();
    redis.on('error', () => undefined);
    await redis.connect();
    try {
      return await run(redis);
    } finally {
      redis.destroy();
    }
  };
  let webId: string;
  /** The upstream session id recorded for the `web` gateway of a client session. */
  const recordedWeb = async (session: string): Promise<string | undefined> => {
    webId ??= ((await (await a.api('/gateways/web')).json()) as { id: string }).id;
    return (await redisDo((r) => r.hGet(`${prefix}:session:${session}:upstream`, webId))) ?? undefined;
  };

  it('takes up on B the Streamable HTTP upstream session A opened for the client: its state follows the client', async () => {
    const session = await open(a);
    expect(said(await call(a, session, 'web__remember', { value: 'kept on A' }))).toContain('remembered kept on A');
    // A recorded the upstream session it opened; B, seeing the client for the first time, takes it up.
    expect(await waitFor(() => recordedWeb(session), 'the upstream session recorded')).toMatch(/^[0-9a-f-]{36}$/);
    expect(said(await call(b, session, 'web__recall'))).toContain('"text":"kept on A"');
    await call(b, session, 'web__remember', { value: 'changed on B' });
    expect(said(await call(a, session, 'web__recall'))).toContain('"text":"changed on B"');
    // Another client's session, on either instance, has its own.
    const another = await open(b);
    expect(said(await call(b, another, 'web__recall'))).toContain('"text":"null"');
    expect(said(await call(a, another, 'web__recall'))).toContain('"text":"null"');
  });

  it('keeps one upstream session per client when B took the session up before A opened it (round robin from the first request)', async () => {
    // initialize on A, notifications/initialized on B: B holds the session before any upstream session exists.
    const session = await open(a, {}, AUTH_HEADERS, b);
    await call(a, session, 'web__remember', { value: 'first on A' });
    expect(said(await call(b, session, 'web__recall'))).toContain('"text":"first on A"');
    // And the other way round: the first call on B, the next on A.
    const second = await open(b, {}, AUTH_HEADERS, a);
    await call(b, second, 'web__remember', { value: 'first on B' });
    expect(said(await call(a, second, 'web__recall'))).toContain('"text":"first on B"');
    // Both at once on both instances: one of them wins the record, the other takes its session up.
    const third = await open(a, {}, AUTH_HEADERS, b);
    await Promise.all([call(a, third, 'web__recall'), call(b, third, 'web__recall')]);
    await call(a, third, 'web__remember', { value: 'one session' });
    expect(said(await call(b, third, 'web__recall'))).toContain('"text":"one session"');
  });

  it('opens a new upstream session when the recorded one is gone upstream, records it, and the other instance follows', async () => {
    const session = await open(a);
    await call(a, session, 'web__remember', { value: 'soon lost' });
    const first = await waitFor(() => recordedWeb(session), 'the upstream session recorded');
    // The upstream ends that session (as it would on a restart or an expiry of its own).
    const ended = await fetch(`http://127.0.0.1:${web.port}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': first, 'mcp-protocol-version': '2025-11-25' } });
    expect(ended.status).toBe(200);
    // B's take-up is refused (one ping), so B opens a new upstream session and records it.
    expect(said(await call(b, session, 'web__recall'))).toContain('"text":"null"');
    const second = await waitFor(async () => {
      const id = await recordedWeb(session);
      return id && id !== first ? id : undefined;
    }, 'the new upstream session recorded');
    await call(b, session, 'web__remember', { value: 'again' });
    // A's own connection to the ended session hears 404 on its next call, and takes up B's.
    expect(said(await call(a, session, 'web__recall'))).toContain('"text":"again"');
    expect(await recordedWeb(session)).toBe(second);
  });

  it('forgets a recorded upstream session id the upstream never had', async () => {
    const session = await open(a);
    const forged = '00000000-0000-4000-8000-000000000000';
    webId ??= ((await (await a.api('/gateways/web')).json()) as { id: string }).id;
    await redisDo((r) => r.hSet(`${prefix}:session:${session}:upstream`, webId, forged));
    expect(said(await call(b, session, 'web__recall'))).toContain('"text":"null"');
    expect(await waitFor(async () => ((await recordedWeb(session)) !== forged ? true : undefined), 'the forged id replaced')).toBe(true);
  });

  it('serves on B a session opened on A as that client\'s own upstream session, never the shared one', async () => {
    const first = await open(a);
    const second = await open(a);
    // Both reach B, which did not open them: each gets its own upstream process there.
    expect(said(await call(b, first, 'fx__remember', { value: 'alpha' }))).toContain('remembered alpha');
    expect(said(await call(b, second, 'fx__recall'))).toContain('"text":"null"');
    await call(b, second, 'fx__remember', { value: 'beta' });
    expect(said(await call(b, first, 'fx__recall'))).toContain('"text":"alpha"');
    expect(said(await call(b, second, 'fx__recall'))).toContain('"text":"beta"');
    // A request without a session is served by B's shared process, which saw neither.
    expect(said(await call(b, undefined, 'fx__recall'))).toContain('"text":"null"');
  });

  it('asks the client, on B, for what it declared in its initialize on A, and only that', async () => {
    const declared = await open(a, { sampling: {} });
    const asked: string[] = [];
    const answer = (m: Message) => {
      asked.push(m.method!);
      return { role: 'assistant', content: { type: 'text', text: 'from the client' }, model: 'test' };
    };
    expect(said(await call(b, declared, 'ask__ask_sampling', {}, answer))).toContain('sampled=from the client');
    expect(asked).toEqual(['sampling/createMessage']);
    // A session that declared nothing is never asked, on either instance.
    const silent = await open(a, {});
    const none: string[] = [];
    const refused = await call(b, silent, 'ask__ask_sampling', {}, (m) => none.push(m.method!));
    expect(none).toEqual([]);
    expect(said(refused)).toContain('sampling failed');
  });

  it('ends a session on both instances when its client ends it on either', async () => {
    const session = await open(a);
    expect(said(await call(b, session, 'fx__recall'))).toContain('"text"');
    const ended = await fetch(`${b.url}/mcp`, { method: 'DELETE', headers: { ...AUTH_HEADERS, 'mcp-session-id': session } });
    expect(ended.status).toBe(204);
    expect((await post(b, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, session)).status).toBe(404);
    // A held the session itself: the end reaches it over the channel (and the record says so).
    await waitFor(async () => (await post(a, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, session)).status === 404, 'the session gone from A');
  });

  it('does not let another principal use, on B, a session opened on A', async () => {
    const session = await open(a);
    await call(b, session, 'fx__remember', { value: 'mine' });
    // The other principal holding the id is served as if it had no session: B's shared process.
    const res = await post(b, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'fx__recall', arguments: {} } }, session, other);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain('mine');
    const end = await fetch(`${b.url}/mcp`, { method: 'DELETE', headers: { ...other, 'mcp-session-id': session } });
    expect(end.status).toBe(405);
    expect(said(await call(b, session, 'fx__recall'))).toContain('"text":"mine"');
  });

  it('keeps in Redis only what another instance needs: owner and declared capabilities, no credential', async () => {
    const session = await open(a, { sampling: {}, roots: { listChanged: true } });
    const redis = createClient({ url: REDIS_URL });
    redis.on('error', () => undefined);
    await redis.connect();
    try {
      const key = `${prefix}:session:${session}`;
      const raw = await waitFor(async () => (await redis.get(key)) ?? undefined, 'the session record');
      expect(JSON.parse(raw)).toEqual({ v: 1, owner: 'basic:admin', capabilities: { sampling: {}, roots: { listChanged: true } } });
      // Calls record the ids of the client's own upstream sessions (ids the upstream handed out) beside it, still no credential.
      await call(a, session, 'web__recall');
      const ids = await waitFor(async () => {
        const value = await redis.hGetAll(`${key}:upstream`);
        return Object.keys(value).length > 0 ? value : undefined;
      }, 'the upstream session ids');
      expect(Object.values(ids).every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
      expect(JSON.stringify(ids)).not.toContain(AUTH_HEADERS.authorization.slice('Basic '.length));
      expect(await redis.pTTL(`${key}:upstream`)).toBeGreaterThan(0);
      expect(raw).not.toContain(AUTH_HEADERS.authorization.slice('Basic '.length));
      const ttl = await redis.pTTL(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(30 * 60_000);
    } finally {
      redis.destroy();
    }
  });
});

describe('2025 client sessions when Redis cannot be reached', () => {
  it('serves a session id it does not hold without a session, and answers', async () => {
    const gw = await startTestGateway(STORES[0]!, { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await post(gw, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, 'opened-on-an-instance-we-cannot-ask');
      expect(res.status).toBe(200);
      expect(((await res.json()) as Message).result).toHaveProperty('tools');
    } finally {
      await gw.close();
    }
  });
});
