import type { Command } from 'commander';
import { SignJWT } from 'jose';
import { GatewayError } from '../errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** Parse `90s`, `30m`, `12h`, `7d`, `2w`, `1y` into seconds. */
export function parseDuration(text: string, flag = '--exp'): number {
  const match = /^(\d{1,6})([smhdwy])$/.exec(text);
  if (!match) throw new GatewayError('CLI_USAGE', `${flag} "${text}" must be a number and a unit: s, m, h, d, w or y (e.g. 7d)`);
  const seconds = Number(match[1]) * UNITS[match[2]!]!;
  if (seconds <= 0) throw new GatewayError('CLI_USAGE', `${flag} must be longer than zero`);
  return seconds;
}

/** Sign an HS256 token the gateway accepts as a bearer credential; `role`/`servers` narrow it. */
export async function createToken(
  secret: string,
  subject: string,
  expiresInSeconds: number,
  now = Math.floor(Date.now() / 1000),
  claims: { role?: string; servers?: string[] } = {},
): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .sign(new TextEncoder().encode(secret));
}

interface CreateOptions {
  sub?: string;
  exp: string;
  name?: string;
  role?: string;
  servers?: string;
  expires?: string;
  json?: boolean;
}

const ROLE_NAMES = ['admin', 'editor', 'viewer', 'client'];

/**
 * `mcpgateway token create|list|revoke`. With `--name`, `create` asks the running gateway for a
 * stored token (POST /tokens; shown once, revocable); with `--sub`, it signs a JWT with
 * JWT_SECRET_KEY locally, as before (`--role`/`--servers` become claims).
 */
export function tokenCommand(program: Command): void {
  const token = program.command('token').description('bearer tokens for the Admin API and MCP endpoints');
  token
    .command('create')
    .description('create a stored token on the gateway (--name, --role), or sign a JWT with JWT_SECRET_KEY (--sub)')
    .option('--name <name>', 'a stored token: its name (asks the gateway at MCPGATEWAY_URL; needs an admin credential)')
    .option('--role <role>', 'admin, editor, viewer or client (stored tokens need it; a JWT without it is admin)')
    .option('--servers <names>', 'a client limited to these virtual servers, comma separated')
    .option('--expires <duration>', 'a stored token\'s lifetime: 30m, 12h, 30d, 1y … (default: never)')
    .option('--json', 'print the created stored token as JSON (the secret is in "token")')
    .option('--sub <name>', 'a JWT: who the token is for (its subject)')
    .option('--exp <duration>', 'a JWT\'s lifetime: 30m, 12h, 7d, 1y …', '7d')
    .action(async (options: CreateOptions) => {
      if (options.role !== undefined && !ROLE_NAMES.includes(options.role)) throw new GatewayError('CLI_USAGE', `--role must be one of ${ROLE_NAMES.join(', ')}`);
      const servers = options.servers?.split(',').map((s) => s.trim()).filter(Boolean);
      if (servers !== undefined && servers.length === 0) throw new GatewayError('CLI_USAGE', '--servers must name at least one virtual server');
      if (servers !== undefined && options.role !== undefined && options.role !== 'client') throw new GatewayError('CLI_USAGE', '--servers is for --role client only');
      if (options.name !== undefined) {
        if (options.sub !== undefined) throw new GatewayError('CLI_USAGE', 'give --name (a stored token) or --sub (a JWT), not both');
        if (options.role === undefined) throw new GatewayError('CLI_USAGE', 'a stored token needs --role (admin, editor, viewer or client)');
        if (options.expires !== undefined) parseDuration(options.expires, '--expires');
        const { AdminClient, targetFromEnv } = await import('./admin-client.js');
        const client = new AdminClient(targetFromEnv());
        const body = { name: options.name, role: options.role, ...(servers ? { servers } : {}), ...(options.expires ? { expires_in: options.expires } : {}) };
        const created = await client.json<Record<string, unknown> & { token: string }>('POST', '/tokens', { body: JSON.stringify(body) });
        if (options.json) process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
        else {
          process.stdout.write(`${created.token}\n`);
          process.stderr.write(`token "${String(created.name)}" (id ${String(created.id)}, role ${String(created.role)}) created; this is the only time its secret is shown\n`);
        }
        return;
      }
      if (options.sub === undefined) throw new GatewayError('CLI_USAGE', 'give --name NAME --role ROLE (a stored token) or --sub NAME (a JWT signed with JWT_SECRET_KEY)');
      const secret = process.env.JWT_SECRET_KEY;
      if (!secret) throw new GatewayError('CONFIG_INVALID', 'JWT_SECRET_KEY is not set; it must be the same secret the gateway uses');
      if (!/^[\w.@:-]{1,128}$/.test(options.sub)) {
        throw new GatewayError('CLI_USAGE', '--sub must be 1-128 characters of letters, digits, "_", ".", "@", ":" or "-"');
      }
      const claims = { ...(options.role ? { role: options.role } : {}), ...(servers ? { servers } : {}) };
      process.stdout.write(`${await createToken(secret, options.sub, parseDuration(options.exp), undefined, claims)}\n`);
    });
  token
    .command('list')
    .description('list the stored tokens (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { AdminClient, targetFromEnv } = await import('./admin-client.js');
      const tokens = await new AdminClient(targetFromEnv()).json<Record<string, unknown>[]>('GET', '/tokens');
      if (options.json) return void process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
      const rows = tokens.map((t) => [t.id, t.name, t.role, (t.servers as string[] | null)?.join(',') ?? '-', t.expires_at ?? '-', t.last_used_at ?? '-', t.revoked_at ? 'revoked' : 'active'].map(String));
      process.stdout.write(table(['id', 'name', 'role', 'servers', 'expires_at', 'last_used_at', 'state'], rows));
    });
  token
    .command('revoke')
    .description('revoke a stored token by id or name (effective on every instance within a second)')
    .argument('<id-or-name>')
    .action(async (idOrName: string) => {
      const { AdminClient, targetFromEnv } = await import('./admin-client.js');
      const revoked = await new AdminClient(targetFromEnv()).json<Record<string, unknown>>('DELETE', `/tokens/${encodeURIComponent(idOrName)}`);
      process.stdout.write(`revoked token "${String(revoked.name)}" (id ${String(revoked.id)})\n`);
    });
}

/** Columns padded to their widest cell. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}
