import { randomBytes } from 'node:crypto';
import { createServer, Socket, type Server } from 'node:net';
import type { Client } from '@modelcontextprotocol/client';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '../src/services/events.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { connectClient, startHttp, waitFor, type TestHttp } from './helpers/mcp.js';
import { REDIS_URL, redisStatus } from './helpers/redis.js';
import { postgresAvailable, STORES, type TestDatabase } from './helpers/stores.js';

// Several instances sharing one PostgreSQL database tell each other about changes over Redis
// pub/sub (REDIS_URL), so an edit made through one is served by the others without a restart.
const redisAvailable = (await redisStatus()).available;
const postgres = STORES[1]!;

async function readyEvents(gw: TestGateway): Promise<string | false> {
  const res = await fetch(`${gw.url}/ready`);
  if (res.status !== 200) return false;
  return ((await res.json()) as { events: string }).events;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

describe('cross-instance events: message shape', () => {
  it('accepts the message shapes it knows and refuses anything else', () => {
    expect(parseMessage(JSON.stringify({ v: 1, from: 'x', source: 'registry', kind: 'tools', op: 'create', id: 'i', name: 'n' }))).toEqual({
      from: 'x',
      event: { source: 'registry', kind: 'tools', op: 'create', id: 'i', name: 'n' },
    });
    expect(parseMessage(JSON.stringify({ v: 1, from: 'x', source: 'federation', kind: 'prompts' }))?.event).toEqual({ source: 'federation', kind: 'prompts' });
    expect(parseMessage(JSON.stringify({ v: 1, from: 'x', source: 'resync' }))?.event).toEqual({ source: 'resync' });
    expect(parseMessage(JSON.stringify({ v: 1, from: 'x', source: 'sessions', op: 'end', id: 's-1' }))?.event).toEqual({ source: 'sessions', op: 'end', id: 's-1' });
    for (const bad of [
      'not json',
      'null',
      '[]',
      '42',
      JSON.stringify({ v: 2, from: 'x', source: 'resync' }),
      JSON.stringify({ v: 1, source: 'resync' }),
      JSON.stringify({ v: 1, from: 'x', source: 'registry', kind: '__proto__', op: 'create', id: 'i', name: 'n' }),
      JSON.stringify({ v: 1, from: 'x', source: 'registry', kind: 'tools', op: 'drop', id: 'i', name: 'n' }),
      JSON.stringify({ v: 1, from: 'x', source: 'registry', kind: 'tools', op: 'create', id: 5, name: 'n' }),
      JSON.stringify({ v: 1, from: 'x', source: 'federation', kind: 'servers' }),
      JSON.stringify({ v: 1, from: 'x', source: 'other' }),
      JSON.stringify({ v: 1, from: 'x', source: 'sessions', op: 'open', id: 's-1' }),
      JSON.stringify({ v: 1, from: 'x', source: 'sessions', op: 'end', id: '' }),
      JSON.stringify({ v: 1, from: 'x', source: 'sessions', op: 'end', id: 'x'.repeat(201) }),
    ]) {
      expect(parseMessage(bad), bad).toBeUndefined();
    }
  });
});

describe('cross-instance events: redis unreachable', () => {
  it('starts, is ready, says so in /ready, warns once and closes', async () => {
    const gw = await startTestGateway(STORES[0]!, { REDIS_URL: 'redis://:hunter2-secret@127.0.0.1:1' });
    try {
      expect(await readyEvents(gw)).toBe('redis-disconnected');
      await waitFor(() => gw.logs().includes('events: redis is not reachable') && gw.logs().includes('rate limits: redis is not reachable'), 'the redis warnings');
      const res = await gw.api('/tools', { method: 'POST', body: { name: 'still-works', url: 'http://127.0.0.1:9/x' } });
      expect(res.status).toBe(201);
      const client = await connectClient(gw.url, '/mcp', '2025-11-25');
      expect(await toolNames(client)).toContain('still-works');
      await client.close();
    } finally {
      await gw.close();
    }
    // Each Redis user warns once: the change events, and the rate limiter (always on since tools and servers carry rate_limit).
    expect(gw.logs().match(/cross-instance events: redis is not reachable/g)).toHaveLength(1);
    expect(gw.logs().match(/rate limits: redis is not reachable/g)).toHaveLength(1);
    expect(gw.logs()).not.toContain('hunter2-secret');
  });

  it('refuses a REDIS_URL that is not a redis URL, without echoing it', async () => {
    await expect(startTestGateway(STORES[0]!, { REDIS_URL: 'http://user:pw-secret@example' })).rejects.toThrow(/REDIS_URL must be a redis/);
    await expect(startTestGateway(STORES[0]!, { REDIS_URL: 'http://user:pw-secret@example' })).rejects.not.toThrow(/pw-secret/);
  });
});

describe.skipIf(!redisAvailable || !postgresAvailable)('cross-instance events over redis', () => {
  let db: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  let clientB: Client;
  let api: TestHttp;
  const prefix = `test-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    api = await startHttp((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    db = await postgres.create();
    const env = { REDIS_URL, REDIS_CHANNEL_PREFIX: prefix };
    a = await startTestGateway(postgres, env, db);
    b = await startTestGateway(postgres, env, db);
    await waitFor(async () => (await readyEvents(a)) === 'redis' && (await readyEvents(b)) === 'redis', 'both instances on redis');
    clientB = await connectClient(b.url, '/mcp', '2025-11-25');
  });
  afterAll(async () => {
    await clientB?.close();
    await a?.close();
    await b?.close();
    await db?.drop();
    await api?.close();
  });

  it('serves on B a tool created through A', async () => {
    expect(await toolNames(clientB)).not.toContain('made-on-a');
    const res = await a.api('/tools', { method: 'POST', body: { name: 'made-on-a', url: `${api.url}/x` } });
    expect(res.status).toBe(201);
    await waitFor(async () => (await toolNames(clientB)).includes('made-on-a'), 'the tool on B');
  });

  it('stops serving on B a tool deactivated through A', async () => {
    expect((await a.api('/tools', { method: 'POST', body: { name: 'soon-off', url: `${api.url}/x` } })).status).toBe(201);
    await waitFor(async () => (await toolNames(clientB)).includes('soon-off'), 'the tool on B');
    const res = await a.api('/tools/soon-off', { method: 'PATCH', body: { is_active: false } });
    expect(res.status).toBe(200);
    await waitFor(async () => !(await toolNames(clientB)).includes('soon-off'), 'the tool gone from B');
  });

  it('stops serving on B a prompt deleted through A', async () => {
    expect((await a.api('/prompts', { method: 'POST', body: { name: 'short-lived', template: 'hi {{ who }}' } })).status).toBe(201);
    const promptNames = async () => (await clientB.listPrompts()).prompts.map((p) => p.name);
    await waitFor(async () => (await promptNames()).includes('short-lived'), 'the prompt on B');
    expect((await a.api('/prompts/short-lived', { method: 'DELETE' })).status).toBe(204);
    await waitFor(async () => !(await promptNames()).includes('short-lived'), 'the prompt gone from B');
  });

  it('ignores malformed messages on the channel and keeps working', async () => {
    const publisher = createClient({ url: REDIS_URL });
    publisher.on('error', () => undefined);
    await publisher.connect();
    try {
      for (const junk of ['not json', '{"v":1}', JSON.stringify({ v: 1, from: 'someone', source: 'registry', kind: 'nope', op: 'create', id: 'x', name: 'y' }), '\u0000\uffff']) {
        await publisher.publish(`${prefix}:events`, junk);
      }
    } finally {
      publisher.destroy();
    }
    await waitFor(() => b.logs().includes('ignored a malformed message'), 'the debug line on B');
    expect((await a.api('/tools', { method: 'POST', body: { name: 'after-junk', url: `${api.url}/x` } })).status).toBe(201);
    await waitFor(async () => (await toolNames(clientB)).includes('after-junk'), 'the tool on B after junk');
    expect(await readyEvents(b)).toBe('redis');
  });

  it('reloads once after its redis connection comes back, catching what it missed', async () => {
    // C reaches Redis through a proxy the test can cut; A's events meanwhile never reach C.
    const proxy = await startCuttableProxy(new URL(REDIS_URL));
    const c = await startTestGateway(postgres, { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_CHANNEL_PREFIX: prefix }, db);
    let clientC: Client | undefined;
    try {
      await waitFor(async () => (await readyEvents(c)) === 'redis', 'C on redis');
      clientC = await connectClient(c.url, '/mcp', '2025-11-25');
      expect(await toolNames(clientC)).not.toContain('made-while-cut');
      proxy.cut();
      await waitFor(async () => (await readyEvents(c)) === 'redis-disconnected', 'C disconnected');
      expect((await a.api('/tools', { method: 'POST', body: { name: 'made-while-cut', url: `${api.url}/x` } })).status).toBe(201);
      await waitFor(async () => (await toolNames(clientB)).includes('made-while-cut'), 'the tool on B');
      expect(await toolNames(clientC)).not.toContain('made-while-cut');
      proxy.restore();
      await waitFor(async () => (await toolNames(clientC!)).includes('made-while-cut'), 'the tool on C after reconnecting', 30_000);
      expect(c.logs()).toContain('reloading from the database after a redis outage');
    } finally {
      await clientC?.close();
      await c.close();
      await proxy.close();
    }
  });
});

/** A TCP proxy to Redis whose connections can be cut (and refused) until restored. */
async function startCuttableProxy(target: URL): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  let down = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    upstream.connect(Number(target.port || 6379), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
