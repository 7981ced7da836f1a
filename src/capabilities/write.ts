import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { GatewayError } from '../errors.js';
import { writeFileAtomic } from '../files/writer.js';
import { formatCapability } from './format.js';
import type { Capability } from './schema.js';

/** Writing generated capabilities into a folder: all or nothing about overwrites, each file atomically. */

export interface FileToWrite {
  capability: Capability;
  /** Comment lines at the top of the file. */
  header: string;
}

/**
 * Write `<name>.yaml` for each capability; refuses to replace existing files unless `force`.
 * A folder that does not exist yet is written under a temporary name beside it and renamed into
 * place in one step, so a gateway watching for it sees every file at once. In a folder that
 * exists, each file is replaced atomically (temporary file, then rename), and a file whose text
 * is already what would be written is left alone: re-importing a changed description touches
 * only the files that changed, and a gateway serving the folder reloads only those.
 */
export function writeCapabilities(dir: string, files: FileToWrite[], force = false): string[] {
  const root = resolve(dir);
  const targets = files.map((f) => {
    const target = join(root, `${f.capability.name}.yaml`);
    // Names match ^[A-Za-z0-9][A-Za-z0-9_-]*$, so this cannot happen; checked anyway.
    if (!target.startsWith(root + sep)) throw new GatewayError('CAPABILITY_INVALID', `"${f.capability.name}" would be written outside ${dir}`);
    return target;
  });
  try {
    if (!isDirectory(root) && writeNewFolder(root, files)) return targets;
  } catch (error) {
    throw new GatewayError('WRITE_FAILED', `cannot write to ${dir}: ${(error as Error).message}`);
  }
  if (!force) {
    const existing = targets.filter((t) => existsSync(t));
    if (existing.length > 0) {
      throw new GatewayError(
        'CLI_USAGE',
        `${existing.length} file${existing.length > 1 ? 's' : ''} already exist in ${dir} (first: ${existing[0]}); nothing was written. Use --force to replace them`,
      );
    }
  }
  try {
    mkdirSync(root, { recursive: true });
    files.forEach((f, i) => {
      const target = targets[i]!;
      const text = formatCapability(f.capability, f.header);
      if (force && sameText(target, text)) return;
      writeFileAtomic(target, text);
    });
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('WRITE_FAILED', `cannot write to ${dir}: ${(error as Error).message}`);
  }
  return targets;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * The files in a staging folder beside `root`, renamed to `root`. False (nothing left behind)
 * when `root` appeared meanwhile, or the staging folder cannot be made (a parent that does not
 * exist is made, a path that is not a folder fails): then the files are written one by one.
 */
function writeNewFolder(root: string, files: FileToWrite[]): boolean {
  const parent = dirname(root);
  if (existsSync(root)) return false; // a file, or a dangling link: let the per-file path report it
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${basename(root)}.tmp-${process.pid}`);
  try {
    mkdirSync(staging);
  } catch {
    return false;
  }
  try {
    for (const f of files) writeFileSync(join(staging, `${f.capability.name}.yaml`), formatCapability(f.capability, f.header));
    renameSync(staging, root);
    return true;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENOTDIR') return false;
    throw error;
  }
}

/** Whether `path` already holds exactly `text` (size first, so a changed file is rarely read). */
function sameText(path: string, text: string): boolean {
  try {
    if (statSync(path).size !== Buffer.byteLength(text)) return false;
    return readFileSync(path, 'utf8') === text;
  } catch {
    return false;
  }
}
