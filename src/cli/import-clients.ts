import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { GatewayError } from '../errors.js';
import { AdminClient, targetFromEnv } from './admin-client.js';
import { CLIENTS, clientSnippet, detectClient, gatewayName, readClientFile, resolvePlaceholders, TOKEN_PLACEHOLDER, type ClientEntry, type ClientKind } from './client-files.js';
import { EXIT } from './exit.js';
import { parseDuration } from './token.js';

const MAX_FILE_BYTES = 4 * 1024 * 1024;

interface ImportClientsFlags {
  client: string;
  dryRun?: boolean;
}

/** `mcpgateway import clients FILE`: one gateway per MCP server entry of a desktop client's file. */
export function importClientsCommand(importCommand: Command): void {
  importCommand
    .command('clients')
    .description("create one gateway per MCP server in a desktop client's configuration file (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Codex)")
    .argument('<file>', "the client's configuration file")
    .option('--client <kind>', `${CLIENTS.join(', ')} or auto`, 'auto')
    .option('--dry-run', 'print what would be created and write nothing')
    .action(async (file: string, flags: ImportClientsFlags) => {
      process.exitCode = await importClients(file, flags);
    });
}

/** `mcpgateway client-config`: print the snippet that points a client at one virtual server. */
export function clientConfigCommand(program: Command): void {
  program
    .command('client-config')
    .description("print the configuration snippet that points a desktop client at a virtual server of this gateway")
    .requiredOption('--server <name>', 'the virtual server')
    .requiredOption('--client <kind>', CLIENTS.join(', '))
    .option('--token <token>', `the bearer token to write in (default: the placeholder ${TOKEN_PLACEHOLDER})`)
    .option('--mint-token', 'ask the gateway for a new stored client token limited to this server, and write it in (needs an admin credential)')
    .option('--expires <duration>', "the minted token's lifetime: 30m, 12h, 30d, 1y … (default: never)")
    .action(async (flags: ClientConfigFlags) => {
      const client = clientKind(flags.client, false);
      if (flags.mintToken && flags.token !== undefined) throw new GatewayError('CLI_USAGE', 'give --token or --mint-token, not both');
      if (flags.expires !== undefined && !flags.mintToken) throw new GatewayError('CLI_USAGE', '--expires is for --mint-token only');
      if (flags.expires !== undefined) parseDuration(flags.expires, '--expires');
      const target = targetFromEnv();
      let token = flags.token ?? TOKEN_PLACEHOLDER;
      let note: string | undefined;
      if (flags.mintToken) {
        const minted = await mintClientToken(new AdminClient(target), flags.server, client, flags.expires);
        token = minted.token;
        note = `token "${minted.name}" (id ${minted.id}, role client, limited to server "${flags.server}"${minted.expires_at ? `, expires ${minted.expires_at}` : ''}) created; this is the only time its secret is shown — revoke it with \`mcpgateway token revoke ${minted.id}\``;
      }
      process.stdout.write(clientSnippet(client, { server: flags.server, gatewayUrl: target.url, token }));
      if (note) process.stderr.write(`${note}\n`);
    });
}

interface ClientConfigFlags {
  server: string;
  client: string;
  token?: string;
  mintToken?: boolean;
  expires?: string;
}

interface MintedToken {
  id: string;
  name: string;
  token: string;
  expires_at?: string | null;
}

/** A stored `client` token limited to one virtual server (POST /tokens), named after the client and server. */
async function mintClientToken(api: AdminClient, server: string, client: ClientKind, expires: string | undefined): Promise<MintedToken> {
  // The server must exist: a token for a name that is not (yet) a server would reach nothing.
  await api.request('GET', `/servers/${encodeURIComponent(server)}`);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const name = `${client}-${server}`.replace(/[^\w.@:-]/g, '_').slice(0, 100) + `-${stamp}`;
  const body = { name, role: 'client', servers: [server], ...(expires ? { expires_in: expires } : {}) };
  return api.json<MintedToken>('POST', '/tokens', { body: JSON.stringify(body) });
}

