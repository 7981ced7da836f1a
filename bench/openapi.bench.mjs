#!/usr/bin/env node
// OpenAPI → capability files (issue 5). Run alone with `node bench/openapi.bench.mjs` after
// `npm run build`. Prints one JSON line per figure; each case runs in its own process so peak RSS
// is that case's alone. Time is from reading the file to the last capability file written (Node's
// start-up and module loading excluded; `cli_wall` includes them).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { figure } from './figure.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const GITHUB = join(ROOT, 'node_modules/@octokit/openapi/generated/api.github.com.json');
const RUNS = 3;

if (process.argv[2] === '--case') {
  await runCase(process.argv[3], process.argv[4], process.argv[5]);
  process.exit(0);
}

const tmp = mkdtempSync(join(tmpdir(), 'mcpgw-openapi-bench-'));
let failed = false;
try {
  const parse = median(RUNS, () => child('parse', GITHUB, tmp));
  const plain = median(RUNS, () => child('import', GITHUB, join(tmp, 'plain')));
  const validated = median(RUNS, () => child('import-validated', GITHUB, join(tmp, 'validated')));
  figure('openapi.github.parse_only', parse.ms, 'ms');
  figure('openapi.github.import', plain.ms, 'ms', parse.ms);
  figure('openapi.github.import_to_memory', plain.inMemoryMs, 'ms', parse.ms);
  figure('openapi.github.import_validated', validated.ms, 'ms', parse.ms);
  figure('openapi.github.parse_only_peak_rss', parse.rssMb, 'MB');
  figure('openapi.github.import_peak_rss', plain.rssMb, 'MB', parse.rssMb);
  figure('openapi.github.import_validated_peak_rss', validated.rssMb, 'MB', parse.rssMb);
  figure('openapi.github.operations_written', plain.written, 'tools', 1223);
  figure('openapi.github.tool_list', plain.toolListMiB, 'MiB', 10);

  const wall = median(RUNS, () => {
    const start = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'cap', 'import', GITHUB, '-o', join(tmp, 'cli'), '--force', '--no-validate'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cap import failed: ${r.stderr}`);
    return { ms: performance.now() - start };
  });
  // Whole process, default flags, into a new folder each run (the first import of a description),
  // alternating with a process that only parses the JSON, so both see the same machine.
  const { wall: wallDefault, parse: parseWall } = alternatedImports((i) => join(tmp, `cli-default-${i}`));
  figure('openapi.github.cli_wall_default', wallDefault.ms, 'ms', parseWall.ms);
  // The same into tmpfs (/dev/shm): the importer's own cost without the shared disk's file
  // creation, which varies 20x with other jobs' deletions.
  if (existsSync('/dev/shm')) {
    const shm = mkdtempSync('/dev/shm/mcpgateway-bench-');
    try {
      const inMemory = alternatedImports((i) => join(shm, `out-${i}`));
      figure('openapi.github.cli_wall_default_tmpfs', inMemory.wall.ms, 'ms', inMemory.parse.ms);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  }
  // The same again over its own output with --force: every file's text is unchanged, none is rewritten.
  const reimport = median(RUNS, () => {
    const start = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'cap', 'import', GITHUB, '-o', join(tmp, 'cli-default-0'), '--force'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cap import failed: ${r.stderr}`);
    return { ms: performance.now() - start };
  });
  figure('openapi.github.cli_wall_reimport_force', reimport.ms, 'ms', parseWall.ms);
  // A gateway serving those 1,223 files: start to GET /ready 200, against an empty folder.
  mkdirSync(join(tmp, 'empty'));
  const readyEmpty = [];
  const readyFull = [];
  for (let i = 0; i < RUNS; i++) {
    readyEmpty.push({ ms: await readyTime(join(tmp, 'empty')) });
    readyFull.push({ ms: await readyTime(join(tmp, 'cli-default-0')) });
  }
  const empty = pick(readyEmpty).ms;
  const full = pick(readyFull).ms;
  figure('serve.ready_empty_folder', empty, 'ms');
  figure('serve.ready_github_1223_files', full, 'ms', empty);
  figure('serve.ready_github_1223_files_extra', full - empty, 'ms', 1000);
  const node = median(RUNS, () => {
    const start = performance.now();
    spawnSync(process.execPath, ['-e', ''], { encoding: 'utf8' });
    return { ms: performance.now() - start };
  });
  figure('openapi.github.cli_wall_no_validate', wall.ms, 'ms', parse.ms + node.ms);

  // The 129 @readme/oas-examples documents, whole process each, default flags, into a new folder,
  // alternating with a process that only reads and parses the same document (JSON.parse, or the
  // `yaml` library the importer reads YAML with). Goal: the median document in ≤ 1.3× parse-only.
  const docParses = [];
  const docImports = [];
  exampleDocuments().forEach((doc, i) => {
    const parseExpr = doc.endsWith('.json') ? "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))" : "require('yaml').parse(require('fs').readFileSync(process.argv[1], 'utf8'))";
    let start = performance.now();
    spawnSync(process.execPath, ['-e', parseExpr, doc], { cwd: ROOT, encoding: 'utf8' });
    docParses.push(performance.now() - start);
    start = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'cap', 'import', doc, '-o', join(tmp, `example-${i}`)], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cap import ${doc} failed: ${r.stderr}`);
    docImports.push(performance.now() - start);
  });
  const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  figure('openapi.examples.documents', docImports.length, 'documents');
  figure('openapi.examples.import_median', mid(docImports), 'ms', mid(docParses));
  figure('openapi.examples.import_ratio_median', mid(docImports.map((ms, i) => ms / docParses[i])), 'x', 1.3);

  const synthetic = join(tmp, 'synthetic.json');
  const { bytes, operations } = writeSynthetic(synthetic);
  const big = child('import', synthetic, join(tmp, 'synthetic-out'));
  figure('openapi.synthetic.document', bytes / 1024 / 1024, 'MiB');
  figure('openapi.synthetic.operations_written', big.written, 'tools', operations);
  figure('openapi.synthetic.import', big.ms / 1000, 's', 15);
  figure('openapi.synthetic.import_peak_rss', big.rssMb, 'MB', 1536);
  if (big.written !== operations || big.ms > 15_000 || big.rssMb > 1536) {
    failed = true;
    process.stderr.write('the synthetic description did not import within 15 s and 1.5 GB\n');
  }
  // Serving a Microsoft Graph-sized folder (11,000 files, 70 MB of YAML): start to GET /ready 200,
  // against the empty folder's start measured above. Issue 15: "in seconds, not minutes".
  const readyBig = await readyTime(join(tmp, 'synthetic-out'));
  figure('serve.ready_synthetic_11000_files_extra', (readyBig - empty) / 1000, 's', 60);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

/** The @readme/oas-examples documents (Swagger 2.0, OpenAPI 3.0 and 3.1, JSON and YAML), in name order. */
function exampleDocuments() {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(json|ya?ml)$/.test(name)) files.push(path);
    }
  };
  for (const version of ['2.0', '3.0', '3.1']) walk(join(ROOT, 'node_modules/@readme/oas-examples', version));
  return files;
}

/** Five rounds of a parse-only process then `cap import` of GitHub's description into `out(i)`: the median of each. */
function alternatedImports(out) {
  const walls = [];
  const parses = [];
  for (let i = 0; i < 5; i++) {
    let start = performance.now();
    spawnSync(process.execPath, ['-e', `JSON.parse(require('fs').readFileSync(${JSON.stringify(GITHUB)}, 'utf8'))`], { encoding: 'utf8' });
    parses.push({ ms: performance.now() - start });
    start = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'cap', 'import', GITHUB, '-o', out(i)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cap import failed: ${r.stderr}`);
    walls.push({ ms: performance.now() - start });
  }
  return { wall: pick(walls), parse: pick(parses) };
}

