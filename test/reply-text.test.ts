import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReplyText } from '../src/upstream/limits.js';

// Real replies from a loopback server, read the way the fast path reads them (undici.request).
describe('readReplyText: upstream reply bodies against MAX_RESPONSE_BYTES', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const size = Number(new URL(req.url!, 'http://x').searchParams.get('size'));
      const body = 'x'.repeat(size);
      if (req.url!.startsWith('/chunked')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(body.slice(0, size / 2));
        res.end(body.slice(size / 2));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(size) });
        res.end(body);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const read = async (path: string, max: number | undefined) => {
    const res = await request(base + path);
    return readReplyText(res.body, res.headers['content-length'], max, 'the upstream reply');
  };

  it('reads a reply whose declared length fits, whole', async () => {
    expect(await read('/sized?size=1000', 1000)).toHaveLength(1000);
  });

  it('refuses a reply whose declared length is over the limit, naming the limit', async () => {
    await expect(read('/sized?size=1001', 1000)).rejects.toThrow(/the upstream reply exceeds MAX_RESPONSE_BYTES \(1000 bytes\).*UPSTREAM_REPLY_TOO_LARGE/);
  });

  it('counts a reply without a declared length as it arrives', async () => {
    expect(await read('/chunked?size=1000', 1000)).toHaveLength(1000);
    await expect(read('/chunked?size=2000', 1000)).rejects.toThrow(/MAX_RESPONSE_BYTES \(1000 bytes\)/);
  });

  it('reads without a limit when there is none', async () => {
    expect(await read('/chunked?size=5000', undefined)).toHaveLength(5000);
  });

  it('takes the whole-body read when the declared length fits, and counts chunks otherwise', async () => {
    // A stand-in body whose two ways of reading give different text, to see which one was taken.
    const body = { text: async () => 'whole', async *[Symbol.asyncIterator]() { yield Buffer.from('chunks'); } };
    expect(await readReplyText(body, '5', 10, 'the upstream reply')).toBe('whole');
    expect(await readReplyText(body, undefined, 10, 'the upstream reply')).toBe('chunks');
    // A declared length over the limit is not trusted either way: what arrives is counted.
    expect(await readReplyText(body, '11', 10, 'the upstream reply')).toBe('chunks');
  });

  it('does not trust a Content-Length that is not a plain number', async () => {
    const body = { text: async () => 'x'.repeat(50), async *[Symbol.asyncIterator]() { yield Buffer.from('x'.repeat(50)); } };
    await expect(readReplyText(body, '10, 10', 20, 'the upstream reply')).rejects.toThrow(/MAX_RESPONSE_BYTES \(20 bytes\)/);
    await expect(readReplyText(body, '-1', 20, 'the upstream reply')).rejects.toThrow(/MAX_RESPONSE_BYTES/);
  });
});
