import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { AdminClient, targetFromEnv } from './admin-client.js';
import { rekeyCommand } from './rekey.js';
import { streamFileAtomic } from './write-file.js';

interface ExportFlags {
  out: string;
  types?: string;
  filter: string[];
  tags?: string;
  includeInactive?: boolean;
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
    .enablePositionalOptions()
    .action(async (flags: ExportFlags) => {
      const query = new URLSearchParams();
      if (flags.types !== undefined) query.set('types', flags.types);
      if (flags.tags !== undefined) query.set('tags', flags.tags);
      for (const filter of flags.filter) query.append('filter', filter);
      if (flags.includeInactive) query.set('include_inactive', 'true');
      const client = new AdminClient(targetFromEnv());
      const response = await client.request('GET', `/export${query.size > 0 ? `?${query}` : ''}`, { timeoutMs: 600_000 });
      const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      if (flags.out === '-') await pipeline(body, process.stdout, { end: false });
      else await streamFileAtomic(flags.out, body);
      const counts = (response.headers.get('x-export-counts') ?? '').split(',').filter(Boolean).map((pair) => pair.replace('=', ': '));
      process.stderr.write(`exported ${counts.join(', ') || 'nothing'}${flags.out === '-' ? '' : ` to ${flags.out}`}\n`);
    });
  rekeyCommand(command);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
