import type { Command } from 'commander';
import { SignJWT } from 'jose';
import { GatewayError } from '../errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** Parse `90s`, `30m`, `12h`, `7d`, `2w`, `1y` into seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,6})([smhdwy])$/.exec(text);
  if (!match) throw new GatewayError('CLI_USAGE', `--exp "${text}" must be a number and a unit: s, m, h, d, w or y (e.g. 7d)`);
  const seconds = Number(match[1]) * UNITS[match[2]!]!;
  if (seconds <= 0) throw new GatewayError('CLI_USAGE', '--exp must be longer than zero');
  return seconds;
}

/** Sign an HS256 token the gateway accepts as a bearer credential. */
export async function createToken(secret: string, subject: string, expiresInSeconds: number, now = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** `mcpgateway token create`: print a bearer token signed with JWT_SECRET_KEY. */
export function tokenCommand(program: Command): void {
  const token = program.command('token').description('bearer tokens for the Admin API and MCP endpoints');
  token
    .command('create')
    .description('print an HS256 token signed with JWT_SECRET_KEY')
    .requiredOption('--sub <name>', 'who the token is for (its subject)')
    .option('--exp <duration>', 'lifetime: 30m, 12h, 7d, 1y …', '7d')
    .action(async (options: { sub: string; exp: string }) => {
      const secret = process.env.JWT_SECRET_KEY;
      if (!secret) throw new GatewayError('CONFIG_INVALID', 'JWT_SECRET_KEY is not set; it must be the same secret the gateway uses');
      if (!/^[\w.@:-]{1,128}$/.test(options.sub)) {
        throw new GatewayError('CLI_USAGE', '--sub must be 1-128 characters of letters, digits, "_", ".", "@", ":" or "-"');
      }
      process.stdout.write(`${await createToken(secret, options.sub, parseDuration(options.exp))}\n`);
    });
}