async function importClients(file: string, flags: ImportClientsFlags): Promise<number> {
  const text = readText(file);
  const client = flags.client === 'auto' ? detectClient(file, text) : clientKind(flags.client, true);
  const entries = readClientFile(client, text);
  if (entries.length === 0) throw new GatewayError('CLIENT_CONFIG_INVALID', `${file} names no MCP servers`);
  const api = new AdminClient(targetFromEnv());
  const counts = { created: 0, updated: 0, unchanged: 0, failed: 0 };
  process.stdout.write(`${file}: ${entries.length} MCP server(s) from a ${client} configuration${flags.dryRun ? ' (dry run: nothing is written)' : ''}\n`);
  for (const entry of entries) {
    const { body, missing } = gatewayBody(entry, client, process.env);
    const label = `${String(body.name)} (${describe(body)})`;
    if (missing.length > 0) {
      counts.failed++;
      process.stdout.write(`  skipped ${label}: set ${missing.join(', ')} in the environment\n`);
      continue;
    }
    try {
      const outcome = await apply(api, body, flags.dryRun ?? false);
      counts[outcome]++;
      process.stdout.write(`  ${flags.dryRun ? `would be ${outcome}` : outcome} ${label}\n`);
    } catch (error) {
      counts.failed++;
      process.stdout.write(`  failed ${label}: ${(error as Error).message}\n`);
    }
  }
  process.stdout.write(`created ${counts.created}, updated ${counts.updated}, unchanged ${counts.unchanged}, failed ${counts.failed}\n`);
  if (counts.failed > 0) {
    process.stderr.write(`mcpgateway: ${new GatewayError('CLIENT_CONFIG_INCOMPLETE', `${counts.failed} of ${entries.length} entries were not imported`).message}\n`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

/** The Admin API body for one entry; secret values only in write-only fields (env, auth_headers). */
export function gatewayBody(entry: ClientEntry, client: ClientKind, env: NodeJS.ProcessEnv): { body: Record<string, unknown>; missing: string[] } {
  const missing = new Set<string>();
  const fill = (value: string) => resolvePlaceholders(value, env, missing);
  const body: Record<string, unknown> = { name: gatewayName(entry.name), transport: entry.transport, tags: [`imported-from=${client}`] };
  if (entry.transport === 'stdio') {
    body.command = fill(entry.command ?? '');
    body.args = entry.args.map(fill);
    body.env = Object.fromEntries(Object.entries(entry.env).map(([k, v]) => [k, fill(v)]));
  } else {
    body.url = fill(entry.url ?? '');
    const headers = Object.fromEntries(Object.entries(entry.headers).map(([k, v]) => [k, fill(v)]));
    if (Object.keys(headers).length > 0) Object.assign(body, { auth_type: 'headers', auth_headers: headers });
  }
  return { body, missing: [...missing].sort() };
}

/** Create, update or leave a gateway; the same file twice changes nothing the second time. */
async function apply(api: AdminClient, body: Record<string, unknown>, dryRun: boolean): Promise<'created' | 'updated' | 'unchanged'> {
  let current: Record<string, unknown> | undefined;
  try {
    current = await api.json<Record<string, unknown>>('GET', `/gateways/${encodeURIComponent(String(body.name))}`);
  } catch (error) {
    if (!(error instanceof GatewayError && error.code === 'GW_NOT_FOUND')) throw error;
  }
  if (!current) {
    if (!dryRun) await api.create('gateways', body);
    return 'created';
  }
  // Secrets are write-only and cannot be compared: what identifies the upstream decides.
  const same = ['transport', 'command', 'url'].every((k) => (current[k] ?? null) === (body[k] ?? null)) && JSON.stringify(current.args ?? []) === JSON.stringify(body.args ?? []);
  if (same) return 'unchanged';
  if (!dryRun) await api.patch('gateways', String(current.id), body);
  return 'updated';
}

/** One line about an entry, never its secret values (env and header values). */
function describe(body: Record<string, unknown>): string {
  if (body.transport === 'stdio') {
    const env = Object.keys(body.env as object);
    return `stdio: ${String(body.command)} ${(body.args as string[]).join(' ')}${env.length ? `; env ${env.join(', ')} (values hidden)` : ''}`.trim();
  }
  const headers = Object.keys((body.auth_headers as object | undefined) ?? {});
  return `${String(body.transport)}: ${String(body.url)}${headers.length ? `; headers ${headers.join(', ')} (values hidden)` : ''}`;
}

function clientKind(value: string, allowAuto: boolean): ClientKind {
  if ((CLIENTS as readonly string[]).includes(value)) return value as ClientKind;
  throw new GatewayError('CLI_USAGE', `--client must be one of ${CLIENTS.join(', ')}${allowAuto ? ' or auto' : ''}, not "${value}"`);
}

function readText(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new GatewayError('FILE_UNREADABLE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (size > MAX_FILE_BYTES) throw new GatewayError('FILE_TOO_LARGE', `${file} is larger than ${MAX_FILE_BYTES} bytes; a client configuration file is small`);
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new GatewayError('FILE_UNREADABLE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
