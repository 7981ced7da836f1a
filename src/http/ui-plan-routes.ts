import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Manifest } from '../importers/planner/apply.js';
import { IMPORT_KINDS, type ImportKind, type ImportPlan } from '../importers/planner/types.js';

/** Largest API description the page may upload for a preview. */
const PLAN_BODY_LIMIT = 16 * 1024 * 1024;
/** A plan's id on the page: the first 12 hex digits of its digest, as in the manifest's file name. */
const PLAN_ID = /^[0-9a-f]{12}$/;
const MANIFEST_FILE = /^import-plan-([0-9a-f]{12})\.manifest\.json$/;
const DRAFT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Where the page's import review writes drafts (IMPORT_DRAFTS_DIR) and activates them (the first of CAPABILITY_DIRS). */
export interface PlannerDirs {
  capabilityDirs: string[];
  draftsDir: string | undefined;
}

const planner = () => import('../importers/planner/apply.js');

/** The planner's codes are the CLI's (no HTTP status): answer with an HTTP code naming the planner's. */
function asHttp(error: unknown, code: 'VALIDATION_FAILED' | 'IMPORT_ACTIVATION_REFUSED'): unknown {
  if (error instanceof GatewayError && error.status === 0) return new GatewayError(code, `${error.code}: ${error.message}`, error.errors);
  return error;
}

/** Plan an uploaded document (the body) with the query's kind, source_name and endpoint. */
async function planUpload(request: FastifyRequest): Promise<ImportPlan> {
  const query = request.query as Record<string, string | undefined>;
  const kind = query.kind ?? '';
  if (!(IMPORT_KINDS as readonly string[]).includes(kind)) throw new GatewayError('BAD_QUERY', `kind must be one of ${IMPORT_KINDS.join(', ')}, not "${kind}"`);
  const endpoint = query.endpoint?.trim();
  if (endpoint && !/^https?:\/\/\S+$/.test(endpoint)) throw new GatewayError('BAD_QUERY', 'endpoint must be an http or https URL');
  const text = typeof request.body === 'string' ? request.body : '';
  if (text.trim() === '') throw new GatewayError('BODY_EMPTY', 'send the API description as the request body');
  const sourceName = query.source_name?.trim() || 'uploaded';
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-plan-'));
  try {
    const file = join(dir, 'source');
    writeFileSync(file, text);
    const { planSource } = await import('../importers/planner/preview.js');
    return await planSource({ kind: kind as ImportKind, file, sourceName, ...(endpoint ? { endpoint } : {}) });
  } catch (error) {
    throw asHttp(error, 'VALIDATION_FAILED');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the page shows of a manifest: no file paths, only drafts, verdicts and who activated what. */
function summary(id: string, m: Manifest) {
  return {
    id,
    source: m.source,
    plan_digest_sha256: m.plan_digest_sha256,
    source_digest_sha256: m.source_digest_sha256,
    gate_counts: m.gate_counts,
    drafts: m.written.map((w) => ({ name: w.draft, verdict: w.verdict, draft_digest_sha256: w.draft_digest_sha256 })),
    skipped: m.skipped,
    activated: m.activated.map((a) => ({ name: a.draft, at: a.at, by: a.by })),
  };
}

/** Every manifest in the drafts folder and its direct subfolders (the page writes one folder per plan; the CLI's `-o` may be either). */
function manifests(draftsDir: string): Map<string, string> {
  const found = new Map<string, string>();
  if (!existsSync(draftsDir)) return found;
  const look = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const match = MANIFEST_FILE.exec(name);
      if (match && !found.has(match[1]!)) found.set(match[1]!, join(dir, name));
    }
  };
  look(draftsDir);
  for (const name of readdirSync(draftsDir)) {
    const sub = join(draftsDir, name);
    if (statSync(sub).isDirectory()) look(sub);
  }
  return found;
}

function readManifest(path: string): Manifest {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (error) {
    throw new GatewayError('IMPORT_ACTIVATION_REFUSED', `IMPORT_MANIFEST_INVALID: cannot read the manifest: ${(error as Error).message}`);
  }
}

