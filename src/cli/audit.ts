import type { Command } from 'commander';
import { GatewayError } from '../errors.js';
import { durationSeconds } from '../services/tokens.js';
import { table } from './token.js';

interface AuditOptions {
  since?: string;
  until?: string;
  actor?: string;
  kind?: string;
  action?: string;
}

/** `--since 7d` or an ISO time → ISO time. */
function since(value: string): string {
  const seconds = durationSeconds(value);
  if (seconds !== undefined) return new Date(Date.now() - seconds * 1000).toISOString();
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new GatewayError('CLI_USAGE', `--since "${value}" must be a duration (24h, 7d) or an ISO 8601 time`);
  return new Date(t).toISOString();
}

/** Every event matching the options, following X-Next-Cursor. */
async function* events(options: AuditOptions): AsyncGenerator<Record<string, unknown>[]> {
  const { AdminClient, targetFromEnv } = await import('./admin-client.js');
  const client = new AdminClient(targetFromEnv());
  const query = new URLSearchParams({ limit: '1000' });
  if (options.since) query.set('since', since(options.since));
  if (options.until) query.set('until', since(options.until));
  for (const key of ['actor', 'kind', 'action'] as const) if (options[key]) query.set(key, options[key]);
  let cursor: string | null = null;
  do {
    if (cursor) query.set('cursor', cursor);
    const response = await client.request('GET', `/audit?${query.toString()}`);
    yield (await response.json()) as Record<string, unknown>[];
    cursor = response.headers.get('x-next-cursor');
  } while (cursor);
}

const filters = (command: Command) =>
  command
    .option('--since <when>', 'events from this time on: a duration back from now (24h, 7d) or an ISO time')
    .option('--until <when>', 'events before this time (same forms)')
    .option('--actor <subject>', 'only this actor')
    .option('--kind <kind>', 'only this kind (tools, servers, tokens, import, auth …)')
    .option('--action <action>', 'only this action (create, update, delete, import, revoke …)');

/** `mcpgateway audit list|export`: read the audit trail (GET /audit, admin). */
export function auditCommand(program: Command): void {
  const audit = program.command('audit').description('the audit trail: who changed what (needs an admin credential)');
  filters(audit.command('list').description('print audit events as a table')).action(async (options: AuditOptions) => {
    const rows: string[][] = [];
    for await (const page of events(options)) {
      for (const e of page) {
        rows.push([e.at, e.actor_subject ?? '-', e.action, e.kind, e.object_name ?? e.object_id ?? '-', (e.fields as string[] | null)?.join(',') ?? '-', e.outcome, e.count].map(String));
      }
    }
    process.stdout.write(table(['at', 'actor', 'action', 'kind', 'object', 'fields', 'outcome', 'count'], rows));
  });
  filters(audit.command('export').description('print audit events as JSON Lines, one event a line')).action(async (options: AuditOptions) => {
    for await (const page of events(options)) for (const e of page) process.stdout.write(`${JSON.stringify(e)}\n`);
  });
}
