// Export/import benchmark (issue 4): 10,000 objects, 2,000 of each kind.
// Run alone with `npm run build && node bench/export-import.bench.mjs`; prints one JSON line per figure.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../dist/config.js';
import { AuthCipher } from '../dist/crypto/auth-value.js';
import { startGateway } from '../dist/gateway.js';

const PER_KIND = Number(process.env.BENCH_PER_KIND ?? 2000);
const SECRET = 'bench-encryption-secret-0123456789abcdef';
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mcpgw-bench-'));
const auth = { user: 'admin', password: 'bench-password-0123' };
const authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;

function figure(name, value, unit, baseline) {
  const line = { name, value: Math.round(value * 1000) / 1000, unit };
  if (baseline !== undefined) line.baseline = baseline;
  if (baseline) line.ratio = Math.round((value / baseline) * 1000) / 1000;
  console.log(JSON.stringify(line));
}

async function gateway(name) {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: `sqlite:${join(dir, `${name}.db`)}`,
    AUTH_ENCRYPTION_SECRET: SECRET,
    BASIC_AUTH_USER: auth.user,
    BASIC_AUTH_PASSWORD: auth.password,
    LOG_LEVEL: 'silent',
  });
  const gw = await startGateway(config, { logStream: new Writable({ write: (_c, _e, done) => done() }) });
  let writes = 0;
  gw.registry.onChange(() => writes++);
  return { gw, url: gw.url, writes: () => writes };
}

function documentOf(n) {
  const cipher = new AuthCipher(SECRET);
  const pad = (i) => String(i).padStart(5, '0');
  const ids = Array.from({ length: n }, (_, i) => pad(i));
  const bearer = (i) => (i % 10 === 0 ? { auth_type: 'bearer', auth_value: cipher.encrypt({ Authorization: `Bearer token-${i}` }) } : {});
  return {
    version: '2025-03-26',
    gateways: ids.map((id, i) => ({ name: `gw-${id}`, url: `https://upstream-${id}.example.com/mcp`, tags: ['env=bench'], ...bearer(i) })),
    tools: ids.map((id, i) => ({ name: `tool-${id}`, url: `https://api.example.com/items/${id}/{item}`, input_schema: { type: 'object', properties: { item: { type: 'string' } } }, ...bearer(i) })),
    resources: ids.map((id) => ({ uri: `memo://bench/${id}`, text: `resource ${id}`, mime_type: 'text/plain' })),
    servers: ids.map((id) => ({ name: `srv-${id}`, tools: [`tool-${id}`], prompts: [`prompt-${id}`], resources: [`memo://bench/${id}`] })),
    prompts: ids.map((id, i) => ({ name: `prompt-${id}`, template: `Summarise {{ text }} (${id})`, ...bearer(i) })),
  };
}

/** Run the CLI as a child process; returns wall time (s) and its peak RSS (MB). */
function cli(args, url) {
  const started = performance.now();
  const hook = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nMAXRSS_KB "+process.resourceUsage().maxRSS+"\\n"))';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', hook, CLI, ...args], {
      env: { PATH: process.env.PATH, MCPGATEWAY_URL: url, MCPGATEWAY_BASIC_AUTH: `${auth.user}:${auth.password}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const rss = Number(/MAXRSS_KB (\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
      if (code !== 0) reject(new Error(`mcpgateway ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ seconds, rss, stdout });
    });
  });
}

const source = await gateway('source');
const target = await gateway('target');
try {
  const doc = documentOf(PER_KIND);
  const total = PER_KIND * 5;
  const docPath = join(dir, 'seed.json');
  writeFileSync(docPath, JSON.stringify(doc));

  // Bulk endpoint: the whole document in one POST /import transaction.
  let started = performance.now();
  const res = await fetch(`${source.url}/import`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(doc) });
  if (res.status !== 200) throw new Error(`POST /import: ${res.status} ${await res.text()}`);
  figure(`bulk POST /import, ${total} objects`, (performance.now() - started) / 1000, 's', 5);

  const exportPath = join(dir, 'export.json');
  const exported = await cli(['export', '--out', exportPath], source.url);
  figure(`mcpgateway export, ${total} objects`, exported.seconds, 's', 2);
  figure('mcpgateway export peak RSS', exported.rss, 'MB', 300);

  started = performance.now();
  const imported = await cli(['import', exportPath], target.url);
  figure(`mcpgateway import into an empty target, ${total} objects`, imported.seconds, 's', 30);
  figure('mcpgateway import peak RSS', imported.rss, 'MB', 300);
  if (target.writes() !== total) throw new Error(`expected ${total} writes, saw ${target.writes()}`);

  const before = target.writes();
  const again = await cli(['import', exportPath], target.url);
  figure(`mcpgateway import of the unchanged file, ${total} objects`, again.seconds, 's', 15);
  figure('writes during the unchanged re-import', target.writes() - before, 'writes', 0);
  figure('mcpgateway re-import peak RSS', again.rss, 'MB', 300);
} finally {
  await source.gw.close();
  await target.gw.close();
  rmSync(dir, { recursive: true, force: true });
}
