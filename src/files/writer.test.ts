import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { makeFolder, streamFileAtomic, writeFileAtomic } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The error a call throws, for its code and message. */
async function failure(run: () => unknown): Promise<GatewayError> {
  try {
    await run();
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected a failure');
}

describe('the one file writer', () => {
  it('writes a file whole, replacing what was there, with the mode asked for', () => {
    const path = join(dir, 'whole.json');
    writeFileSync(path, 'old contents that are longer than the new ones');
    writeFileAtomic(path, '{"new":true}\n', { mode: 0o600, fsync: true });
    expect(readFileSync(path, 'utf8')).toBe('{"new":true}\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((name) => name.startsWith('whole.json'))).toEqual(['whole.json']);
  });

  it('answers WRITE_FAILED naming the path and the reason, and leaves nothing behind, when the file cannot be written', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const target = join(blocker, 'inside.json');
    for (const run of [() => writeFileAtomic(target, 'text'), () => streamFileAtomic(target, Readable.from(['text'])), () => makeFolder(join(blocker, 'sub'))]) {
      const error = await failure(run);
      expect(error).toBeInstanceOf(GatewayError);
      expect(error.code).toBe('WRITE_FAILED');
      expect(error.message).toMatch(new RegExp(`^cannot write ${blocker}/(inside.json|sub): ENOTDIR`));
    }
    expect(readFileSync(blocker, 'utf8')).toBe('x');
  });

  it('streams a file whole, and a failing source leaves the old file and no temporary one', async () => {
    const path = join(dir, 'streamed.json');
    await streamFileAtomic(path, Readable.from(['{"part":', '1}']), { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('{"part":1}');
    const broken = new Readable({
      read() {
        this.push('{"half":');
        this.destroy(new Error('connection reset'));
      },
    });
    const error = await failure(() => streamFileAtomic(path, broken));
    expect(error.code).toBe('WRITE_FAILED');
    expect(error.message).toContain('connection reset');
    expect(readFileSync(path, 'utf8')).toBe('{"part":1}');
    expect(readdirSync(dir).filter((name) => name.startsWith('streamed.json'))).toEqual(['streamed.json']);
  });

  it('makes a folder and its parents, and a folder that exists is fine', () => {
    const deep = join(dir, 'x', 'y', 'z');
    makeFolder(deep);
    makeFolder(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
  });
});
