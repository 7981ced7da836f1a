import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GatewayError } from '../errors.js';

/** Write a file whole or not at all: into a temporary sibling, then renamed over the target. */
export function writeFileAtomic(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new GatewayError('FILE_UNREADABLE', `cannot write ${path}: ${(error as Error).message}`);
  }
}

/** Stream into a file whole or not at all. */
export async function streamFileAtomic(path: string, source: Readable): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    await pipeline(source, createWriteStream(temporary, { mode: 0o600 }));
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('FILE_UNREADABLE', `cannot write ${path}: ${(error as Error).message}`);
  }
}
