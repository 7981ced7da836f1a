import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { CLI } from './helpers/processes.js';
import { STORES } from './helpers/stores.js';

// `mcpgateway token create|list|revoke` and `mcpgateway audit list|export`: the real binary against a gateway.
describe('token and audit commands', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(STORES[0]!);
    expect((await gw.api('/servers', { method: 'POST', body: { name: 'support' } })).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.close();
  });

  // Asynchronous: the gateway runs in this process and must answer while the command waits.
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH ?? '', MCPGATEWAY_URL: gw.url, MCPGATEWAY_BASIC_AUTH: `${ADMIN.user}:${ADMIN.password}`, ...env },
        timeout: 20_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += String(c)));
      child.stderr.on('data', (c) => (stderr += String(c)));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('creates a stored client token for one server, lists it without its secret, and revokes it', async () => {
    const created = await run(['token', 'create', '--name', 'support-agent', '--role', 'client', '--servers', 'support', '--expires', '30d']);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^mcpgw_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/only time its secret is shown/);
    const ok = await fetch(`${gw.url}/servers/support/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(ok.status).toBe(200);
    expect((await fetch(`${gw.url}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${secret}` } })).status).toBe(403);

    const list = await run(['token', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/support-agent\s+client\s+support\s+20\d\d-/);
    expect(list.stdout).not.toContain(secret);
    const json = JSON.parse((await run(['token', 'list', '--json'])).stdout) as { name: string; servers: string[] }[];
    expect(json).toEqual([expect.objectContaining({ name: 'support-agent', servers: ['support'] })]);

    const revoked = await run(['token', 'revoke', 'support-agent']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/revoked token "support-agent"/);
    expect((await fetch(`${gw.url}/servers/support/mcp`, { method: 'POST', headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    expect((await run(['token', 'revoke', 'support-agent'])).code).toBe(0);
    const missing = await run(['token', 'revoke', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no token "nope"/);
  });

  it('exits 2 on bad usage, and 1 when the gateway refuses the credentials', async () => {
    expect((await run(['token', 'create', '--name', 'x'])).code).toBe(2);
    expect((await run(['token', 'create', '--name', 'x', '--role', 'root'])).code).toBe(2);
    expect((await run(['token', 'create', '--name', 'x', '--role', 'viewer', '--servers', 'a'])).code).toBe(2);
    expect((await run(['token', 'create', '--name', 'x', '--role', 'viewer', '--expires', 'soon'])).code).toBe(2);
    expect((await run(['audit', 'list', '--since', 'last-week'])).code).toBe(2);
    const refused = await run(['token', 'list'], { MCPGATEWAY_BASIC_AUTH: 'admin:wrong-password' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the credentials/);
  });

  it('lists and exports the audit trail since a time', async () => {
    const list = await run(['audit', 'list', '--since', '1h', '--kind', 'tokens']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/admin\s+create\s+tokens\s+support-agent/);
    expect(list.stdout).toMatch(/admin\s+revoke\s+tokens\s+support-agent/);
    const exported = await run(['audit', 'export', '--since', '1h']);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; action: string });
    expect(lines.some((e) => e.kind === 'servers' && e.action === 'create')).toBe(true);
    expect(lines.some((e) => e.kind === 'tokens' && e.action === 'revoke')).toBe(true);
    expect(exported.stdout).not.toMatch(/mcpgw_[A-Za-z0-9_-]{20,}/);
    const future = await run(['audit', 'export', '--since', new Date(Date.now() + 3_600_000).toISOString()]);
    expect(future.stdout).toBe('');
  });
});
