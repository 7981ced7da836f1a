import { readFileSync, statSync } from 'node:fs';
import { GatewayError } from '../errors.js';
import { parseJsonText } from '../services/transfer/import-document.js';

/** The largest file import and rekey read, unless --max-bytes or MCPGATEWAY_IMPORT_MAX_BYTES say otherwise. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** The size cap from a flag, else the environment, else the default. */
export function maxFileBytes(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const raw = flag ?? env.MCPGATEWAY_IMPORT_MAX_BYTES;
  if (raw === undefined || raw === '') return DEFAULT_MAX_FILE_BYTES;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new GatewayError('CLI_USAGE', `--max-bytes must be a whole number of bytes, not "${raw}"`);
  return Number(raw);
}

/**
 * Read a JSON file, refusing one over the cap before reading a byte of it, so a huge file is
 * a clear message and never an out-of-memory crash.
 */
export function readJsonFile(path: string, maxBytes: number): unknown {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new GatewayError('FILE_UNREADABLE', `${path} is not a file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('FILE_UNREADABLE', `cannot read ${path}: ${describe(error)}`);
  }
  if (size > maxBytes) {
    throw new GatewayError(
      'FILE_TOO_LARGE',
      `${path} is ${mib(size)}, over the ${mib(maxBytes)} limit; split the export with --types or --filter, or raise the limit with --max-bytes (MCPGATEWAY_IMPORT_MAX_BYTES)`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GatewayError('FILE_UNREADABLE', `cannot read ${path}: ${describe(error)}`);
  }
  return parseJsonText(text, path);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'it is a directory';
  return e.message ?? String(error);
}
