#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { EXIT, reportError } from './exit.js';

type Register = (program: Command) => void;

/**
 * The top-level commands, in help order, each with the module that defines it. Only the named
 * command's module is loaded (`cap import` need not load the server, the Admin API client or the
 * planner); a bare `mcpgateway`, `--help` or an unknown word loads them all.
 */
const COMMANDS: { name: string; load: () => Promise<Register> }[] = [
  { name: 'serve', load: async () => (await import('./serve.js')).serveCommand },
  { name: 'token', load: async () => (await import('./token.js')).tokenCommand },
  { name: 'audit', load: async () => (await import('./audit.js')).auditCommand },
  { name: 'export', load: async () => (await import('./export.js')).exportCommand },
  {
    name: 'import',
    load: async () => {
      const [{ importCommand }, { importPlanCommands }, { importClientsCommand }] = await Promise.all([import('./import.js'), import('./import-plan.js'), import('./import-clients.js')]);
      return (program) => {
        const command = importCommand(program);
        importPlanCommands(command);
        importClientsCommand(command);
      };
    },
  },
  { name: 'client-config', load: async () => (await import('./import-clients.js')).clientConfigCommand },
  { name: 'gateways', load: async () => (await import('./gateways.js')).gatewaysCommand },
  { name: 'stdio', load: async () => (await import('./stdio.js')).stdioCommand },
  { name: 'cap', load: async () => (await import('./cap.js')).capCommand },
];

/**
 * Build the CLI; every command and sub-command answers --help. With `only`, just that top-level
 * command is defined (what `main` does when the command line names one).
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('mcpgateway')
    .description('MCP Gateway: one endpoint for MCP servers and HTTP APIs')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    // `export rekey --out` must reach rekey, not export's own --out: options stop at subcommands.
    .enablePositionalOptions()
    .exitOverride();
  const named = COMMANDS.filter((c) => c.name === only);
  const registers = await Promise.all((named.length > 0 ? named : COMMANDS).map((c) => c.load()));
  for (const register of registers) register(program);
  const exitOverride = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride();
      exitOverride(sub);
    }
  };
  exitOverride(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    const program = await buildProgram(argv[2]);
    if (argv.length <= 2) {
      program.outputHelp();
      process.exitCode = EXIT.USAGE;
      return;
    }
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; usage mistakes with 2.
      process.exitCode = error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    process.exitCode = reportError(error);
  }
}

await main(process.argv);
