import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/cli/token.js';
import { ADMIN, JWT_SECRET, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { STORES } from './helpers/stores.js';

const sqlite = STORES[0]!;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Admin API authentication', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(sqlite);
  });
  afterAll(async () => {
    await gw?.close();
  });

  const call = (headers: Record<string, string> = {}) => fetch(`${gw.url}/tools`, { headers });

  it('answers 401 AUTH_REQUIRED with Basic and Bearer challenges when no credentials are sent', async () => {
    const res = await call();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Basic realm="mcpgateway".*Bearer realm="mcpgateway"/);
    expect(((await res.json()) as { code: string }).code).toBe('AUTH_REQUIRED');
  });

  it('admits the configured Basic credentials', async () => {
    expect((await call({ authorization: basic(ADMIN.user, ADMIN.password) })).status).toBe(200);
  });

  it.each([
    ['a wrong password', basic(ADMIN.user, 'wrong-password')],
    ['a wrong user', basic('root', ADMIN.password)],
    ['no colon', `Basic ${Buffer.from(ADMIN.user).toString('base64')}`],
    ['garbage', 'Basic !!!'],
    ['an unknown scheme', 'Digest username="admin"'],
    ['an empty bearer', 'Bearer '],
  ])('refuses %s with 401 AUTH_INVALID', async (_label, authorization) => {
    const res = await call({ authorization });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBeTruthy();
    expect(((await res.json()) as { code: string }).code).toBe('AUTH_INVALID');
  });

  it('admits a bearer token made by token create', async () => {
    const token = await createToken(JWT_SECRET, 'ci-bot', 3600);
    expect((await call({ authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('stops admitting a remembered token once it expires', async () => {
    // Accepted tokens are cached until their exp: the cache must not outlive it.
    const token = await createToken(JWT_SECRET, 'short-lived', 2);
    const exp = (Math.floor(Date.now() / 1000) + 2) * 1000;
    expect((await call({ authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await call({ authorization: `Bearer ${token}` })).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, exp - Date.now()) + 1_100));
    expect((await call({ authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it('refuses an expired token, one signed with another key, and an unsigned one', async () => {
    const expired = await createToken(JWT_SECRET, 'ci-bot', 60, Math.floor(Date.now() / 1000) - 3600);
    const foreign = await createToken('another-secret-another-secret-another', 'ci-bot', 3600);
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'x', exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
    for (const token of [expired, foreign, `${header}.${payload}.`]) {
      expect((await call({ authorization: `Bearer ${token}` })).status).toBe(401);
    }
  });

  it('refuses a correctly signed token that never expires', async () => {
    const { SignJWT } = await import('jose');
    const forever = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JWT_SECRET));
    expect((await call({ authorization: `Bearer ${forever}` })).status).toBe(401);
  });

  it('leaves /health and /ready open', async () => {
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    expect((await fetch(`${gw.url}/ready`)).status).toBe(200);
  });

  it('protects /openapi.json like the rest of the Admin API', async () => {
    expect((await fetch(`${gw.url}/openapi.json`)).status).toBe(401);
  });
});

describe('a gateway with AUTH_REQUIRED=false on loopback', () => {
  it('admits requests without credentials', async () => {
    const gw = await startTestGateway(sqlite, { AUTH_REQUIRED: 'false' });
    try {
      expect((await fetch(`${gw.url}/tools`)).status).toBe(200);
      expect(gw.logs()).toMatch(/AUTH_REQUIRED=false.*loopback/);
    } finally {
      await gw.close();
    }
  });
});

describe('secrets in logs', () => {
  it('never writes a credential to the log, even at trace level', async () => {
    const gw = await startTestGateway(sqlite);
    const password = 'Sup3r-Secret-Passw0rd-in-logs';
    const token = 'tok-never-log-this-1234567890';
    try {
      const created = await gw.api('/gateways', {
        method: 'POST',
        body: { name: 'logged', url: 'https://upstream.example.com', auth_username: 'svc', auth_password: password },
      });
      expect(created.status).toBe(201);
      await gw.api('/gateways/logged', { method: 'PATCH', body: { auth_token: token } });
      // A failing write with a secret in it, too.
      await gw.api('/gateways', { method: 'POST', body: { name: 'bad name', auth_username: 'svc', auth_password: password } });
      await fetch(`${gw.url}/tools`, { headers: { authorization: basic('admin', password) } });
      const logs = gw.logs();
      expect(logs.length).toBeGreaterThan(0);
      expect(logs).toContain('"url":"/gateways"'); // the requests were logged…
      expect(logs).not.toContain(password); // …but not the secrets
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(Buffer.from(`svc:${password}`).toString('base64'));
      expect(logs).not.toContain(ADMIN.password);
    } finally {
      await gw.close();
    }
  });
});

describe('DNS-rebinding protection on a loopback bind', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(sqlite, { ALLOWED_HOSTS: 'gateway.internal' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  /** GET /health with a chosen Host (and Origin): fetch cannot set Host, node:http can. */
  const get = (host: string, origin?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(`${gw.url}/tools`);
      const headers: Record<string, string> = { host, authorization: basic(ADMIN.user, ADMIN.password) };
      if (origin) headers.origin = origin;
      const req = httpRequest({ hostname: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += String(c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it.each([['localhost:4444'], ['127.0.0.1'], ['[::1]:80'], ['gateway.internal:8080']])('admits Host %s', async (host) => {
    expect((await get(host)).status).toBe(200);
  });

  it.each([
    ['evil.example.com', undefined],
    ['evil.example.com:4444', undefined],
    ['localhost', 'http://evil.example.com'],
    ['localhost', 'null'],
  ])('refuses Host %s / Origin %s with 403 HOST_NOT_ALLOWED', async (host, origin) => {
    const res = await get(host, origin);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'HOST_NOT_ALLOWED' });
  });

  it('admits a loopback Origin', async () => {
    expect((await get('127.0.0.1', 'http://localhost:3000')).status).toBe(200);
  });
});