/** The middle of five (or any odd number of) runs by time. */
function pick(list) {
  return [...list].sort((a, b) => a.ms - b.ms)[Math.floor(list.length / 2)];
}

/** Milliseconds from spawning `mcpgateway serve` (CAPABILITY_DIRS=dir, SQLite in memory) to GET /ready 200. */
async function readyTime(dir) {
  const port = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const start = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve'], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: 'sqlite::memory:', AUTH_ENCRYPTION_SECRET: 'bench-secret-0123456789abcdef-0123456789', AUTH_REQUIRED: 'false', LOG_LEVEL: 'warn', CAPABILITY_DIRS: dir },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status === 200, () => false);
      if (ok) return performance.now() - start;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  }
}

function median(runs, fn) {
  const results = Array.from({ length: runs }, fn).sort((a, b) => a.ms - b.ms);
  return results[Math.floor(runs / 2)];
}

function child(kind, file, out) {
  const r = spawnSync(process.execPath, [SELF, '--case', kind, file, out], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`case ${kind} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function runCase(kind, file, out) {
  const { readFileSync: read } = await import('node:fs');
  if (kind === 'parse') {
    const start = performance.now();
    JSON.parse(read(file, 'utf8'));
    const ms = performance.now() - start;
    process.stdout.write(`${JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
    return;
  }
  const { loadOpenApi } = await import(join(ROOT, 'dist/importers/openapi/load.js'));
  const { convertOpenApi, generatedHeader } = await import(join(ROOT, 'dist/importers/openapi/convert.js'));
  const { writeCapabilities } = await import(join(ROOT, 'dist/capabilities/write.js'));
  if (kind === 'import-validated') await import('@readme/openapi-parser');
  const { formatCapability } = await import(join(ROOT, 'dist/capabilities/file.js'));
  const t0 = performance.now();
  // The default flags: the structural checks; `import-validated`: the parser's full validation (--validate).
  const { doc } = await loadOpenApi(file, { validate: kind === 'import-validated' ? true : 'structural' });
  const result = convertOpenApi(doc);
  const t1 = performance.now();
  // Everything but the disk: the YAML text of every file, in memory.
  for (const c of result.capabilities) formatCapability(c.capability, generatedHeader(c, 'bench'));
  const t2 = performance.now();
  const written = writeCapabilities(out, result.capabilities.map((c) => ({ capability: c.capability, header: generatedHeader(c, 'bench') })), true);
  const t3 = performance.now();
  const inMemoryMs = t2 - t0;
  const ms = t1 - t0 + (t3 - t2);
  const rssMb = process.resourceUsage().maxRSS / 1024;
  const list = result.capabilities.map(({ capability: c }) => ({ name: c.name, ...(c.title ? { title: c.title } : {}), description: c.description, inputSchema: c.schema.input, outputSchema: c.schema.output, annotations: c.annotations }));
  const toolListMiB = Buffer.byteLength(JSON.stringify({ tools: list })) / 1024 / 1024;
  process.stdout.write(`${JSON.stringify({ ms, inMemoryMs, rssMb, written: written.length, toolListMiB })}\n`);
}

/**
 * A description of Microsoft Graph's size (about 20 MB, 11,000 operations): 2,000 schemas that
 * refer to earlier ones (and some to themselves), 5,500 paths with a GET and a PATCH each.
 * Deterministic, so every run measures the same document.
 */
function writeSynthetic(path) {
  let seed = 42;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const words = 'account address amount balance channel contact content device domain event group item label member message owner policy report resource role schedule service setting site status subscription team user'.split(' ');
  const text = (n) => Array.from({ length: n }, () => words[rand(words.length)]).join(' ');
  const schemas = {};
  const SCHEMAS = 2000;
  for (let i = 0; i < SCHEMAS; i++) {
    const properties = {};
    for (let p = 0; p < 10; p++) properties[`${words[rand(words.length)]}_${p}`] = { type: ['string', 'integer', 'boolean'][rand(3)], description: text(16) };
    if (i > 0) properties.parent = { $ref: `#/components/schemas/entity_${rand(i)}` };
    if (i % 20 === 0) properties.children = { type: 'array', items: { $ref: `#/components/schemas/entity_${i}` } };
    schemas[`entity_${i}`] = { type: 'object', description: text(20), properties };
  }
  const paths = {};
  const PATHS = 5500;
  for (let i = 0; i < PATHS; i++) {
    const schema = `entity_${rand(SCHEMAS)}`;
    const ref = { $ref: `#/components/schemas/${schema}` };
    const params = [
      { name: 'id', in: 'path', required: true, description: text(8), schema: { type: 'string' } },
      { name: '$select', in: 'query', description: text(10), schema: { type: 'array', items: { type: 'string' } } },
      { name: '$top', in: 'query', schema: { type: 'integer', minimum: 0 } },
    ];
    paths[`/${words[i % words.length]}s/${i}/{id}`] = {
      parameters: [params[0]],
      get: { operationId: `${words[i % words.length]}.get_${i}`, summary: text(6), description: text(150), tags: [words[i % words.length]], parameters: params.slice(1), responses: { 200: { description: 'ok', content: { 'application/json': { schema: ref } } } } },
      patch: { operationId: `${words[i % words.length]}.update_${i}`, summary: text(6), description: text(150), tags: [words[i % words.length]], requestBody: { required: true, content: { 'application/json': { schema: ref } } }, responses: { 204: { description: 'updated' } } },
    };
  }
  const doc = { openapi: '3.0.4', info: { title: 'Synthetic Graph', version: '1.0' }, servers: [{ url: 'https://graph.example.com/v1.0' }], paths, components: { schemas } };
  const json = JSON.stringify(doc);
  writeFileSync(path, json);
  return { bytes: Buffer.byteLength(json), operations: PATHS * 2 };
}

