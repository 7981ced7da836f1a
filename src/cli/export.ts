import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { AdminClient, targetFromEnv } from './admin-client.js';
import { rekeyCommand } from './rekey.js';
import { GatewayError, type FieldError } from '../errors.js';
import { streamFileAtomic, writeFileAtomic } from '../files/writer.js';

/** An export holds (encrypted) credentials: only its owner reads it, and it is on disk before the rename. */
const PRIVATE = { mode: 0o600, fsync: true } as const;

interface ExportFlags {
  out: string;
  types?: string;
  filter: string[];
  tags?: string;
  includeInactive?: boolean;
  format: string;
}

/** `mcpgateway export`: fetch GET /export from the gateway at MCPGATEWAY_URL into a file. */
export function exportCommand(program: Command): void {
  // `export rekey --out` must reach rekey, not export's own --out: options stop at subcommands.
  program.enablePositionalOptions();
  const command = program
    .command('export')
    .description('write the configuration of the gateway at MCPGATEWAY_URL to one JSON file, credentials encrypted')
    .option('--out <file>', 'where to write it; - for standard output', '-')
    .option('--types <kinds>', 'comma list of gateways, servers, prompts, tools, resources (default: all)')
    .option('--filter <key=value>', 'keep objects with this label; repeat to require all', collect, [])
    .option('--tags <a,b>', 'keep objects carrying any of these tags')
    .option('--include-inactive', 'include inactive objects')
    .option('--format <format>', 'native (this gateway\'s document) or contextforge (a file ContextForge\'s import reads)', 'native')
    .enablePositionalOptions()
    .action(async (flags: ExportFlags) => {
      if (flags.format !== 'native' && flags.format !== 'contextforge') throw new GatewayError('CLI_USAGE', `--format must be native or contextforge, not "${flags.format}"`);
      const query = new URLSearchParams();
      if (flags.format === 'contextforge') query.set('format', 'contextforge');
      if (flags.types !== undefined) query.set('types', flags.types);
      if (flags.tags !== undefined) query.set('tags', flags.tags);
      for (const filter of flags.filter) query.append('filter', filter);
      if (flags.includeInactive) query.set('include_inactive', 'true');
      const client = new AdminClient(targetFromEnv());
      const response = await client.request('GET', `/export${query.size > 0 ? `?${query}` : ''}`, { timeoutMs: 600_000 });
      if (flags.format === 'contextforge') {
        // Small enough to hold: read it whole, so what ContextForge cannot carry is listed on stderr.
        const text = await response.text();
        if (flags.out === '-') process.stdout.write(text);
        else writeFileAtomic(flags.out, text, PRIVATE);
        const notCarried = ((JSON.parse(text) as { metadata?: { not_carried?: FieldError[] } }).metadata?.not_carried ?? []);
        for (const item of notCarried) process.stderr.write(`contextforge: ${item.path}: ${item.message}\n`);
        if (notCarried.length > 0) process.stderr.write(`${notCarried.length} finding${notCarried.length === 1 ? '' : 's'} about what ContextForge cannot carry (also in the file's metadata.not_carried)\n`);
      } else {
        const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
        if (flags.out === '-') await pipeline(body, process.stdout, { end: false });
        else await streamFileAtomic(flags.out, body, PRIVATE);
      }
      const counts = (response.headers.get('x-export-counts') ?? '').split(',').filter(Boolean).map((pair) => pair.replace('=', ': '));
      process.stderr.write(`exported ${counts.join(', ') || 'nothing'}${flags.out === '-' ? '' : ` to ${flags.out}`}\n`);
    });
  rekeyCommand(command);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
