import { GatewayError } from '../errors.js';
import { parseJsonOrYaml, readTextFile } from './source.js';
import type { ImportKind, Importer, ImporterInput, ImporterResult } from './planner/types.js';

/**
 * Every importer behind the one `Importer` shape, by kind. Each loads its own module when first
 * used, so planning a Postman collection never loads the GraphQL library or the OpenAPI parser.
 * A local file's path is no stable identity across machines: `uri` is null for all of them.
 */
export const IMPORTERS: Readonly<Record<ImportKind, Importer>> = {
  openapi: {
    kind: 'openapi',
    async read(input) {
      const [{ loadOpenApi }, { planOpenApi }] = await Promise.all([import('./openapi/load.js'), import('./openapi/plan.js')]);
      const loaded = await loadOpenApi(input.file, { maxBytes: input.maxBytes, validate: input.validate ? true : 'structural' });
      const result = planOpenApi(loaded.doc, { sourceName: input.sourceName, uri: null });
      result.warnings.push(...loaded.validationErrors.map((e) => `validation: ${e}`));
      return result;
    },
  },
  graphql: {
    kind: 'graphql',
    async read(input) {
      const { importGraphql } = await import('./graphql/index.js');
      const text = readTextFile(input.file, input.maxBytes);
      // SDL, unless the file is JSON (introspection) or a YAML operations list.
      const structured = /^\s*[{[]/.test(text) || /^(endpoint|operations)\s*:/m.test(text);
      return importGraphql(text, structured ? parseJsonOrYaml(text, input.file) : undefined, { sourceName: input.sourceName, uri: null, ...(input.endpoint ? { endpoint: input.endpoint } : {}) });
    },
  },
  postman: {
    kind: 'postman',
    async read(input) {
      const { importPostman } = await import('./postman/index.js');
      return importPostman(parsed(input), { sourceName: input.sourceName, uri: null });
    },
  },
  'oci-mcp-package': {
    kind: 'oci-mcp-package',
    async read(input) {
      const { importOciPackage } = await import('./oci/index.js');
      return importOciPackage(parsed(input), { sourceName: input.sourceName, uri: null });
    },
  },
};

/** Read a source with the importer of its kind; every refusal names the file. */
export async function readSource(kind: ImportKind, input: ImporterInput): Promise<ImporterResult> {
  try {
    return await IMPORTERS[kind].read(input);
  } catch (error) {
    if (!(error instanceof GatewayError) || error.message.includes(input.file)) throw error;
    throw new GatewayError(error.code, `${input.file}: ${error.message}`, error.errors);
  }
}

function parsed(input: ImporterInput): unknown {
  return parseJsonOrYaml(readTextFile(input.file, input.maxBytes), input.file);
}
