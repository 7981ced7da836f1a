import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { GatewayError } from '../errors.js';
import { formatCapability } from './format.js';
import type { Capability } from './schema.js';

/** Writing generated capabilities into a folder: all or nothing about overwrites, each file atomically. */

export interface FileToWrite {
  capability: Capability;
  /** Comment lines at the top of the file. */
  header: string;
}

/** Write `<name>.yaml` for each capability; refuses to replace existing files unless `force`. */
export function writeCapabilities(dir: string, files: FileToWrite[], force = false): string[] {
  const root = resolve(dir);
  const targets = files.map((f) => {
    const target = join(root, `${f.capability.name}.yaml`);
    // Names match ^[A-Za-z0-9][A-Za-z0-9_-]*$, so this cannot happen; checked anyway.
    if (!target.startsWith(root + sep)) throw new GatewayError('CAPABILITY_INVALID', `"${f.capability.name}" would be written outside ${dir}`);
    return target;
  });
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
      const tmp = `${targets[i]}.tmp-${process.pid}`;
      writeFileSync(tmp, formatCapability(f.capability, f.header));
      renameSync(tmp, targets[i]!);
    });
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('WRITE_FAILED', `cannot write to ${dir}: ${(error as Error).message}`);
  }
  return targets;
}
