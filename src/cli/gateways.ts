import type { Command } from 'commander';
import { GatewayError } from '../errors.js';
import { importOciPackage } from '../importers/oci/index.js';
import { AdminClient, targetFromEnv } from './admin-client.js';
import { readJsonFile } from './read-file.js';

interface AddFlags {
  from: string;
  entry?: string;
  name?: string;
  dryRun?: boolean;
}

interface Draft {
  name: string;
  title: string;
  gateway: Record<string, unknown>;
  inputs: { properties?: Record<string, { format?: string; description?: string }>; required?: string[] };
}

/** `mcpgateway gateways add --from server.json`: an MCP Registry entry as a gateway. */
export function gatewaysCommand(program: Command): void {
  const gateways = program.command('gateways').description('register upstream MCP servers');
  gateways
    .command('add')
    .description('create a gateway from an MCP Registry server.json: a remotes[] entry (Streamable HTTP or SSE) or a package (npm as npx, pypi as uvx, oci as docker)')
    .requiredOption('--from <file>', 'the server.json')
    .option('--entry <name>', 'which package or remote to use (default: the first; the list is printed)')
    .option('--name <name>', 'the gateway name (default: derived from the entry)')
    .option('--dry-run', 'print the gateway that would be created and write nothing')
    .action(async (flags: AddFlags) => {
      const doc = readJsonFile(flags.from, 4 * 1024 * 1024);
      const drafts = registryDrafts(doc, flags.from);
      const draft = flags.entry === undefined ? drafts[0]! : drafts.find((d) => d.name === flags.entry);
      if (!draft) throw new GatewayError('CLI_USAGE', `--entry must be one of ${drafts.map((d) => d.name).join(', ')}`);
      process.stdout.write(`${flags.from}: ${drafts.map((d) => `${d.name === draft.name ? '*' : ' '} ${d.name}  ${d.title}`).join('\n')}\n`);
      const { body, missing, report } = fillFromEnvironment(draft, process.env);
      if (flags.name) body.name = flags.name;
      for (const line of report) process.stdout.write(`  ${line}\n`);
      if (missing.length > 0) throw new GatewayError('REGISTRY_ENTRY_INVALID', `set the required variable(s) ${missing.join(', ')} in the environment first; nothing was created`);
      if (flags.dryRun) {
        process.stdout.write(`would create gateway ${String(body.name)} (${String(body.transport)})\n`);
        return;
      }
      const created = await new AdminClient(targetFromEnv()).create('gateways', body);
      process.stdout.write(`created gateway ${String(created.name)} (${String(created.transport)})\n`);
    });
}

/** The gateway drafts of a server.json, through the same importer as `import preview --kind oci-mcp-package`. */
export function registryDrafts(doc: unknown, file: string): Draft[] {
  let result;
  try {
    result = importOciPackage(doc, { sourceName: file });
  } catch (error) {
    throw new GatewayError('REGISTRY_ENTRY_INVALID', `${file}: ${(error as Error).message}`);
  }
  const drafts = result.operations.flatMap((op) =>
    op.target.type === 'gateway' ? [{ name: op.name, title: op.title ?? op.name, gateway: { ...op.target.gateway } as Record<string, unknown>, inputs: op.input_schema as Draft['inputs'] }] : [],
  );
  if (drafts.length === 0) throw new GatewayError('REGISTRY_ENTRY_INVALID', `${file}: no package or remote becomes a gateway`);
  return drafts;
}

/**
 * Replace the draft's `env:VAR` placeholders (package variables, secret headers) with values from
 * the environment. Values are sent as write-only fields and never printed; the report names each
 * variable, whether it is required or secret, and whether it was found.
 */
export function fillFromEnvironment(draft: Draft, env: NodeJS.ProcessEnv): { body: Record<string, unknown>; missing: string[]; report: string[] } {
  const body = { ...draft.gateway };
  const required = new Set(draft.inputs.required ?? []);
  const missing: string[] = [];
  const report: string[] = [];
  const fill = (map: Record<string, string>, what: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [key, ref] of Object.entries(map)) {
      const variable = ref.startsWith('env:') ? ref.slice(4) : key;
      const value = env[variable];
      const secret = draft.inputs.properties?.[key]?.format === 'password';
      const need = what === 'header' || required.has(key);
      report.push(`${what} ${key}: ${need ? 'required' : 'optional'}${secret ? ', secret' : ''}; from $${variable}: ${value ? 'set' : 'not set'}`);
      if (value) out[key] = value;
      else if (need) missing.push(variable);
    }
    return out;
  };
  if (body.env) body.env = fill(body.env as Record<string, string>, 'env');
  if (body.auth_headers) body.auth_headers = fill(body.auth_headers as Record<string, string>, 'header');
  return { body, missing, report };
}
