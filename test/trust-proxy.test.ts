import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { STORES } from './helpers/stores.js';

// Behind a load balancer every request comes from the balancer's address: without TRUST_PROXY the
// failed-sign-in throttle counts every client together (one client's typos lock out the rest);
// with it, the address is the one the trusted proxy puts in X-Forwarded-For. The test plays the
// proxy itself (loopback peer, hand-set X-Forwarded-For), as nginx's proxy_add_x_forwarded_for does.
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('TRUST_PROXY and the failed sign-in throttle', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  const signIn = (authorization: string, forwardedFor: string) => fetch(`${gw!.url}/tools`, { headers: { authorization, 'x-forwarded-for': forwardedFor } });
  /** Three wrong passwords, each for another user, all from one forwarded client address. */
  const failFrom = async (address: string) => {
    for (let i = 0; i < 3; i++) expect((await signIn(basic(`user-${i}`, 'wrong'), address)).status).toBe(401);
  };

  it('counts clients apart by X-Forwarded-For when the proxy is trusted', async () => {
    gw = await startTestGateway(STORES[0]!, { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SECONDS: '60', TRUST_PROXY: 'loopback' });
    await failFrom('203.0.113.1');
    expect((await signIn(basic('someone', 'wrong'), '203.0.113.1')).status).toBe(429);
    // Another client behind the same proxy is not locked out, with good or bad credentials.
    expect((await signIn(basic(ADMIN.user, ADMIN.password), '203.0.113.2')).status).toBe(200);
    expect((await signIn(basic('someone-else', 'wrong'), '203.0.113.2')).status).toBe(401);
    // The audit trail records the forwarded address of the refused sign-ins.
    gw.gateway.audit.flushRefusals(); // refusals are written once a minute, one row per source
    await gw.gateway.audit.settle();
    const audit = (await (await gw.api('/audit?action=authenticate&limit=50')).json()) as { source?: string }[] | { items?: { source?: string }[] };
    const events = Array.isArray(audit) ? audit : (audit.items ?? []);
    expect(events.map((e) => e.source)).toContain('203.0.113.1');
    expect(JSON.stringify(events)).not.toContain('127.0.0.1');
  });

  it('ignores X-Forwarded-For by default, and from a peer that is not a named proxy', async () => {
    for (const env of [{}, { TRUST_PROXY: '10.0.0.0/8' }] as Record<string, string>[]) {
      gw = await startTestGateway(STORES[0]!, { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SECONDS: '60', ...env });
      await failFrom('203.0.113.1');
      // A client cannot pick a fresh address for itself: the peer (loopback) is what counts.
      expect((await signIn(basic('someone-else', 'wrong'), '203.0.113.99')).status, JSON.stringify(env)).toBe(429);
      await gw.close();
      gw = undefined;
    }
  });
});
