import { z } from 'zod';
import { KIND_DEFS, KINDS, type Kind } from './entities.js';
import { isObject } from './merge-patch.js';

/**
 * The export document (SPEC §5): one JSON file holding the five kinds, credentials encrypted.
 * Its schema is built from the entity schemas, and `schemas/export.schema.json` from this.
 */

export const EXPORT_VERSION = '2025-03-26';
export const ENCRYPTION_METHOD = 'AES-256-GCM';

/** The order the kinds appear in a document, as SPEC §5 shows it. */
export const DOCUMENT_ORDER: readonly Kind[] = ['gateways', 'servers', 'prompts', 'tools', 'resources'];

/** The order objects are written in on import: what others refer to comes first. */
export const IMPORT_ORDER: readonly Kind[] = ['gateways', 'tools', 'resources', 'servers', 'prompts'];

const kindArrays = Object.fromEntries(
  KINDS.map((kind) => [
    kind,
    z
      .array(KIND_DEFS[kind].portable)
      .default([])
      .describe(`${KIND_DEFS[kind].title} objects as GET /${kind} returns them, minus server-made fields; ordered by ${KIND_DEFS[kind].keyField}`),
  ]),
) as Record<Kind, z.ZodDefault<z.ZodArray<z.ZodType<Record<string, unknown>>>>>;

export const exportDocumentSchema = z
  .strictObject({
    version: z.literal(EXPORT_VERSION).describe('format version'),
    exported_at: z.string().optional().describe('RFC 3339 time of the export'),
    source_gateway: z.string().optional().describe('the Admin API the export was taken from'),
    encryption_method: z.literal(ENCRYPTION_METHOD).optional().describe('how every auth_value is encrypted (SPEC §6)'),
    ...kindArrays,
  })
  .describe('MCP Gateway configuration export');

/** A parsed export document: every kind present (possibly empty), objects validated. */
export type ExportDocument = {
  version: string;
  exported_at?: string;
  source_gateway?: string;
  encryption_method?: string;
} & Record<Kind, Record<string, unknown>[]>;

/** The JSON Schema (draft 2020-12) of the export document, derived from the zod schemas. */
export function exportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(exportDocumentSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  const { $schema, ...rest } = schema;
  return { $schema, $id: 'https://mcpgateway.dev/schemas/export.schema.json', title: 'MCP Gateway export document', ...rest };
}

/** The text of `schemas/export.schema.json`. */
export function exportJsonSchemaText(): string {
  return `${JSON.stringify(exportJsonSchema(), null, 2)}\n`;
}

/** The key that identifies an object of a kind: its name, or its URI for resources. */
export function keyOf(kind: Kind, object: Record<string, unknown>): string {
  return String(object[KIND_DEFS[kind].keyField]);
}

/** Compare strings by Unicode code point (UTF-16 order differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A copy with every object's keys sorted, at every depth. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (isObject(value)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort(compareCodePoints)) {
      if (value[key] !== undefined) sorted[key] = sortKeysDeep(value[key]);
    }
    return sorted;
  }
  return value;
}

/**
 * The document as text: header fields first, then the kinds; objects' keys sorted, arrays
 * ordered by key, two-space indent. The same state always gives the same bytes.
 */
export function serializeDocument(doc: Partial<ExportDocument>): string {
  const out: Record<string, unknown> = {};
  for (const field of ['version', 'exported_at', 'source_gateway', 'encryption_method'] as const) {
    if (doc[field] !== undefined) out[field] = doc[field];
  }
  for (const kind of DOCUMENT_ORDER) {
    const list = doc[kind];
    if (!list) continue;
    out[kind] = [...list].sort((a, b) => compareCodePoints(keyOf(kind, a), keyOf(kind, b))).map(sortKeysDeep);
  }
  return `${JSON.stringify(out, null, 2)}\n`;
}
