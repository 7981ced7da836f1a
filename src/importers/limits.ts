import { GatewayError } from '../errors.js';

/** Largest API description or capability file read by default (64 MiB); --max-bytes changes it. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Work bounds of the importers (issue 10), so that a small hostile document cannot take minutes
 * and gigabytes: IMPORT_MAX_OPERATIONS operations per document (default 10,000) and
 * IMPORT_MAX_SCHEMA_NODES schema nodes generated over the whole document (input properties,
 * `$defs` entries and selected fields; default 1,000,000). Past either: IMPORT_TOO_LARGE.
 */
export interface ImportLimits {
  maxOperations: number;
  maxSchemaNodes: number;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = { maxOperations: 10_000, maxSchemaNodes: 1_000_000 };

/** The bounds from the environment; a value that is not a positive integer is refused (CONFIG_INVALID). */
export function importLimits(env: NodeJS.ProcessEnv = process.env): ImportLimits {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 1) throw new GatewayError('CONFIG_INVALID', `${name} must be a positive integer, not "${raw.slice(0, 40)}"`);
    return n;
  };
  return { maxOperations: read('IMPORT_MAX_OPERATIONS', DEFAULT_IMPORT_LIMITS.maxOperations), maxSchemaNodes: read('IMPORT_MAX_SCHEMA_NODES', DEFAULT_IMPORT_LIMITS.maxSchemaNodes) };
}

/** A counter of generated schema nodes that throws IMPORT_TOO_LARGE past the bound. */
export class ImportBudget {
  private nodes = 0;

  constructor(
    readonly limits: ImportLimits,
    private readonly what: string,
  ) {}

  operations(count: number): void {
    if (count > this.limits.maxOperations) {
      throw new GatewayError('IMPORT_TOO_LARGE', `${this.what} has ${count} operations; at most ${this.limits.maxOperations} are planned (IMPORT_MAX_OPERATIONS)`);
    }
  }

  spend(n: number): void {
    this.nodes += n;
    if (this.nodes > this.limits.maxSchemaNodes) {
      throw new GatewayError('IMPORT_TOO_LARGE', `${this.what} expands to more than ${this.limits.maxSchemaNodes} schema nodes (IMPORT_MAX_SCHEMA_NODES); planning stopped`);
    }
  }
}
