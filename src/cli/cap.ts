import type { Command } from 'commander';
import { GatewayError } from '../errors.js';
import { DEFAULT_MAX_BYTES } from '../importers/limits.js';
import type { ImportFlags } from './cap-run.js';

/** `mcpgateway cap …`: capability files. */
export function capCommand(program: Command): void {
  const cap = program.command('cap').description('capability files: REST tools described in YAML');
  cap
    .command('import')
    .description('write one capability file per operation of an OpenAPI 3.0/3.1 or Swagger 2.0 description (JSON or YAML)')
    .argument('<spec>', 'the API description file')
    .option('-o, --output <dir>', 'folder to write to', 'capabilities')
    .option('-p, --prefix <prefix>', 'put before every tool name (and environment variable name)')
    .option('--auth-key <env:VAR>', 'environment reference for the token or API key of every operation that needs one')
    .option('--include-tags <tags>', 'only operations with one of these tags (comma list)')
    .option('--exclude-tags <tags>', 'leave out operations with one of these tags (comma list)')
    .option('--operation <glob...>', 'only operations whose operationId, tool name or "METHOD /path" matches')
    .option('--read-only', 'only GET, HEAD and OPTIONS operations')
    .option('--no-output-schema', 'leave out every output schema (smaller tool lists; results are still returned)')
    .option('--max-output-schema <bytes>', 'leave out output schemas larger than this many bytes of JSON (0: keep all)', '768')
    .option('--max-description <chars>', 'cut tool and parameter descriptions at this many characters', '1000')
    .option('--allow-remote-refs', 'resolve $refs to other files and URLs')
    .option('--validate', 'run the full OpenAPI validation by the parser (default: quick structural checks: unresolved $refs, bad parameters)')
    .option('--no-validate', 'skip even the structural checks')
    .option('--strict', 'refuse a document that fails validation (implies --validate unless --no-validate; default: report the problems and import)')
    .option('--max-bytes <n>', 'refuse documents larger than this', String(DEFAULT_MAX_BYTES))
    .option('--force', 'replace capability files that already exist')
    .action(async (spec: string, flags: ImportFlags) => {
      const { runImport } = await import('./cap-run.js');
      process.exitCode = await runImport(spec, flags);
    });
  cap
    .command('test')
    .description('check arguments against a capability file, make the real HTTP call, print the request (credentials masked) and the result')
    .argument('<file>', 'the capability file')
    .requiredOption('--args <json>', 'the arguments, as a JSON object')
    .option('--timeout <ms>', 'how long to wait when the file sets no timeout', '30000')
    .action(async (file: string, flags: { args: string; timeout: string }) => {
      if (!/^\d{1,7}$/.test(flags.timeout) || Number(flags.timeout) < 1) throw new GatewayError('CLI_USAGE', `--timeout must be a whole number of milliseconds, not "${flags.timeout}"`);
      const { runCapTest } = await import('./cap-test.js');
      process.exitCode = await runCapTest(file, flags.args, Number(flags.timeout));
    });
  cap
    .command('validate')
    .description('check capability files (or every .yaml/.yml/.json in folders) against the capability schema')
    .argument('<files...>', 'files or folders')
    .action(async (files: string[]) => {
      const { runValidate } = await import('./cap-validate.js');
      process.exitCode = runValidate(files);
    });
}

