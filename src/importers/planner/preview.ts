import { basename, extname } from 'node:path';
import { importGraphql, type ImporterResult } from '../graphql/index.js';
import { importOciPackage } from '../oci/index.js';
import { loadOpenApi } from '../openapi/load.js';
import { planOpenApi } from '../openapi/plan.js';
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
  /** OpenAPI: the parser's full validation (slow on large descriptions) instead of the structural checks; findings become warnings. */
  validate?: boolean;
}

/** Read a source and build its plan; writes nothing. */
export async function planSource(options: PreviewOptions): Promise<ImportPlan> {
  const sourceName = options.sourceName ?? basename(options.file, extname(options.file));
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let result: ImporterResult;
  if (options.kind === 'openapi') {
    const loaded = await loadOpenApi(options.file, { maxBytes, validate: options.validate ? true : 'structural' });
    result = planOpenApi(loaded.doc, { sourceName, uri: null });
    result.warnings.push(...loaded.validationErrors.map((e) => `validation: ${e}`));
  } else {
    result = runImporter(options.kind, readTextFile(options.file, maxBytes), options.file, sourceName, options.endpoint);
  }
  return buildPlan(result.source, result.document, result.operations, {
    warnings: result.warnings,
    ...(options.contextIntegrityProfile ? { contextIntegrityProfile: options.contextIntegrityProfile } : {}),
  });
}

function runImporter(kind: Exclude<ImportKind, 'openapi'>, text: string, file: string, sourceName: string, endpoint: string | undefined): ImporterResult {
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
  }
}
