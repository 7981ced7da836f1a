import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { postgresAvailable, STORES } from './helpers/stores.js';

// Raw HTTP over a socket: these requests are ones fetch() refuses to send.
function raw(gw: TestGateway, text: string | Buffer): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.on('data', (d) => (out += String(d)));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const [head = '', body = ''] = out.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      const type = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
      try {
        resolve({ status, type, body: JSON.parse(body) as Record<string, unknown> });
      } catch {
        reject(new Error(`not JSON: ${out.slice(0, 300)}`));
      }
    });
  });
}
const AUTH = `Authorization: Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;
const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${AUTH}\r\n${extra}Connection: close\r\n\r\n`;
const postJson = (body: Buffer, length = body.length) =>
  Buffer.concat([Buffer.from(`POST /tools HTTP/1.1\r\nHost: localhost\r\n${AUTH}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`), body]);

for (const store of STORES) {
  describe.skipIf(store.name === 'postgres' && !postgresAvailable)(`Fastify's own errors as problem+json on ${store.name}`, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(store, { REQUEST_TIMEOUT_MS: '1500' });
    });
    afterAll(async () => {
      await gw?.close();
    });

    it.each([
      ['an overlong path parameter', get(`/tools/${'a'.repeat(3000)}`), 400, 'BAD_REQUEST'],
      ['bad percent-encoding', get('/tools/%E0%A4%A'), 400, 'BAD_REQUEST'],
      ['oversized headers', get('/tools', `X-Big: ${'b'.repeat(20_000)}\r\n`), 431, 'HEADERS_TOO_LARGE'],
      ['a NUL in a path id', get('/tools/a%00b'), 400, 'BAD_REQUEST'],
    ])('%s', async (_what, request, status, code) => {
      const res = await raw(gw, request);
      expect(res.status).toBe(status);
      expect(res.type).toContain('application/problem+json');
      expect(res.body.code).toBe(code);
    });

    it('refuses invalid UTF-8 with BODY_NOT_UTF8 and stores nothing', async () => {
      const body = Buffer.concat([Buffer.from('{"name":"bad","description":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('","url":"http://127.0.0.1:9/x"}')]);
      const res = await raw(gw, postJson(body));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('BODY_NOT_UTF8');
      expect((await gw.api('/tools/bad')).status).toBe(404);
    });

    it('answers a body shorter than its Content-Length with 408 problem+json instead of waiting for ever', async () => {
      const res = await raw(gw, postJson(Buffer.from('{"name":"x"}'), 100));
      expect(res.status).toBe(408);
      expect(res.type).toContain('application/problem+json');
      expect(res.body.code).toBe('REQUEST_TIMEOUT');
    }, 20_000);
  });
}
