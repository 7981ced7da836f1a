import { basename, extname } from 'node:path';
import { readSource } from '../index.js';
import { DEFAULT_MAX_BYTES } from '../source.js';
import { buildPlan } from './plan.js';
import type { ImportKind, ImportPlan } from './types.js';

export interface PreviewOptions {
  kind: ImportKind;
  file: string;
  sourceName?: string;
  contextIntegrityProfile?: string;
  /** GraphQL SDL and introspection files name no endpoint. */
  endpoint?: string;
  maxBytes?: number;
  /** OpenAPI: the parser's full validation (slow on large descriptions) instead of the structural checks; findings become warnings. */
  validate?: boolean;
}

/** Read a source and build its plan; writes nothing. */
export async function planSource(options: PreviewOptions): Promise<ImportPlan> {
  const sourceName = options.sourceName ?? basename(options.file, extname(options.file));
  const result = await readSource(options.kind, {
    file: options.file,
    sourceName,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.validate ? { validate: true } : {}),
  });
  return buildPlan(result.source, result.document, result.operations, {
    warnings: result.warnings,
    ...(options.contextIntegrityProfile ? { contextIntegrityProfile: options.contextIntegrityProfile } : {}),
  });
}
