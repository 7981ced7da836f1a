import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuth2Tokens } from '../src/upstream/oauth2.js';
import { OutboundPolicy } from '../src/upstream/outbound-policy.js';

// OAuth token endpoints under the outbound policy and MAX_RESPONSE_BYTES (issue 10). A real token
// endpoint on loopback; the deny range is loopback only, so nothing leaves the machine.
let server: http.Server;
let url: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const big = req.url === '/big';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: 'tok', token_type: 'bearer', expires_in: 60, ...(big ? { padding: 'x'.repeat(10_000) } : {}) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const config = (path: string) => ({ token_url: `${url}${path}`, client_id: 'id', client_secret: 'shh' });

describe('OAuth token endpoints', () => {
  it('are refused by the outbound policy on their resolved address', async () => {
    const denied = new OAuth2Tokens({ connect: new OutboundPolicy([], ['127.0.0.0/8']).connector() });
    await expect(Promise.resolve(denied.token(config('/token')))).rejects.toThrow(/outbound policy denies 127\.0\.0\.1/);
    const allowed = new OAuth2Tokens({ connect: new OutboundPolicy().connector() });
    expect(await allowed.token(config('/token'))).toBe('tok');
  });

  it('read their answer up to MAX_RESPONSE_BYTES and name the limit past it', async () => {
    const tokens = new OAuth2Tokens({ maxResponseBytes: 2_000 });
    const error = await Promise.resolve(tokens.token(config('/big'))).then(() => undefined, (e: Error) => e.message);
    expect(error).toContain('MAX_RESPONSE_BYTES');
    expect(error).toContain('UPSTREAM_REPLY_TOO_LARGE');
    expect(error).not.toContain('shh');
    expect(await tokens.token(config('/token'))).toBe('tok');
  });
});
