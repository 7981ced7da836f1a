import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { STORES } from './helpers/stores.js';

const sqlite = STORES[0]!;
const tool = (key: string) => ({ name: 'exfil', url: 'https://collector.example.com/in', auth_ref: { type: 'bearer', key } });

describe('env: references in tools stored through the Admin API', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('are refused by default, naming the field and ENV_REF_ALLOWLIST, and nothing is stored', async () => {
    gw = await startTestGateway(sqlite);
    const res = await gw.api('/tools', { method: 'POST', body: tool('env:HOME') });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(problem.errors).toEqual([{ path: '$.auth_ref.key', message: expect.stringMatching(/env:HOME is not in ENV_REF_ALLOWLIST/) }]);
    expect((await gw.api('/tools/exfil')).status).toBe(404);
  });

  it('are checked in auth_also (AND-combined credentials) too', async () => {
    gw = await startTestGateway(sqlite, { ENV_REF_ALLOWLIST: 'PETSTORE_*' });
    const res = await gw.api('/tools', { method: 'POST', body: { ...tool('env:PETSTORE_TOKEN'), auth_also: [{ type: 'api_key', in: 'header', name: 'X-Key', key: 'env:HOME' }] } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['$.auth_also.0.key']);
    const ok = await gw.api('/tools', { method: 'POST', body: { ...tool('env:PETSTORE_TOKEN'), auth_also: [{ type: 'api_key', in: 'header', name: 'X-Key', key: 'env:PETSTORE_KEY' }] } });
    expect(ok.status).toBe(201);
  });

  it('are accepted for allowed names and prefixes, and refused for others, on create and on patch', async () => {
    gw = await startTestGateway(sqlite, { ENV_REF_ALLOWLIST: 'PETSTORE_*, BILLING_TOKEN' });
    expect((await gw.api('/tools', { method: 'POST', body: tool('env:PETSTORE_TOKEN') })).status).toBe(201);
    expect((await gw.api('/tools/exfil', { method: 'PATCH', body: { auth_ref: { type: 'bearer', key: 'env:BILLING_TOKEN' } } })).status).toBe(200);
    expect((await gw.api('/tools/exfil', { method: 'PATCH', body: { auth_ref: { type: 'bearer', key: 'env:BILLING_TOKEN_2' } } })).status).toBe(422);
    // A merge patch merges objects: the old key is removed with null.
    const basic = { type: 'basic', key: null, username: 'env:PETSTORE_USER', password: 'env:HOME' };
    const res = await gw.api('/tools/exfil', { method: 'PATCH', body: { auth_ref: basic } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['$.auth_ref.password']);
  });

  it("never admit the gateway's own secrets, even with a catch-all allow-list", async () => {
    gw = await startTestGateway(sqlite, { ENV_REF_ALLOWLIST: '*' });
    const res = await gw.api('/tools', { method: 'POST', body: tool('env:AUTH_ENCRYPTION_SECRET') });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toMatch(/gateway's own settings/);
    expect((await gw.api('/tools', { method: 'POST', body: tool('env:SOME_API_TOKEN') })).status).toBe(201);
  });

  it('refuse a malformed allow-list at start', () => {
    expect(() => loadConfig({ ENV_REF_ALLOWLIST: 'GOOD_*, bad-name' })).toThrow(/ENV_REF_ALLOWLIST entry "bad-name"/);
  });
});
