import { KIND_DEFS, KINDS, type Kind } from '../../domain/entities.js';
import { DOCUMENT_ORDER, ENCRYPTION_METHOD, EXPORT_VERSION, type ExportDocument } from '../../domain/export-document.js';
import { editable } from '../../domain/fields.js';
import type { Registry } from '../registry.js';

/** What to export (SPEC §5): kinds, tags (any), labels (all), and whether inactive objects count. */
export interface ExportOptions {
  types?: Kind[];
  tags?: string[];
  filters?: string[];
  includeInactive?: boolean;
  /** The Admin API the export is taken from, recorded in the document. */
  sourceGateway: string;
  now?: Date;
}

/**
 * Assemble the export document: objects as GET returns them minus server-made fields.
 * MCP tools are left out (their gateway brings them back); credentials stay encrypted.
 */
export async function buildExport(registry: Registry, options: ExportOptions): Promise<Partial<ExportDocument>> {
  const doc: Partial<ExportDocument> = {
    version: EXPORT_VERSION,
    exported_at: (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    source_gateway: options.sourceGateway,
    encryption_method: ENCRYPTION_METHOD,
  };
  const types = options.types ?? [...KINDS];
  for (const kind of KINDS) {
    if (!types.includes(kind)) continue;
    const page = await registry.list(kind, {
      includeInactive: options.includeInactive ?? false,
      ...(options.tags?.length ? { tags: options.tags } : {}),
      ...(options.filters?.length ? { filters: options.filters } : {}),
    });
    let items = page.items;
    if (kind === 'tools') items = items.filter((tool) => tool.integration_type !== 'MCP');
    doc[kind] = items.map((item) => editable(KIND_DEFS[kind], item));
  }
  return doc;
}

/** How many objects of each kind a document holds, as `gateways=3,servers=5,…`. */
export function countsHeader(doc: Partial<ExportDocument>): string {
  return DOCUMENT_ORDER.filter((kind) => doc[kind])
    .map((kind) => `${kind}=${doc[kind]!.length}`)
    .join(',');
}
