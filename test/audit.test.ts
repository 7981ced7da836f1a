import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/cli/token.js';
import type { AuditEvent } from '../src/services/audit.js';
import { ADMIN, JWT_SECRET, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const AUTH_SECRET = 'tok-very-secret-value-0123456789';

for (const store of STORES) {
  const available = store.name === 'sqlite' || postgresAvailable;
  describe.skipIf(!available)(`audit trail on ${store.name}`, () => {
    let gw: TestGateway;
    const secrets: string[] = [ADMIN.password, AUTH_SECRET];
    let editor: { id: string; token: string };
    const events: AuditEvent[] = [];

    const as = (authorization: string) => (path: string, init: { method?: string; body?: unknown; contentType?: string } = {}) =>
      fetch(gw.url + path, {
        method: init.method ?? 'GET',
        headers: { authorization, ...(init.body !== undefined ? { 'content-type': init.contentType ?? 'application/json' } : {}) },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });

    beforeAll(async () => {
      gw = await startTestGateway(store);
      const admin = as(basic(ADMIN.user, ADMIN.password));
      const tool = (await (await admin('/tools', { method: 'POST', body: { name: 'audited', url: 'http://127.0.0.1:9/x', auth_type: 'bearer', auth_token: AUTH_SECRET } })).json()) as { id: string };
      editor = (await (await admin('/tokens', { method: 'POST', body: { name: 'editor-bot', role: 'editor' } })).json()) as { id: string; token: string };
      const viewer = (await (await admin('/tokens', { method: 'POST', body: { name: 'viewer-bot', role: 'viewer' } })).json()) as { id: string; token: string };
      secrets.push(editor.token, viewer.token);
      const jwt = await createToken(JWT_SECRET, 'jwt-editor', 600, undefined, { role: 'editor' });
      secrets.push(jwt);
      const asEditor = as(`Bearer ${editor.token}`);
      expect((await asEditor(`/tools/${tool.id}`, { method: 'PATCH', body: { description: 'changed', auth_token: `${AUTH_SECRET}-2` }, contentType: 'application/merge-patch+json' })).status).toBe(200);
      secrets.push(`${AUTH_SECRET}-2`);
      expect((await as(`Bearer ${jwt}`)('/prompts', { method: 'POST', body: { name: 'p1', template: 'hi' } })).status).toBe(201);
      expect((await as(`Bearer ${viewer.token}`)('/prompts', { method: 'POST', body: { name: 'p2', template: 'no' } })).status).toBe(403);
      const exported = await (await asEditor('/export')).json();
      const imported = await asEditor('/import?conflict=update', { method: 'POST', body: exported });
      expect(imported.status, await imported.clone().text()).toBe(200);
      expect((await admin(`/tokens/${viewer.id}`, { method: 'DELETE' })).status).toBe(200);
      expect((await admin('/prompts/p1', { method: 'DELETE' })).status).toBe(204);
      for (let i = 0; i < 7; i++) expect((await as(basic(ADMIN.user, `guess-${i}`))('/tools')).status).toBe(401);
      gw.gateway.audit.flushRefusals();
      // Read every page, two at a time, through the cursor.
      let cursor: string | null = null;
      do {
        const res = await as(basic(ADMIN.user, ADMIN.password))(`/audit?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status).toBe(200);
        events.push(...((await res.json()) as AuditEvent[]));
        cursor = res.headers.get('x-next-cursor');
      } while (cursor);
    });
    afterAll(async () => {
      await gw?.close();
    });

    const find = (action: string, kind: string) => events.filter((e) => e.action === action && e.kind === kind);

    it('records each write once, with its actor and the names (not values) of the fields sent', () => {
      const created = find('create', 'tools');
      expect(created).toHaveLength(1);
      expect(created[0]).toMatchObject({ actor_subject: ADMIN.user, actor_method: 'basic', actor_token_id: null, object_name: 'audited', outcome: 'ok', count: 1, source: '127.0.0.1' });
      expect(created[0]!.fields).toEqual(['auth_token', 'auth_type', 'name', 'url']);
      expect(created[0]!.request_id).toBeTruthy();
      const updated = find('update', 'tools');
      expect(updated).toHaveLength(1);
      expect(updated[0]).toMatchObject({ actor_subject: 'editor-bot', actor_method: 'token', actor_token_id: editor.id, object_name: 'audited', fields: ['auth_token', 'description'] });
      expect(find('create', 'prompts').filter((e) => e.outcome === 'ok')).toEqual([expect.objectContaining({ actor_subject: 'jwt-editor', actor_method: 'bearer', outcome: 'ok', object_name: 'p1' })]);
      expect(find('delete', 'prompts')).toEqual([expect.objectContaining({ actor_subject: ADMIN.user, object_id: 'p1', outcome: 'ok' })]);
    });

    it('records a write refused by role, with who tried', () => {
      const refused = events.filter((e) => e.outcome === 'failed:FORBIDDEN');
      expect(refused).toEqual([expect.objectContaining({ action: 'create', kind: 'prompts', actor_subject: 'viewer-bot' })]);
    });

    it('records token create and revoke, export, and an import as one summary plus one event per object', () => {
      expect(find('create', 'tokens').map((e) => e.object_name)).toEqual(['editor-bot', 'viewer-bot']);
      expect(find('revoke', 'tokens')).toEqual([expect.objectContaining({ object_name: 'viewer-bot', actor_subject: ADMIN.user })]);
      expect(find('export', 'export')).toEqual([expect.objectContaining({ actor_subject: 'editor-bot', outcome: 'ok' })]);
      expect(find('import', 'import')).toHaveLength(1);
      const perObject = events.filter((e) => e.action === 'import' && e.kind !== 'import');
      expect(perObject.map((e) => `${e.kind}:${e.object_name}`).sort()).toEqual(['prompts:p1', 'tools:audited']);
      expect(perObject.every((e) => e.actor_subject === 'editor-bot')).toBe(true);
    });

    it('aggregates refused sign-ins into one event per source', () => {
      expect(find('authenticate', 'auth')).toEqual([expect.objectContaining({ source: '127.0.0.1', outcome: 'refused', count: 7, object_name: ADMIN.user, actor_subject: null })]);
    });

    it('holds no credential value anywhere', () => {
      const text = JSON.stringify(events);
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/mcpgw_[A-Za-z0-9_-]{20,}/);
    });

    it('filters by kind, action, actor and time, and refuses a bad query', async () => {
      const admin = as(basic(ADMIN.user, ADMIN.password));
      const tools = (await (await admin('/audit?kind=tools&action=update')).json()) as AuditEvent[];
      expect(tools.map((e) => e.actor_subject)).toEqual(['editor-bot']);
      const byActor = (await (await admin('/audit?actor=jwt-editor')).json()) as AuditEvent[];
      expect(byActor.map((e) => e.action)).toEqual(['create']);
      expect(((await (await admin(`/audit?since=${new Date(Date.now() + 60_000).toISOString()}`)).json()) as unknown[]).length).toBe(0);
      for (const bad of ['since=yesterday', 'limit=0', 'colour=red']) {
        const res = await admin(`/audit?${bad}`);
        expect(res.status, bad).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe('BAD_QUERY');
      }
      expect((await as(`Bearer ${editor.token}`)('/audit')).status).toBe(403);
    });

    it('deletes events older than the retention', async () => {
      expect(await gw.gateway.audit.prune(Date.now() + 91 * 86_400_000)).toBeGreaterThan(5);
      const left = (await (await as(basic(ADMIN.user, ADMIN.password))('/audit')).json()) as AuditEvent[];
      expect(left.filter((e) => e.action !== 'list')).toHaveLength(0);
    });
  });
}
