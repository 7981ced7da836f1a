import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import writeFileAtomicSync from 'write-file-atomic';
import { GatewayError } from '../errors.js';

/**
 * The one way the gateway writes a file (an export, a rekeyed document, `cap import` output, the
 * planner's drafts and manifest): whole or not at all, through a temporary sibling renamed over the
 * target, and every failure is `WRITE_FAILED` naming the path and the system's reason.
 */

/** Options of one write; `mode` defaults to the system's (umask), `fsync` to false. */
export interface WriteOptions {
  mode?: number;
  /** Flush to disk before the rename (documents people keep: exports); drafts and generated files skip it. */
  fsync?: boolean;
}

/** Write `text` to `path` whole or not at all. */
export function writeFileAtomic(path: string, text: string, options: WriteOptions = {}): void {
  try {
    writeFileAtomicSync.sync(path, text, { encoding: 'utf8', fsync: options.fsync ?? false, ...(options.mode !== undefined ? { mode: options.mode } : {}) });
  } catch (error) {
    throw writeFailed(path, error);
  }
}

/** Stream `source` into `path` whole or not at all (write-file-atomic takes no stream). */
export async function streamFileAtomic(path: string, source: Readable, options: WriteOptions = {}): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await pipeline(source, createWriteStream(temporary, { flags: 'wx', ...(options.mode !== undefined ? { mode: options.mode } : {}) }));
    renameSync(temporary, path);
  } catch (error) {
    removeQuietly(temporary);
    throw writeFailed(path, error);
  }
}

/** Make a folder and its parents (nothing when it exists); a path that cannot be one is `WRITE_FAILED`. */
export function makeFolder(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw writeFailed(path, error);
  }
}

/** Remove a temporary file if it is there; one that could never be made (ENOTDIR) is no error. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing was created there
  }
}

/** The coded error for a file or folder that cannot be written. */
export function writeFailed(path: string, error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError('WRITE_FAILED', `cannot write ${path}: ${(error as Error).message}`);
}
