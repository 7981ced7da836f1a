import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../src/services/audit.js';
import { ADMIN, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/mcp.js';
import { postgresAvailable, STORES, type TestDatabase } from './helpers/stores.js';

// Drafts activation and rollback run by the real `mcpgateway` binary (child processes) while a
// real gateway watches the capability folder: the planner's capability-audit.jsonl is mirrored
// into audit_events, one event per draft, exactly once across restarts and two instances.
const BIN = join(process.cwd(), 'dist/cli/main.js');
const FIXTURE = join(process.cwd(), 'examples/import/postman-v21.json');
const CLI_SECRET = 'orders-token-value-never-audited-0123';

function run(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', ORDERS_TOKEN: CLI_SECRET } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function capabilityEvents(gw: TestGateway): Promise<AuditEvent[]> {
  const res = await gw.api('/audit?kind=capabilities&limit=10000');
  expect(res.status).toBe(200);
  return (await res.json()) as AuditEvent[];
}

for (const store of STORES) {
  const available = store.name === 'sqlite' || postgresAvailable;
  describe.skipIf(!available)(`drafts activation and rollback in the audit trail on ${store.name}`, () => {
    let dir: string;
    let capDir: string;
    let db: TestDatabase;
    let gw: TestGateway;
    let rolledBack: string[];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mcpgw-capaudit-'));
      capDir = join(dir, 'capabilities');
      db = await store.create();
      gw = await startTestGateway(store, { CAPABILITY_DIRS: capDir }, db);
      const apply = run(['import', 'apply', '--kind', 'postman', FIXTURE, '-f', 'plain'], dir);
      expect(apply.code, apply.stderr).toBe(0);
      const manifest = /^manifest\t(.+)$/m.exec(apply.stdout)![1]!;
      const activated = run(['import', 'activate', manifest, '--draft', 'get_order', '--draft', 'list_orders', '--approve', '--actor', 'alice'], dir);
      expect(activated.code, activated.stderr).toBe(0);
      const back = run(['import', 'rollback', manifest, '--actor', 'bob'], dir);
      expect(back.code, back.stderr).toBe(0);
      expect(back.stdout).toContain(`audit\t${join(capDir, 'capability-audit.jsonl')}`);
      rolledBack = [...back.stdout.matchAll(/^removed\t.*\/([^/]+)\.yaml$/gm)].map((m) => m[1]!).sort();
      expect(rolledBack.length).toBeGreaterThan(0);
    });
    afterAll(async () => {
      await gw?.close();
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('records one event per activated and per rolled-back draft, with the actor from the record', async () => {
      const events = await waitFor(async () => {
        const list = await capabilityEvents(gw);
        return list.length >= 2 + rolledBack.length && list;
      }, 'the capability audit records to be mirrored');
      const activated = events.filter((e) => e.action === 'activate');
      expect(activated.map((e) => e.object_name).sort()).toEqual(['get_order', 'list_orders']);
      for (const e of activated) {
        expect(e).toMatchObject({ actor_subject: 'alice', actor_method: 'cli', kind: 'capabilities', outcome: 'ok', count: 1 });
        expect(e.object_id).toBe(join(capDir, `${e.object_name}.yaml`));
      }
      const rolled = events.filter((e) => e.action === 'rollback');
      expect(rolled.map((e) => e.object_name).sort()).toEqual(rolledBack);
      for (const e of rolled) expect(e).toMatchObject({ actor_subject: 'bob', actor_method: 'cli', outcome: 'ok' });
      expect(events).toHaveLength(2 + rolledBack.length);
      const filtered = (await (await gw.api('/audit?kind=capabilities&action=activate&actor=alice')).json()) as AuditEvent[];
      expect(filtered).toHaveLength(2);
    });

    it('mirrors each record once across a restart and a second instance on the same database', async () => {
      const before = (await capabilityEvents(gw)).map((e) => e.id).sort();
      const second = await startTestGateway(store, { CAPABILITY_DIRS: capDir }, db);
      try {
        await gw.close();
        gw = await startTestGateway(store, { CAPABILITY_DIRS: capDir }, db);
        expect((await capabilityEvents(second)).map((e) => e.id).sort()).toEqual(before);
        expect((await capabilityEvents(gw)).map((e) => e.id).sort()).toEqual(before);
      } finally {
        await second.close();
      }
    });

    it('mirrors a record appended later, skips a malformed line and one older than the retention', async () => {
      const file = join(capDir, 'capability-audit.jsonl');
      const count = (await capabilityEvents(gw)).length;
      appendFileSync(file, '{"not": "a record"\n');
      appendFileSync(file, `${JSON.stringify({ at: '2020-01-01T00:00:00.000Z', actor: 'old', action: 'activate', drafts: [{ name: 'ancient' }] })}\n`);
      appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), actor: 'carol', action: 'activate', drafts: [{ name: 'late_one', file: join(capDir, 'late_one.yaml') }] })}\n`);
      const events = await waitFor(async () => {
        const list = await capabilityEvents(gw);
        return list.some((e) => e.object_name === 'late_one') && list;
      }, 'the appended record');
      expect(events).toHaveLength(count + 1);
      expect(events.find((e) => e.object_name === 'late_one')).toMatchObject({ actor_subject: 'carol', action: 'activate' });
      expect(events.some((e) => e.object_name === 'ancient')).toBe(false);
      expect(gw.logs()).toContain('capability audit: skipping a line');
    });

    it('holds no credential value', async () => {
      const all = await (await gw.api('/audit?limit=10000')).text();
      const file = readFileSync(join(capDir, 'capability-audit.jsonl'), 'utf8');
      for (const secret of [CLI_SECRET, ADMIN.password]) {
        expect(all).not.toContain(secret);
        expect(file).not.toContain(secret);
      }
    });
  });
}
