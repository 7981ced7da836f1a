#!/usr/bin/env node
// MCP relay benchmark: a client calls an `echo` tool directly on an upstream MCP server and
// through the gateway, both over Streamable HTTP on loopback, in one run. Prints one JSON line
// per figure: {"name","value","unit","baseline"?,"ratio"?}. Needs `npm run build` first.
//
//   node bench/mcp.bench.mjs            DURATION=5 WARMUP=1 (seconds per cell)
//   GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"   node flags for the gateway processes (profiles)
//   PARTS=relay                         only the relay cells (relay, rest, stdio, list: all by default)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.DURATION ?? 5) * 1000;
const WARMUP = Number(process.env.WARMUP ?? 1) * 1000;
const children = [];
const dir = mkdtempSync(join(tmpdir(), 'mcpgw-bench-'));

function emit(name, value, unit, baseline) {
  const line = { name, value: round(value), unit };
  if (baseline !== undefined) {
    line.baseline = round(baseline);
    line.ratio = round(baseline === 0 ? 0 : value / baseline);
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
const round = (n) => Math.round(n * 1000) / 1000;

function start(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.output = '';
  child.stderr.on('data', (c) => { child.output = (child.output + c).slice(-4000); });
  child.on('exit', (code, signal) => {
    if (code || (signal && signal !== 'SIGTERM')) process.stderr.write(`child ${args.join(' ')} exited (code ${code}, signal ${signal}): ${child.output}\n`);
  });
  return child;
}
function waitLine(child, pattern) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${pattern}" from child`)), 30_000);
    let seen = '';
    const onData = (chunk) => {
      seen += chunk;
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        resolve(match);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`child exited with ${code}: ${seen.slice(-500)}`)));
  });
}
function cpuSeconds(pid, part = 'both') {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  return (part === 'user' ? user : part === 'system' ? system : user + system) / 100; // clock ticks of 10 ms
}
function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
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
function parseReply(text) {
  const data = text.startsWith('event:') || text.startsWith('data:') ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('') : text;
  return JSON.parse(data);
}

/** Closed loop: `concurrency` workers calling `tool` with unique text; returns rps and latencies. */
/** A 2026-07-28 client: per-request _meta and the standard headers, no initialize. */
const MODERN = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' };
const MODERN_META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' } };

async function load(url, tool, concurrency, durationMs, protocolHeaders) {
  const modern = protocolHeaders === MODERN;
  const headers = modern ? { ...MODERN, 'mcp-name': tool } : protocolHeaders;
  let n = 0;
  let errors = 0;
  const latencies = [];
  const until = Date.now() + durationMs;
  const worker = async () => {
    while (Date.now() < until) {
      const id = ++n;
      const text = `ping-${id}`;
      const params = modern ? { name: tool, arguments: { text }, _meta: MODERN_META } : { name: tool, arguments: { text } };
      const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params });
      const t0 = performance.now();
      const res = await post(url, body, headers);
      latencies.push(performance.now() - t0);
      if (res.status !== 200 || !res.body.includes(text)) errors++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { rps: latencies.length / seconds, p50: pct(50), p99: pct(99), calls: latencies.length, errors };
}
async function cell(url, tool, concurrency, headers) {
  await load(url, tool, concurrency, WARMUP, headers);
  return load(url, tool, concurrency, DURATION, headers);
}

/**
 * The stdio-upstream row: the same echo tool on one SDK server over stdio, called by an SDK client
 * directly (c=1, then 32 calls in flight), and through the gateway (which holds one shared stdio
 * process) by the HTTP load generator, in the same run. After the RSS figures, so they stay as before.
 */
async function stdioRow(base, mcp, proto, gatewayPid) {
  const { Client } = await import('@modelcontextprotocol/client');
  const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [join(root, 'bench/echo-upstream.mjs'), 'stdio'] }));
  const direct = async (concurrency) => {
    const run = async (ms) => {
      let n = 0;
      const latencies = [];
      const until = Date.now() + ms;
      const worker = async () => {
        while (Date.now() < until) {
          const text = `ping-${++n}`;
          const t0 = performance.now();
          const result = await client.callTool({ name: 'echo', arguments: { text } });
          latencies.push(performance.now() - t0);
          if (!JSON.stringify(result).includes(text)) throw new Error('the stdio upstream answered something else');
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: concurrency }, worker));
      latencies.sort((a, b) => a - b);
      return { rps: latencies.length / ((performance.now() - started) / 1000), p50: latencies[Math.floor(latencies.length / 2)] };
    };
    await run(WARMUP);
    return run(DURATION);
  };
  const direct1 = await direct(1);
  const direct32 = await direct(32);
  await client.close();
  await admin(base, '/gateways', { name: 'stdio-echo', transport: 'stdio', command: process.execPath, args: [join(root, 'bench/echo-upstream.mjs'), 'stdio'] });
  await admin(base, '/gateways/stdio-echo/refresh', {});
  const cpu0 = cpuSeconds(gatewayPid);
  const gw1 = await cell(mcp, 'stdio-echo__echo', 1, proto);
  const gw32 = await cell(mcp, 'stdio-echo__echo', 32, proto);
  const cpu1 = cpuSeconds(gatewayPid);
  emit('mcp_stdio_upstream_c1_p50', gw1.p50, 'ms', direct1.p50);
  emit('mcp_stdio_upstream_c1_added_p50', gw1.p50 - direct1.p50, 'ms');
  emit('mcp_stdio_upstream_c32_rps', gw32.rps, 'rps', direct32.rps);
  emit('mcp_stdio_upstream_cpu_per_call', ((cpu1 - cpu0) * 1000) / ((gw1.calls + gw32.calls) * (1 + WARMUP / DURATION)), 'ms');
  emit('mcp_stdio_upstream_errors', gw1.errors + gw32.errors, 'count');
}

