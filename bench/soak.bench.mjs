#!/usr/bin/env node
// Soak: tools/call through the gateway on loopback for SOAK_SECONDS (default 600), closed loop
// with SOAK_CONCURRENCY workers (default 32), against bench/echo-upstream.mjs over Streamable
// HTTP. Samples the gateway's RSS every 10 s. Prints one JSON figure per line and exits 1 unless
// it held >= 1,000 calls/s with 0 errors and RSS flat within 10 % (after the first sample).
// Opt-in: `npm run bench -- soak` (never part of the default run). Needs `npm run build` first.
//
//   SOAK_SECONDS=60 npm run bench -- soak      a short run
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 32);
const SAMPLE_MS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'mcpgw-soak-'));
const children = [];
const emit = (name, value, unit) => process.stdout.write(`${JSON.stringify({ name, value: Math.round(value * 1000) / 1000, unit })}\n`);

function start(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}
function waitLine(child, pattern) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} from child: ${seen.slice(-500)}`)), 30_000);
    const onData = (chunk) => {
      seen += chunk;
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
}
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
function post(url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
async function admin(base, path, body) {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

async function main() {
  const [, upstreamPort] = await waitLine(start(['bench/echo-upstream.mjs', '0']), /ready (\d+)/);
  const gateway = start(['dist/cli/main.js', 'serve'], {
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: `sqlite:${join(dir, 'gateway.db')}`,
    AUTH_REQUIRED: 'false',
    AUTH_ENCRYPTION_SECRET: 'bench-secret-0123456789abcdef-0123456789',
    LOG_LEVEL: 'info',
  });
  const [, base] = await waitLine(gateway, /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"mcpgateway listening"/);
  await admin(base, '/gateways', { name: 'upstream', url: `http://127.0.0.1:${upstreamPort}/mcp` });
  await admin(base, '/gateways/upstream/refresh', {});
  const mcp = `${base}/mcp`;
  const proto = { 'mcp-protocol-version': '2025-11-25' };
  await post(mcp, JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'soak', version: '1' } } }));

  const latencies = new Float64Array(Math.max(1_000_000, SECONDS * 5000));
  let calls = 0;
  let errors = 0;
  let id = 0;
  const rss = [];
  const sampler = setInterval(() => {
    rss.push(rssMb(gateway.pid));
    process.stderr.write(`# soak ${rss.length * 10} s: ${calls} calls, ${errors} errors, RSS ${rss.at(-1).toFixed(1)} MB\n`);
  }, SAMPLE_MS);
  const until = Date.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        const text = `soak-${++id}`;
        const t0 = performance.now();
        const res = await post(mcp, JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'upstream__echo', arguments: { text } } }), proto).catch(() => ({ status: 0, body: '' }));
        if (calls < latencies.length) latencies[calls] = performance.now() - t0;
        calls++;
        if (res.status !== 200 || !res.body.includes(text)) errors++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const sorted = latencies.subarray(0, Math.min(calls, latencies.length)).sort();
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  // The first sample is taken while the process warms up (JIT, pools): flatness is over the rest.
  const steady = rss.length > 1 ? rss.slice(1) : rss;
  const spread = steady.length ? (Math.max(...steady) - Math.min(...steady)) / Math.min(...steady) : 0;
  const rps = calls / seconds;
  emit('soak_seconds', seconds, 's');
  emit('soak_calls', calls, 'count');
  emit('soak_rps', rps, 'rps');
  emit('soak_errors', errors, 'count');
  emit('soak_p50', pct(50), 'ms');
  emit('soak_p99', pct(99), 'ms');
  emit('soak_rss_first', rss[0] ?? rssMb(gateway.pid), 'MB');
  emit('soak_rss_last', rss.at(-1) ?? rssMb(gateway.pid), 'MB');
  emit('soak_rss_max', Math.max(...rss, 0), 'MB');
  emit('soak_rss_spread_after_first_sample', spread * 100, '%');
  process.stderr.write(`# soak RSS samples (MB, every 10 s): ${rss.map((r) => r.toFixed(1)).join(' ')}\n`);
  const ok = errors === 0 && rps >= 1000 && spread <= 0.1;
  emit('soak_ok', ok ? 1 : 0, 'bool');
  if (!ok) process.exitCode = 1;
}

try {
  await main();
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  agent.destroy();
  setTimeout(() => rmSync(dir, { recursive: true, force: true }), 500).unref();
}
