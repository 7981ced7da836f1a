import { GatewayError } from '../errors.js';

/** Exit codes, documented in the README. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  CONFIG: 3,
} as const;

/** Print a one-line error and give the exit code for it; no stack traces reach a user. */
export function reportError(error: unknown): number {
  if (error instanceof GatewayError) {
    process.stderr.write(`mcpgateway: ${error.message}\n`);
    if (error.code === 'CLI_USAGE') return EXIT.USAGE;
    if (error.code === 'CONFIG_INVALID') return EXIT.CONFIG;
    return EXIT.FAILED;
  }
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') {
    process.stderr.write(`mcpgateway: the address is already in use (${e.message.replace(/^listen EADDRINUSE: address already in use /, '')})\n`);
    return EXIT.CONFIG;
  }
  if (e?.code === 'EACCES' || e?.code === 'EADDRNOTAVAIL') {
    process.stderr.write(`mcpgateway: cannot listen: ${e.message}\n`);
    return EXIT.CONFIG;
  }
  process.stderr.write(`mcpgateway: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.FAILED;
}