function activationBody(body: unknown): { drafts?: string[]; approve: boolean; force: boolean } {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError('VALIDATION_FAILED', 'send a JSON object {drafts, approve}', [{ path: '$', message: 'must be an object' }]);
  const unknown = Object.keys(b).filter((k) => !['drafts', 'approve', 'force'].includes(k));
  if (unknown.length) throw new GatewayError('VALIDATION_FAILED', `unknown field ${unknown[0]}`, unknown.map((k) => ({ path: `$.${k}`, message: 'is not a field of an activation' })));
  if (b.drafts !== undefined && (!Array.isArray(b.drafts) || b.drafts.length === 0 || b.drafts.length > 1000 || !b.drafts.every((d) => typeof d === 'string' && DRAFT_NAME.test(d)))) {
    throw new GatewayError('VALIDATION_FAILED', 'drafts must be a non-empty list (at most 1000) of draft names', [{ path: '$.drafts', message: 'must be a non-empty list of draft names' }]);
  }
  for (const k of ['approve', 'force'] as const) {
    if (b[k] !== undefined && typeof b[k] !== 'boolean') throw new GatewayError('VALIDATION_FAILED', `${k} must be true or false`, [{ path: `$.${k}`, message: 'must be a boolean' }]);
  }
  return { ...(b.drafts ? { drafts: b.drafts as string[] } : {}), approve: b.approve === true, force: b.force === true };
}

/**
 * The admin page's import review, the Admin API behind `mcpgateway import preview / apply /
 * activate --approve`:
 * - `POST /admin/api/import-plan?kind=…[&source_name=N][&endpoint=URL]`: the plan (drafts,
 *   TrustCards, risks, gates) for an uploaded document; writes nothing.
 * - `POST /admin/api/import-drafts?kind=…`: plan it and write the disabled drafts and manifest
 *   into `IMPORT_DRAFTS_DIR/<plan id>/` (as `import apply`); the same plan again answers the
 *   drafts already written.
 * - `GET /admin/api/import-drafts`: every manifest the gateway can see there.
 * - `POST /admin/api/import-drafts/:id/activate` `{drafts, approve: true}`: the planner's own
 *   `activate` (approval, verdicts, validation, no overwrite; all checked before anything moves)
 *   into the first of `CAPABILITY_DIRS`, recorded in its `capability-audit.jsonl` with the signed-in
 *   subject as actor, which the gateway mirrors into the audit trail.
 */
export async function registerUiPlanRoutes(app: FastifyInstance, dirs: PlannerDirs): Promise<void> {
  const draftsDir = dirs.draftsDir === undefined ? undefined : resolve(dirs.draftsDir);
  const needDrafts = (): string => {
    if (draftsDir === undefined) throw new GatewayError('IMPORT_ACTIVATION_REFUSED', 'this gateway has no IMPORT_DRAFTS_DIR');
    return draftsDir;
  };

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: PLAN_BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.post('/admin/api/import-plan', { bodyLimit: PLAN_BODY_LIMIT }, async (request) => planUpload(request));
    scope.post('/admin/api/import-drafts', { bodyLimit: PLAN_BODY_LIMIT }, async (request, reply) => {
      const root = needDrafts();
      const plan = await planUpload(request);
      const id = plan.plan_digest_sha256.slice(0, 12);
      const known = manifests(root).get(id);
      if (known) return { ...summary(id, readManifest(known)), plan, existing: true };
      const { applyPlan } = await planner();
      try {
        const { manifest } = applyPlan(plan, join(root, id));
        return reply.code(201).send({ ...summary(id, manifest), plan, existing: false });
      } catch (error) {
        throw asHttp(error, 'IMPORT_ACTIVATION_REFUSED');
      }
    });
  });

  app.get('/admin/api/import-drafts', async () => {
    if (draftsDir === undefined) return [];
    return [...manifests(draftsDir)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, path]) => summary(id, readManifest(path)));
  });

  app.post('/admin/api/import-drafts/:id/activate', async (request) => {
    const id = (request.params as { id: string }).id;
    if (!PLAN_ID.test(id)) throw new GatewayError('IMPORT_DRAFTS_NOT_FOUND', `"${id}" is not a plan id (12 hex digits)`);
    const path = manifests(needDrafts()).get(id);
    if (!path) throw new GatewayError('IMPORT_DRAFTS_NOT_FOUND', `no manifest import-plan-${id}.manifest.json under IMPORT_DRAFTS_DIR`);
    const body = activationBody(request.body);
    const capabilityDir = dirs.capabilityDirs[0];
    if (!capabilityDir) throw new GatewayError('IMPORT_ACTIVATION_REFUSED', 'CONFIG_INVALID: CAPABILITY_DIRS is empty, so there is nowhere to activate into');
    const { activate } = await planner();
    try {
      const result = activate(path, { ...body, capabilityDir, actor: request.principal?.subject ?? 'anonymous' });
      return { ...summary(id, readManifest(path)), activated_now: result.activated.map((f) => f.split(/[\\/]/).pop()!.replace(/\.yaml$/, '')) };
    } catch (error) {
      throw asHttp(error, 'IMPORT_ACTIVATION_REFUSED');
    }
  });
}