async function initialize(url) {
  const res = await post(url, JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }));
  if (res.status !== 200) throw new Error(`initialize failed at ${url}: ${res.status} ${res.body}`);
  await post(url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { 'mcp-protocol-version': '2025-11-25' });
}

/**
 * The gateway listens on a port the OS picks (PORT=0) and the URL comes from its own
 * "mcpgateway listening" line. (Picking a free port first and passing it on raced with the other
 * test runs on this shared machine: when one of them took the port first, the gateway could not
 * bind and exited while the bench went on talking to the other process — until that process
 * went away: the ECONNREFUSED seen once after the throughput cells.) MCP routes log at warn
 * whatever LOG_LEVEL says, so info costs nothing on the measured path.
 */
async function startGateway(dbPath) {
  const nodeArgs = (process.env.GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = start([...nodeArgs, 'dist/cli/main.js', 'serve'], {
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: `sqlite:${dbPath}`,
    AUTH_REQUIRED: 'false',
    AUTH_ENCRYPTION_SECRET: 'bench-secret-0123456789abcdef-0123456789',
    LOG_LEVEL: 'info',
  });
  const [, base] = await waitLine(child, /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"mcpgateway listening"/);
  const ready = await fetch(`${base}/ready`).then((r) => r.ok, () => false);
  if (!ready) throw new Error(`the gateway at ${base} is not ready`);
  return { child, base };
}
async function admin(base, path, body) {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function main() {
  const proto = { 'mcp-protocol-version': '2025-11-25' };
  // Upstream MCP server (SDK v2, stateless JSON) and a plain HTTP API for the REST tool.
  const [, upstreamPort] = await waitLine(start(['bench/echo-upstream.mjs', '0']), /ready (\d+)/);
  const upstream = `http://127.0.0.1:${upstreamPort}/mcp`;
  const api = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise((r) => api.listen(0, '127.0.0.1', r));
  const apiUrl = `http://127.0.0.1:${api.address().port}/echo`;

  const { child: gateway, base } = await startGateway(join(dir, 'gateway.db'));
  await admin(base, '/gateways', { name: 'upstream', url: upstream });
  await admin(base, '/gateways/upstream/refresh', {});
  await admin(base, '/tools', { name: 'rest_echo', url: apiUrl, request_type: 'POST' });
  const mcp = `${base}/mcp`;
  emit('gateway_rss_idle', rssMb(gateway.pid), 'MB');
  await initialize(upstream);
  await initialize(mcp);

  // c=1: added latency; gateway CPU per relayed call over the same cell.
  const direct1 = await cell(upstream, 'echo', 1, proto);
  const cpu0 = cpuSeconds(gateway.pid);
  const gw1 = await cell(mcp, 'upstream__echo', 1, proto);
  const cpu1 = cpuSeconds(gateway.pid);
  // c=32: throughput.
  const direct32 = await cell(upstream, 'echo', 32, proto);
  const cpu2 = cpuSeconds(gateway.pid);
  const sys2 = cpuSeconds(gateway.pid, 'system');
  const gw32 = await cell(mcp, 'upstream__echo', 32, proto);
  const cpu3 = cpuSeconds(gateway.pid);
  const sys3 = cpuSeconds(gateway.pid, 'system');
  const cpuPerCall = ((cpu1 - cpu0 + (cpu3 - cpu2)) * 1000) / ((gw1.calls + gw32.calls) * (1 + WARMUP / DURATION));
  emit('mcp_gateway_cpu_per_call', cpuPerCall, 'ms');
  emit('mcp_gateway_cpu_per_call_c32_system_share', (sys3 - sys2) / Math.max(0.01, cpu3 - cpu2), 'ratio');
  emit('mcp_c1_p50', gw1.p50, 'ms', direct1.p50);
  emit('mcp_c1_added_p50', gw1.p50 - direct1.p50, 'ms');
  emit('mcp_c1_p99', gw1.p99, 'ms', direct1.p99);
  emit('mcp_c1_added_p99', gw1.p99 - direct1.p99, 'ms');
  emit('mcp_c32_rps', gw32.rps, 'rps', direct32.rps);
  // The same relay for a 2026-07-28 client (the revision's checks on every request; the echo
  // upstream speaks 2025, so the call goes over the gateway's 2025 session).
  const gw32modern = await cell(mcp, 'upstream__echo', 32, MODERN);
  emit('mcp_c32_rps_2026_client', gw32modern.rps, 'rps', direct32.rps);
  emit('mcp_errors', gw1.errors + gw32.errors + gw32modern.errors + direct1.errors + direct32.errors, 'count');

  const parts = (process.env.PARTS ?? 'relay,rest,stdio,list').split(',');
  // REST tool: the API called directly vs the tool through the gateway.
  if (parts.includes('rest')) {
  const restDirect = await (async () => {
    await load(apiUrl, 'x', 1, WARMUP, {});
    return load(apiUrl, 'x', 1, DURATION, {});
  })();
  const restGw = await cell(mcp, 'rest_echo', 1, proto);
  emit('rest_c1_p50', restGw.p50, 'ms', restDirect.p50);
  emit('rest_c1_added_p50', restGw.p50 - restDirect.p50, 'ms');
  }
  emit('gateway_rss_after_load', rssMb(gateway.pid), 'MB');
  if (process.env.HEAP_SNAPSHOT) {
    // GATEWAY_NODE_ARGS=--heapsnapshot-signal=SIGUSR2: the gateway writes a snapshot to the repo root.
    gateway.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, Number(process.env.HEAP_SNAPSHOT) * 1000));
    emit('gateway_rss_after_snapshot_gc', rssMb(gateway.pid), 'MB');
  }
  if (process.env.MEMORY_DETAIL) {
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    for (const name of ['nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes']) {
      const m = new RegExp(`^mcpgateway_${name} (\\S+)`, 'm').exec(metrics);
      if (m) emit(`gateway_${name.replace('nodejs_', '').replace('_bytes', '')}`, Number(m[1]) / 1024 / 1024, 'MB');
    }
    for (const m of metrics.matchAll(/^mcpgateway_nodejs_heap_space_size_used_bytes\{space="(\w+)"\} (\S+)/gm)) emit(`gateway_heap_${m[1]}_used`, Number(m[2]) / 1024 / 1024, 'MB');
  }
  if (parts.includes('stdio')) await stdioRow(base, mcp, proto, gateway.pid);
  gateway.kill('SIGTERM');
  if (!parts.includes('list')) {
    api.close();
    return;
  }

  // 10,000 tools: written straight into a fresh database, then served by a new gateway.
  const bigDb = join(dir, 'big.db');
  const { Store } = await import(`${root}dist/store/store.js`);
  const store = await Store.open(`sqlite:${bigDb}`);
  await store.transaction(async (repo) => {
    const now = new Date().toISOString();
    for (let i = 0; i < 10_000; i++) {
      const name = `tool_${String(i).padStart(5, '0')}`;
      await repo.insert('tools', {
        id: `t${i}`, created_at: now, updated_at: now,
        fields: { name, description: `Tool number ${i} of the benchmark`, tags: [], is_active: true, title: null, integration_type: 'REST', input_schema: { type: 'object', properties: { id: { type: 'string', description: 'an id' } }, required: ['id'] }, output_schema: null, annotations: {}, url: `${apiUrl}/${i}`, request_type: 'GET', headers: {}, query: {}, body: null, response_path: null, timeout_ms: null, auth_type: 'none', auth_value: null, gateway: null, original_name: null },
      });
    }
  });
  await store.close();
  const big = await startGateway(bigDb);
  const listUrl = `${big.base}/mcp`;
  const listOnce = async () => {
    let cursor;
    let count = 0;
    const t0 = performance.now();
    for (let page = 0; page < 1000; page++) {
      const res = await post(listUrl, JSON.stringify({ jsonrpc: '2.0', id: page, method: 'tools/list', params: cursor ? { cursor } : {} }), proto);
      const reply = parseReply(res.body);
      count += reply.result.tools.length;
      cursor = reply.result.nextCursor;
      if (!cursor) break;
    }
    if (count !== 10_000) throw new Error(`listed ${count} tools`);
    return performance.now() - t0;
  };
  await listOnce(); // first call builds the index
  const times = [];
  for (let i = 0; i < 20; i++) times.push(await listOnce());
  times.sort((a, b) => a - b);
  emit('tools_list_10k_p50', times[Math.floor(times.length / 2)], 'ms');
  emit('gateway_rss_10k_tools', rssMb(big.child.pid), 'MB');
  big.child.kill('SIGTERM');
  api.close();
}

try {
  await main();
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  agent.destroy();
  setTimeout(() => rmSync(dir, { recursive: true, force: true }), 500).unref();
}
