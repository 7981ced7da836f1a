import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekeyDocument } from '../src/cli/rekey.js';
import { AuthCipher } from '../src/crypto/auth-value.js';
import { ENV_MASK, scrubSecrets } from '../src/services/env-secrets.js';
import { startTestGateway, TEST_SECRET, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/mcp.js';
import { STORES } from './helpers/stores.js';

const sqlite = STORES[0]!;
const SECRET = 'sk-live-0123456789-very-secret';
const OTHER = 'second-secret-value-42';
// A stdio "server" that prints its environment's key to stderr and exits: what leaks into last_error today.
const LEAKER = `process.stderr.write('starting with API_KEY=' + process.env.API_KEY + ' TOKEN=' + process.env.TOKEN + '\\n'); process.exit(3)`;

describe('stdio gateway env values are write-only secrets', () => {
  let gw: TestGateway;
  const cipher = new AuthCipher(TEST_SECRET);
  beforeAll(async () => {
    gw = await startTestGateway(sqlite, { HEALTH_CHECK_INTERVAL_MS: '100000' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('stores and returns env names with masked values, the values only encrypted in env_value', async () => {
    const created = await gw.api('/gateways', {
      method: 'POST',
      body: { name: 'leaky', transport: 'stdio', command: process.execPath, args: ['-e', LEAKER], env: { API_KEY: SECRET, TOKEN: OTHER } },
    });
    expect(created.status).toBe(201);
    const createdText = await created.text();
    expect(createdText).not.toContain(SECRET);
    const got = (await (await gw.api('/gateways/leaky')).json()) as { env: Record<string, string>; env_value: string };
    expect(got.env).toEqual({ API_KEY: ENV_MASK, TOKEN: ENV_MASK });
    expect(cipher.decrypt(got.env_value)).toEqual({ API_KEY: SECRET, TOKEN: OTHER });
    // The stored row holds no plaintext either.
    const row = await gw.gateway.store.get('gateways', 'leaky');
    expect(JSON.stringify(row)).not.toContain(SECRET);
    const exported = await (await gw.api('/export')).text();
    expect(exported).not.toContain(SECRET);
    expect(exported).toContain(got.env_value);
  });

  it('scrubs the values from the child stderr before last_error and the log', async () => {
    const gateway = await waitFor(async () => {
      const g = (await (await gw.api('/gateways/leaky')).json()) as { last_error: string | null };
      return g.last_error && g.last_error.includes('starting with') ? g : undefined;
    }, 'last_error with the child stderr');
    expect(gateway.last_error).not.toContain(SECRET);
    expect(gateway.last_error).not.toContain(OTHER);
    expect(gateway.last_error).toContain('API_KEY=***');
    expect(gw.logs()).not.toContain(SECRET);
    expect(gw.logs()).not.toContain(OTHER);
  });

  it('keeps masked values on PUT of a GET body, merges a PATCH, refuses a mask with no stored value', async () => {
    const got = (await (await gw.api('/gateways/leaky')).json()) as Record<string, unknown>;
    const body = Object.fromEntries(
      Object.entries(got).filter(([k]) => !['id', 'created_at', 'updated_at', 'capabilities', 'reachable', 'last_seen', 'last_error', 'collisions'].includes(k)),
    );
    const put = await gw.api('/gateways/leaky', { method: 'PUT', body: { ...body, is_active: false } });
    expect(put.status).toBe(200);
    const afterPut = (await put.json()) as { env_value: string };
    expect(cipher.decrypt(afterPut.env_value)).toEqual({ API_KEY: SECRET, TOKEN: OTHER });
    const patched = (await (await gw.api('/gateways/leaky', { method: 'PATCH', body: { env: { TOKEN: null, NEW_ONE: 'fresh-value' } }, headers: { 'content-type': 'application/merge-patch+json' } })).json()) as {
      env: Record<string, string>;
      env_value: string;
    };
    expect(patched.env).toEqual({ API_KEY: ENV_MASK, NEW_ONE: ENV_MASK });
    expect(cipher.decrypt(patched.env_value)).toEqual({ API_KEY: SECRET, NEW_ONE: 'fresh-value' });
    const bad = await gw.api('/gateways', { method: 'POST', body: { name: 'masked', transport: 'stdio', command: 'x', env: { NOPE: ENV_MASK }, is_active: false } });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('$.env.NOPE');
  });

  it('imports an exported env_value into another gateway with the same secret; export rekey re-encrypts it', async () => {
    const doc = (await (await gw.api('/export?include_inactive=true')).json()) as { gateways: Record<string, unknown>[] };
    const other = await startTestGateway(sqlite);
    try {
      const res = await other.api('/import', { method: 'POST', body: doc });
      expect(res.status).toBe(200);
      const imported = (await (await other.api('/gateways/leaky')).json()) as { env_value: string };
      expect(cipher.decrypt(imported.env_value)).toEqual({ API_KEY: SECRET, NEW_ONE: 'fresh-value' });
    } finally {
      await other.close();
    }
    const next = new AuthCipher('another-encryption-secret-0123456789abcdef');
    const { text, count } = rekeyDocument(doc, cipher, next);
    expect(count).toBeGreaterThanOrEqual(1);
    const rekeyed = JSON.parse(text) as { gateways: { env_value: string }[] };
    expect(next.decrypt(rekeyed.gateways[0]!.env_value)).toEqual({ API_KEY: SECRET, NEW_ONE: 'fresh-value' });
  });
});

describe('scrubSecrets', () => {
  it('replaces every occurrence, longest first, and leaves very short values alone', () => {
    expect(scrubSecrets('a=abcdef b=abcdefgh c=xy', ['abcdef', 'abcdefgh', 'xy'])).toBe('a=*** b=*** c=xy');
  });
});

describe('files holding key material', () => {
  it('creates the trial-mode SQLite database (which holds the generated secret) mode 0600', async () => {
    const db = await sqlite.create();
    const gw = await startTestGateway(sqlite, { AUTH_ENCRYPTION_SECRET: '' }, db);
    try {
      const path = db.url.slice('sqlite:'.length);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      await gw.api('/tools', { method: 'POST', body: { name: 't', url: 'http://127.0.0.1:9/x' } });
      for (const suffix of ['-wal', '-shm']) expect(statSync(path + suffix).mode & 0o777).toBe(0o600);
    } finally {
      await gw.close();
      await db.drop();
    }
  });
});
