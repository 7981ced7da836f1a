import type { FastifyInstance } from 'fastify';
import { isKind, KINDS, type Kind } from '../domain/entities.js';
import { toContextForge } from '../domain/contextforge-export.js';
import { serializeDocument } from '../domain/export-document.js';
import { GatewayError } from '../errors.js';
import { buildExport, countsHeader } from '../services/transfer/export.js';
import { readDocument } from '../services/transfer/import-document.js';
import { CONFLICT_MODES, type ConflictMode } from '../services/transfer/import-plan.js';
import { importDocument } from '../services/transfer/import.js';
import { isContextForgeRequest, readContextForgeRequest } from '../services/transfer/import-request.js';
import type { Registry } from '../services/registry.js';
import { listOptions, parseFlag } from './admin-routes.js';

type Query = Record<string, string | string[] | undefined>;

/** Default largest `POST /import` body: the same cap the CLI puts on files. */
export const DEFAULT_IMPORT_BODY_LIMIT = 256 * 1024 * 1024;

/** `GET /export` and `POST /import` (SPEC §4, §5). */
export function registerExportImportRoutes(app: FastifyInstance, registry: Registry, options: { importBodyLimit?: number } = {}): void {
  app.get('/export', async (request, reply) => {
    const query = request.query as Query;
    const { limit: _limit, cursor: _cursor, ...list } = listOptions({ ...query, limit: undefined, cursor: undefined });
    const format = single(query.format, 'format') ?? 'native';
    if (format !== 'native' && format !== 'contextforge') throw new GatewayError('BAD_QUERY', `format must be native or contextforge, not "${format}"`);
    const doc = await buildExport(registry, {
      ...list,
      ...(query.types !== undefined ? { types: parseTypes(query.types) } : {}),
      sourceGateway: `${request.protocol}://${request.host}`,
    });
    if (format === 'contextforge') {
      // ContextForge's layout; what it cannot carry is listed in metadata.not_carried.
      const { document, report } = toContextForge(doc, registry.cipher);
      return reply
        .type('application/json; charset=utf-8')
        .header('X-Export-Counts', countsHeader(doc))
        .header('X-Export-Not-Carried', String(report.length))
        .header('Content-Disposition', `attachment; filename="contextforge-export-${doc.exported_at!.slice(0, 10)}.json"`)
        .send(`${JSON.stringify(document, null, 2)}\n`);
    }
    return reply
      .type('application/json; charset=utf-8')
      .header('X-Export-Counts', countsHeader(doc))
      .header('Content-Disposition', `attachment; filename="mcpgateway-export-${doc.exported_at!.slice(0, 10)}.json"`)
      .send(serializeDocument(doc));
  });

  app.post('/import', { bodyLimit: options.importBodyLimit ?? DEFAULT_IMPORT_BODY_LIMIT }, async (request) => {
    const query = request.query as Query;
    const dryRun = parseFlag(single(query.dry_run, 'dry_run') ?? 'false', 'dry_run');
    const conflict = single(query.conflict, 'conflict') ?? 'update';
    if (!(CONFLICT_MODES as readonly string[]).includes(conflict)) {
      throw new GatewayError('BAD_QUERY', `conflict must be one of ${CONFLICT_MODES.join(', ')}, not "${conflict}"`);
    }
    if (isContextForgeRequest(request.body)) {
      // ContextForge's body: {import_data, conflict_strategy, dry_run, rekey_secret, selected_entities}.
      const req = readContextForgeRequest(request.body, registry.cipher, { dryRun, conflict: conflict as ConflictMode });
      return importDocument(registry, req.read, { dryRun: req.dryRun, conflict: req.conflict, dependencies: req.dependencies });
    }
    return importDocument(registry, readDocument(request.body), { dryRun, conflict: conflict as ConflictMode });
  });
}

/** `types=gateways,servers` → kinds; an unknown kind is a 400 naming it. */
export function parseTypes(value: string | string[]): Kind[] {
  const types = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const unknown = types.filter((t) => !isKind(t));
  if (unknown.length > 0) throw new GatewayError('BAD_QUERY', `types: unknown kind ${unknown.map((t) => `"${t}"`).join(', ')}; use ${KINDS.join(', ')}`);
  if (types.length === 0) throw new GatewayError('BAD_QUERY', `types must name at least one of ${KINDS.join(', ')}`);
  return types as Kind[];
}

function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw new GatewayError('BAD_QUERY', `${name} may be given once`);
  return value;
}
