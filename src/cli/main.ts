#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { auditCommand } from './audit.js';
import { capCommand } from './cap.js';
import { EXIT, reportError } from './exit.js';
import { exportCommand } from './export.js';
import { gatewaysCommand } from './gateways.js';
import { importCommand } from './import.js';
import { clientConfigCommand, importClientsCommand } from './import-clients.js';
import { importPlanCommands } from './import-plan.js';
import { serveCommand } from './serve.js';
import { stdioCommand } from './stdio.js';
import { tokenCommand } from './token.js';

/** Build the CLI; every command and sub-command answers --help. */
export function buildProgram(): Command {
  const program = new Command('mcpgateway')
    .description('MCP Gateway: one endpoint for MCP servers and HTTP APIs')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  serveCommand(program);
  tokenCommand(program);
  auditCommand(program);
  exportCommand(program);
  const importCmd = importCommand(program);
  importPlanCommands(importCmd);
  importClientsCommand(importCmd);
  clientConfigCommand(program);
  gatewaysCommand(program);
  stdioCommand(program);
  capCommand(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp();
    process.exitCode = EXIT.USAGE;
    return;
  }
  try {
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
