import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { STORES } from './helpers/stores.js';
import { stopChild } from './helpers/upstreams.js';

// Federation features beyond the basics, against the SDK-built Streamable HTTP fixture:
// notifications/cancelled forwarded upstream, oauth2 client-credentials gateways, a gateway's own
// timeout_ms, and name collisions recorded on the gateway object.

type Json = Record<string, unknown>;
const FIXTURE = fileURLToPath(new URL('./fixtures/conformance-upstream.mjs', import.meta.url));
const SECRET = 'oauth-client-secret-do-not-log-4f9a';

function startFixture(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [FIXTURE, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the fixture did not start: ${seen}`)), 15_000);
    child.stdout!.on('data', (chunk) => {
      seen += String(chunk);
      const match = /ready (\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: `http://127.0.0.1:${match[1]}/mcp` });
      }
    });
    child.once('exit', (code) => reject(new Error(`the fixture exited with ${code}`)));
  });
}

/**
 * An OAuth token endpoint (POST /token, client_secret_basic) in front of the fixture: every
 * other request must carry a live token it issued, and is then proxied to the fixture.
 */
async function startAuthProxy(upstream: string, lifetimeSeconds: number) {
  const target = new URL(upstream);
  const live = new Map<string, number>(); // token → expiry (ms)
  const stats = { issued: 0, refusedRequests: 0 };
  let serial = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/token') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const expected = `Basic ${Buffer.from(`gateway-client:${SECRET}`).toString('base64')}`;
        if (req.headers.authorization !== expected || form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'mcp:tools') {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client' }));
          return;
        }
        const token = `tok-${++serial}`;
        live.set(token, Date.now() + lifetimeSeconds * 1000);
        stats.issued++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: lifetimeSeconds }));
      });
      return;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !(Number(live.get(token)) > Date.now())) {
      stats.refusedRequests++;
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      return;
    }
    const headers = { ...req.headers, host: target.host };
    const forward = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    tokenUrl: `http://127.0.0.1:${port}/token`,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('federation: cancellation, oauth2, per-gateway timeout, collisions', () => {
  let gw: TestGateway;
  let fixture: { child: ChildProcess; url: string };

  const json = async (res: Response) => (await res.json()) as Json;
  const mcp = (body: unknown, init: { signal?: AbortSignal; accept?: string } = {}) =>
    gw.api('/mcp', { method: 'POST', body, headers: { accept: init.accept ?? 'application/json, text/event-stream' } });
  const call = async (name: string, id: number | string = 1) => json(await mcp({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } }));
  const textOf = (reply: Json) => ((reply.result as Json).content as { text: string }[])[0]!.text;

  beforeAll(async () => {
    fixture = await startFixture();
    fixture.child.removeAllListeners('exit');
    gw = await startTestGateway(STORES[0]!);
    const created = await gw.api('/gateways', { method: 'POST', body: { name: 'fx', url: fixture.url } });
    expect(created.status, await created.clone().text()).toBe(201);
    expect((await gw.api('/gateways/fx/refresh', { method: 'POST' })).status).toBe(200);
  });
  afterAll(async () => {
    await gw?.close();
    if (fixture) await stopChild(fixture.child);
  });

  it('forwards notifications/cancelled on Streamable HTTP to the upstream, which stops the call', async () => {
    const before = textOf(await call('fx__cancelled_count'));
    const running = call('fx__wait_for_cancel', 'call-to-cancel');
    // Wait until the upstream runs the call, then cancel it the way a client does: a separate POST.
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const cancel = await mcp({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'call-to-cancel', reason: 'user' } });
      expect(cancel.status).toBe(202);
      const settled = await Promise.race([running.then(() => true), new Promise((r) => setTimeout(() => r(false), 100))]);
      if (settled) break;
    }
    const reply = await running;
    expect(reply.error).toMatchObject({ code: -32000 });
    expect(String((reply.error as Json).message)).toMatch(/cancelled/);
    let after = before;
    for (let i = 0; i < 40 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = textOf(await call('fx__cancelled_count'));
    }
    expect(Number(after)).toBe(Number(before) + 1);
  });

  it("ignores a cancellation for another caller's request id", async () => {
    const cancel = await gw.api('/mcp', {
      method: 'POST',
      body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'nobody' } },
      headers: { accept: 'application/json' },
    });
    expect(cancel.status).toBe(202);
  });

  it("uses the gateway's timeout_ms for its tools' calls, and picks up a change without reconnecting", async () => {
    const patched = await gw.api('/gateways/fx', { method: 'PATCH', body: { timeout_ms: 300 }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(patched.status, await patched.clone().text()).toBe(200);
    expect(await json(patched)).toMatchObject({ timeout_ms: 300 });
    const reply = await call('fx__wait_for_cancel');
    expect(reply.error).toMatchObject({ code: -32001 });
    expect(String((reply.error as Json).message)).toContain('300 ms');
    const cleared = await gw.api('/gateways/fx', { method: 'PATCH', body: { timeout_ms: null }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(cleared.status).toBe(200);
    expect(textOf(await call('fx__test_simple_text'))).toContain('simple text');
  });

  it('refuses a timeout_ms out of range', async () => {
    const res = await gw.api('/gateways/fx', { method: 'PATCH', body: { timeout_ms: 0 }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(res.status).toBe(422);
    expect(await json(res)).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('records name collisions on the gateway object (read-only), not only in the log', async () => {
    const a = await gw.api('/gateways', { method: 'POST', body: { name: 'plain-a', url: fixture.url, name_prefix: '' } });
    expect(a.status).toBe(201);
    expect((await gw.api('/gateways/plain-a/refresh', { method: 'POST' })).status).toBe(200);
    const b = await gw.api('/gateways', { method: 'POST', body: { name: 'plain-b', url: fixture.url, name_prefix: '' } });
    expect(b.status).toBe(201);
    const report = await json(await gw.api('/gateways/plain-b/refresh', { method: 'POST' }));
    const first = await json(await gw.api('/gateways/plain-a'));
    const second = await json(await gw.api('/gateways/plain-b'));
    expect(first.collisions).toEqual([]);
    const collisions = second.collisions as { original_name: string; wanted: string; name: string }[];
    expect(collisions).toEqual(report.collisions);
    const simple = collisions.find((c) => c.original_name === 'test_simple_text');
    expect(simple).toMatchObject({ wanted: 'test_simple_text' });
    expect(simple!.name).toMatch(/^test_simple_text_[0-9a-f]{8}$/);
    expect(textOf(await call(simple!.name))).toContain('simple text');
    // Read-only like reachable and last_error: a write leaves it as discovery recorded it.
    const write = await gw.api('/gateways/plain-b', { method: 'PATCH', body: { collisions: [], description: 'second' }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(write.status).toBe(200);
    expect((await json(write)).collisions).toEqual(collisions);
    for (const name of ['plain-a', 'plain-b']) expect((await gw.api(`/gateways/${name}`, { method: 'DELETE' })).status).toBe(204);
  });

  describe('oauth2 client credentials', () => {
    let proxy: Awaited<ReturnType<typeof startAuthProxy>>;
    beforeAll(async () => {
      proxy = await startAuthProxy(fixture.url, 2);
    });
    afterAll(async () => {
      await gw.api('/gateways/secured', { method: 'DELETE' });
      await proxy?.close();
    });

    it('fetches a token, caches it until it nears expiry, sends it as Bearer, and never logs the secret', async () => {
      const created = await gw.api('/gateways', {
        method: 'POST',
        body: { name: 'secured', url: proxy.url, auth_type: 'oauth2', auth_oauth2: { token_url: proxy.tokenUrl, client_id: 'gateway-client', client_secret: SECRET, scope: 'mcp:tools' } },
      });
      expect(created.status, await created.clone().text()).toBe(201);
      const body = await created.clone().text();
      expect(body).not.toContain(SECRET);
      const refreshed = await gw.api('/gateways/secured/refresh', { method: 'POST' });
      expect(refreshed.status, await refreshed.clone().text()).toBe(200);
      for (let i = 0; i < 5; i++) expect(textOf(await call('secured__test_simple_text', i))).toContain('simple text');
      expect(proxy.stats.issued).toBe(1);
      expect(proxy.stats.refusedRequests).toBe(0);
      // The token lives 2 s and is renewed after half its life: wait past that, then call again.
      await new Promise((r) => setTimeout(r, 1_200));
      expect(textOf(await call('secured__test_simple_text', 9))).toContain('simple text');
      expect(proxy.stats.issued).toBe(2);
      expect(gw.logs()).not.toContain(SECRET);
      expect(gw.logs()).not.toContain('tok-1');
    });

    it('reports refused client credentials on the gateway, without the secret', async () => {
      const created = await gw.api('/gateways', {
        method: 'POST',
        body: { name: 'wrong-secret', url: proxy.url, auth_type: 'oauth2', auth_oauth2: { token_url: proxy.tokenUrl, client_id: 'gateway-client', client_secret: 'not-the-secret-xyz', scope: 'mcp:tools' } },
      });
      expect(created.status).toBe(201);
      const refreshed = await gw.api('/gateways/wrong-secret/refresh', { method: 'POST' });
      expect(refreshed.status).toBe(502);
      const problem = await json(refreshed);
      expect(String(problem.detail)).toMatch(/oauth2: the token endpoint .*\/token refused the client credentials: HTTP 401 \(invalid_client\)/);
      expect(JSON.stringify(problem)).not.toContain('not-the-secret-xyz');
      const gateway = await json(await gw.api('/gateways/wrong-secret'));
      expect(gateway.reachable).toBe(false);
      expect(String(gateway.last_error)).toContain('refused the client credentials');
      expect(gw.logs()).not.toContain('not-the-secret-xyz');
      expect((await gw.api('/gateways/wrong-secret', { method: 'DELETE' })).status).toBe(204);
    });
  });
});
