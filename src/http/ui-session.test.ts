import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { ruleFor } from './permissions.js';
import { cookieValue, SESSION_IDLE_MS, SESSION_MAX_MS, sessionCookie, UiSessions } from './ui-session.js';

const admin = { subject: 'admin', method: 'basic' as const, role: 'admin' as const };
const request = (method: string, cookie?: string, csrf?: string) =>
  ({ method, headers: { ...(cookie ? { cookie } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) } }) as unknown as FastifyRequest;

describe('admin page sessions', () => {
  it('admits a read with the cookie alone and a write only with the session CSRF token', () => {
    const sessions = new UiSessions();
    const { id, csrf } = sessions.create(admin);
    const cookie = `other=1; mcpgw_session=${id}`;
    expect(sessions.authenticate(request('GET', cookie))).toEqual({ subject: 'admin', method: 'session', role: 'admin' });
    const forged = sessions.authenticate(request('POST', cookie));
    expect(forged).toBeInstanceOf(GatewayError);
    expect((forged as GatewayError).code).toBe('CSRF_INVALID');
    expect((sessions.authenticate(request('DELETE', cookie, `${csrf}x`)) as GatewayError).code).toBe('CSRF_INVALID');
    expect(sessions.authenticate(request('PATCH', cookie, csrf))).toMatchObject({ method: 'session' });
    expect(sessions.authenticate(request('GET'))).toBeUndefined();
  });

  it('ends a session after 30 idle minutes, after 8 hours in any case, and on sign-out', () => {
    let now = 1_000_000;
    const sessions = new UiSessions(() => now);
    const idle = sessions.create(admin);
    now += SESSION_IDLE_MS - 1;
    expect(sessions.lookup(idle.id)).toBeDefined();
    now += SESSION_IDLE_MS - 1;
    expect(sessions.lookup(idle.id)).toBeDefined();
    now += SESSION_IDLE_MS;
    expect(sessions.lookup(idle.id)).toBeUndefined();

    const busy = sessions.create(admin);
    const end = now + SESSION_MAX_MS;
    while (now + 20 * 60_000 < end) {
      now += 20 * 60_000;
      expect(sessions.lookup(busy.id)).toBeDefined();
    }
    now = end;
    expect(sessions.lookup(busy.id)).toBeUndefined();

    const revoked = sessions.create(admin);
    sessions.revoke(revoked.id);
    expect((sessions.authenticate(request('GET', `mcpgw_session=${revoked.id}`)) as GatewayError).code).toBe('SESSION_EXPIRED');
  });

  it('keeps a role the principal carries', () => {
    const sessions = new UiSessions();
    const { id } = sessions.create({ subject: 'v', method: 'bearer', role: 'viewer' } as never);
    expect(sessions.lookup(id)?.principal).toEqual({ subject: 'v', method: 'session', role: 'viewer' });
  });

  it('writes the cookie HttpOnly and SameSite=Strict, Secure only over TLS', () => {
    expect(sessionCookie('abc', 60, false)).toBe('mcpgw_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60');
    expect(sessionCookie('abc', 60, true)).toBe('mcpgw_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure');
    expect(cookieValue('a=1; mcpgw_session=xyz ; b=2', 'mcpgw_session')).toBe('xyz');
    expect(cookieValue('mcpgw_sessionx=1', 'mcpgw_session')).toBeUndefined();
  });

  it('lets only the page, its assets and the session probe load without credentials', () => {
    expect(ruleFor('GET', '/admin', undefined).permission).toBe('public');
    expect(ruleFor('GET', '/admin/assets/:file', undefined).permission).toBe('public');
    expect(ruleFor('GET', '/admin/session', undefined).permission).toBe('public');
    expect(ruleFor('POST', '/admin/session', undefined).permission).toBe('any');
    expect(ruleFor('POST', '/admin/api/import-plan', undefined).permission).toBe('editor');
    expect(ruleFor('GET', '/gateways', undefined).permission).toBe('viewer');
  });
});
