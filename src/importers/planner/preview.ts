import { basename, extname } from 'node:path';
import { importGraphql, type ImporterResult } from '../graphql/index.js';
import { importOciPackage } from '../oci/index.js';
import { importPostman } from '../postman/index.js';
import { DEFAULT_MAX_BYTES, parseJsonOrYaml, readTextFile } from '../source.js';
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
}

/** Read a source and build its plan; writes nothing. */
export function planImport(options: PreviewOptions): ImportPlan {
  const text = readTextFile(options.file, options.maxBytes ?? DEFAULT_MAX_BYTES);
  const sourceName = options.sourceName ?? basename(options.file, extname(options.file));
  const result = runImporter(options.kind, text, options.file, sourceName, options.endpoint);
  return buildPlan(result.source, result.document, result.operations, {
    warnings: result.warnings,
    ...(options.contextIntegrityProfile ? { contextIntegrityProfile: options.contextIntegrityProfile } : {}),
  });
}

function runImporter(kind: ImportKind, text: string, file: string, sourceName: string, endpoint: string | undefined): ImporterResult {
  const uri = null; // a local file: its path is not a stable identity across machines
  switch (kind) {
    case 'graphql': {
      // SDL, unless the file is JSON (introspection) or a YAML operations list.
      const structured = /^\s*[{[]/.test(text) || /^(endpoint|operations)\s*:/m.test(text);
      return importGraphql(text, structured ? parseJsonOrYaml(text, file) : undefined, { sourceName, uri, ...(endpoint ? { endpoint } : {}) });
    }
    case 'postman':
      return importPostman(parseJsonOrYaml(text, file), { sourceName, uri });
    case 'oci-mcp-package':
      return importOciPackage(parseJsonOrYaml(text, file), { sourceName, uri });
    case 'openapi':
      throw new Error('openapi planning is wired to the cap import converter');
  }
}
