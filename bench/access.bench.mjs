#!/usr/bin/env node
// Access-control benchmark (issue 11): gateway CPU per tools/call of a REST tool with a scoped
// stored token and with an OAuth JWT (from a real oidc-provider started here), as a ratio to the
// same call on an unauthenticated gateway, in one run; and the p50 latency a Redis-shared rate
// limit adds. Prints one JSON line per figure. Needs `npm run build` first.
//
//   node bench/access.bench.mjs            CALLS=3000 (per cell), REDIS_URL (default redis://127.0.0.1:6379)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { figure } from './figure.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const CALLS = Number(process.env.CALLS ?? 3000);
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dir = mkdtempSync(join(tmpdir(), 'mcpgw-access-bench-'));
const children = [];
const servers = [];
const ADMIN = 'bench:bench-password-0123456789';


function listen(handler) {
  const server = http.createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
function request(url, { method = 'POST', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}), ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function gateway(name, env) {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'serve'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', DATABASE_URL: `sqlite:${join(dir, `${name}.db`)}`, AUTH_ENCRYPTION_SECRET: 'bench-secret-0123456789abcdef-0123456789', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${name}: not listening: ${seen.slice(-500)}`)), 30_000);
    child.stderr.on('data', (c) => (seen += c));
    child.stdout.on('data', (c) => {
      seen += c;
      const m = /"url":"(http:[^"]+)"/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return { url, pid: child.pid };
}

const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

/** Sequential tools/call: gateway CPU µs per call and p50 latency (ms). */
async function cell(gw, path, authorization) {
  const headers = { accept: 'application/json, text/event-stream', ...(authorization ? { authorization } : {}) };
  const call = async (i) => {
    const res = await request(gw.url + path, { body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: {} } }), headers });
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
  };
  for (let i = 0; i < 300; i++) await call(i);
  const latencies = [];
  const before = cpu(gw.pid);
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await call(i);
    latencies.push(performance.now() - t0);
  }
  const cpuUs = ((cpu(gw.pid) - before) / CALLS) * 1e6;
  latencies.sort((a, b) => a - b);
  return { cpuUs, p50: latencies[Math.floor(latencies.length / 2)] };
}

async function seed(gw, upstream) {
  const auth = { authorization: `Basic ${Buffer.from(ADMIN).toString('base64')}` };
  for (const [kind, body] of [['tools', { name: 'echo', url: `${upstream}/echo`, request_type: 'POST' }], ['servers', { name: 'bench', tools: ['echo'] }]]) {
    const res = await request(`${gw.url}/${kind}`, { body: JSON.stringify(body), headers: auth });
    if (res.status !== 201) throw new Error(`seed ${kind}: ${res.status} ${res.text}`);
  }
  const token = await request(`${gw.url}/tokens`, { body: JSON.stringify({ name: 'agent', role: 'client', servers: ['bench'] }), headers: auth });
  return JSON.parse(token.text).token;
}

try {
  const upstream = await listen((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  // A real issuer, for the OAuth cell.
  const issuerServer = http.createServer();
  servers.push(issuerServer);
  await new Promise((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${issuerServer.address().port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  let audience = '';
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'bench', client_secret: 'bench-secret-0123456789abcdef', grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'mcp' }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k', alg: 'RS256', use: 'sig' }] },
    scopes: ['mcp'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: { enabled: true, defaultResource: () => audience, useGrantedResource: () => true, getResourceServerInfo: () => ({ scope: 'mcp', accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }) },
    },
  });
  issuerServer.on('request', provider.callback());

  const [user, password] = ADMIN.split(':');
  const open = await gateway('open', { AUTH_REQUIRED: 'false' });
  const secured = await gateway('secured', { BASIC_AUTH_USER: user, BASIC_AUTH_PASSWORD: password, OAUTH_ISSUER: issuer });
  const limited = await gateway('limited', { BASIC_AUTH_USER: user, BASIC_AUTH_PASSWORD: password, REDIS_URL: REDIS, REDIS_CHANNEL_PREFIX: `bench-${process.pid}`, RATE_LIMIT_PER_PRINCIPAL: '10000000', RATE_LIMIT_PER_TOOL: '10000000' });
  audience = secured.url;
  await seed(open, upstream);
  const token = await seed(secured, upstream);
  const limitedToken = await seed(limited, upstream);
  const grant = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('bench:bench-secret-0123456789abcdef').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'mcp', resource: secured.url }),
  });
  const jwt = (await grant.json()).access_token;

  const base = await cell(open, '/servers/bench/mcp');
  const stored = await cell(secured, '/servers/bench/mcp', `Bearer ${token}`);
  const oauth = await cell(secured, '/servers/bench/mcp', `Bearer ${jwt}`);
  const unlimited = await cell(secured, '/servers/bench/mcp', `Bearer ${token}`);
  const redisLimited = await cell(limited, '/servers/bench/mcp', `Bearer ${limitedToken}`);
  figure('access: gateway CPU per call, scoped stored token', stored.cpuUs, 'µs', base.cpuUs);
  figure('access: gateway CPU per call, OAuth JWT', oauth.cpuUs, 'µs', base.cpuUs);
  figure('access: p50 latency with Redis rate limits (principal + tool)', redisLimited.p50, 'ms', unlimited.p50);
  figure('access: p50 added by Redis rate limits', redisLimited.p50 - unlimited.p50, 'ms');
} finally {
  for (const child of children) child.kill('SIGTERM');
  for (const server of servers) server.close();
  agent.destroy();
  await new Promise((r) => setTimeout(r, 300));
  rmSync(dir, { recursive: true, force: true });
}
