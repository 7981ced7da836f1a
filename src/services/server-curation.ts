import { GatewayError } from '../errors.js';
import { curate, isGlob, settingsOf, type Candidate } from '../mcp/curation.js';
import type { Repository } from '../store/store.js';

/**
 * The registry's side of curation (issue 14): a server's selection resolved against the tools
 * that would be served now (active, and for MCP tools an active gateway), refused on save when it
 * breaks a rule, and shown in the server's GET.
 */

/** Tools that live outside the database, as the registry sees them. */
interface FileTools {
  list(): Record<string, unknown>[];
}

/** The tools a server may select from, in name order. */
export async function curationCandidates(repo: Repository, fileTools: FileTools | undefined): Promise<Candidate[]> {
  const [tools, gateways] = await Promise.all([repo.list('tools', {}), repo.list('gateways', {})]);
  const active = new Set(gateways.map((g) => String(g.fields.name)));
  const fields = tools.map((t) => t.fields).filter((f) => f.integration_type !== 'MCP' || active.has(String(f.gateway)));
  const stored = new Set(fields.map((f) => String(f.name)));
  for (const tool of fileTools?.list() ?? []) if (tool.is_active === true && !stored.has(String(tool.name))) fields.push(tool);
  return fields
    .map((f) => ({ name: String(f.name), tags: (f.tags as string[] | undefined) ?? [], inputSchema: (f.input_schema as Record<string, unknown> | undefined) ?? {} }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Refuse a server whose selection exceeds max_tools, collides, or pins arguments its tools lack. */
export function checkServerCuration(server: Record<string, unknown>, candidates: Candidate[]): void {
  const { problems } = curate(settingsOf(server), candidates);
  if (problems.length === 0) return;
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  throw new GatewayError(first.code, `server "${String(server.name)}": ${first.message}${more}`, problems.map(({ path, message }) => ({ path, message })));
}

/** Add `resolved_tools` and `curation_problems` to servers as GET shows them. */
export function presentCuration(servers: Record<string, unknown>[], candidates: Candidate[]): void {
  for (const server of servers) {
    const { tools, problems } = curate(settingsOf(server), candidates);
    server.resolved_tools = tools.map((t) => t.name);
    server.curation_problems = problems.map((p) => `${p.path}: ${p.message}`);
  }
}

/** Tool references that are names (globs are selections, never missing). */
export function namedRefs(refs: string[]): string[] {
  return refs.filter((ref) => !isGlob(ref));
}
