// Admin API: create 10,000 tools over HTTP (objects/s) and GET /tools over 10,000 (p50 ms), on
// SQLite and PostgreSQL. Baselines run in the same process: the same work through the registry
// without HTTP, so the ratio is what the HTTP edge (auth, parsing, problem handling) costs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../dist/config.js';
import { startGateway } from '../dist/gateway.js';

const N = Number(process.env.BENCH_TOOLS ?? 10_000);
const CONCURRENCY = 8;
const LIST_SAMPLES = 15;
const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const AUTH = { user: 'bench', password: 'bench-password-123' };
const authorization = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;

const emit = (figure) => process.stdout.write(JSON.stringify(figure) + '\n');
const tool = (prefix, i) => ({
  name: `${prefix}-${String(i).padStart(6, '0')}`,
  url: 'https://api.example.com/items/{id}',
  description: 'Fetch one item by id',
  tags: ['bench', `shard=${i % 10}`],
  input_schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
});

async function pool(count, worker) {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) await worker(next++);
  }));
}

function p50(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function gatewayOn(databaseUrl) {
  const config = loadConfig({
    HOST: '127.0.0.1', PORT: '0', DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent',
    AUTH_ENCRYPTION_SECRET: 'bench-secret-0123456789abcdef-0123456789',
    BASIC_AUTH_USER: AUTH.user, BASIC_AUTH_PASSWORD: AUTH.password,
  });
  return startGateway(config);
}

async function measure(label, databaseUrl, cleanup) {
  const gw = await gatewayOn(databaseUrl);
  try {
    // Baseline: the registry directly, same process, same store.
    const baseN = Math.min(N, 2000);
    let t = performance.now();
    await pool(baseN, (i) => gw.registry.create('tools', tool('base', i)));
    const baseRate = baseN / ((performance.now() - t) / 1000);

    t = performance.now();
    await pool(N, async (i) => {
      const res = await fetch(`${gw.url}/tools`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(tool('http', i)) });
      if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
    });
    const rate = N / ((performance.now() - t) / 1000);
    emit({ name: `${label}: create tools via Admin API`, value: rate, unit: 'objects/s', baseline: baseRate, ratio: rate / baseRate });

    // Listing: drop the baseline tools so exactly N are listed.
    for (let i = 0; i < baseN; i++) await gw.registry.delete('tools', tool('base', i).name);
    const direct = [];
    const http = [];
    for (let i = 0; i < LIST_SAMPLES; i++) {
      let s = performance.now();
      const page = await gw.registry.list('tools');
      JSON.stringify(page.items);
      direct.push(performance.now() - s);
      s = performance.now();
      const res = await fetch(`${gw.url}/tools`, { headers: { authorization } });
      const body = await res.json();
      http.push(performance.now() - s);
      if (body.length !== N) throw new Error(`listed ${body.length} tools, expected ${N}`);
    }
    emit({ name: `${label}: GET /tools over ${N} tools p50`, value: p50(http), unit: 'ms', baseline: p50(direct), ratio: p50(http) / p50(direct) });
  } finally {
    await gw.close();
    await cleanup();
  }
}

async function startupToReady() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-bench-'));
  const samples = [];
  const baseline = [];
  try {
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      await new Promise((resolve) => spawn(process.execPath, ['-e', ''], { stdio: 'ignore' }).on('exit', resolve));
      baseline.push(performance.now() - t);
      t = performance.now();
      // Port 0: the OS picks a free port and the gateway logs its URL (a fixed port can be taken
      // by another process between runs on a shared machine).
      const child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--port', '0', '--database-url', `sqlite:${join(dir, `s${i}.db`)}`], {
        stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LOG_LEVEL: 'info' },
      });
      const url = await new Promise((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error('gateway did not log its URL within 10 s')), 10_000);
        child.stdout.on('data', (chunk) => {
          out += chunk;
          const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)","database"/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`gateway exited with ${code} before listening`)));
      });
      for (;;) {
        const ok = await fetch(`${url}/ready`).then((r) => r.status === 200, () => false);
        if (ok) break;
        if (performance.now() - t > 10_000) throw new Error('gateway did not become ready in 10 s');
        await new Promise((r) => setTimeout(r, 5));
      }
      samples.push(performance.now() - t);
      await new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  emit({ name: 'serve: start to ready on a new SQLite file p50', value: p50(samples), unit: 'ms', baseline: p50(baseline), ratio: p50(samples) / p50(baseline) });
}

await startupToReady();

const dir = mkdtempSync(join(tmpdir(), 'mcpgw-bench-'));
await measure('sqlite', `sqlite:${join(dir, 'bench.db')}`, async () => rmSync(dir, { recursive: true, force: true }));

const schema = `bench_${process.pid}`;
const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
try {
  await client.connect();
} catch (error) {
  process.stderr.write(`# PostgreSQL at ${POSTGRES_URL} unreachable (${error.message}): PostgreSQL figures skipped\n`);
  process.exit(0);
}
const url = new URL(POSTGRES_URL);
url.searchParams.set('schema', schema);
await measure('postgres', url.toString(), async () => {
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
});
