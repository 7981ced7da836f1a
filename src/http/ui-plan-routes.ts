import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.js';
import { IMPORT_KINDS, type ImportKind } from '../importers/planner/types.js';

/** Largest API description the page may upload for a preview. */
const PLAN_BODY_LIMIT = 16 * 1024 * 1024;

/**
 * `POST /admin/api/import-plan?kind=openapi|graphql|postman|oci-mcp-package[&source_name=N]`: the
 * same deterministic plan as `mcpgateway import preview` (drafts, TrustCards, risks, gates) for
 * an uploaded document, so the admin page can show it. Writes nothing but a temporary copy of the
 * upload, removed at once; activation stays with `import apply` / `import activate --approve`.
 */
export async function registerUiPlanRoutes(app: FastifyInstance): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: PLAN_BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.post('/admin/api/import-plan', { bodyLimit: PLAN_BODY_LIMIT }, async (request) => {
      const query = request.query as Record<string, string | undefined>;
      const kind = query.kind ?? '';
      if (!(IMPORT_KINDS as readonly string[]).includes(kind)) throw new GatewayError('BAD_QUERY', `kind must be one of ${IMPORT_KINDS.join(', ')}, not "${kind}"`);
      const text = typeof request.body === 'string' ? request.body : '';
      if (text.trim() === '') throw new GatewayError('BODY_EMPTY', 'send the API description as the request body');
      const sourceName = query.source_name?.trim() || 'uploaded';
      const dir = mkdtempSync(join(tmpdir(), 'mcpgw-plan-'));
      try {
        const file = join(dir, 'source');
        writeFileSync(file, text);
        const { planImport } = await import('../importers/planner/preview.js');
        return await planImport({ kind: kind as ImportKind, file, sourceName });
      } catch (error) {
        // The planner's codes are the CLI's (no HTTP status): answer 422 naming the code.
        if (error instanceof GatewayError && error.status === 0) throw new GatewayError('VALIDATION_FAILED', `${error.code}: ${error.message}`, error.errors);
        throw error;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
