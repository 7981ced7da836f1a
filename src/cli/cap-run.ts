import { basename } from 'node:path';
import { writeCapabilities } from '../capabilities/write.js';
import { ENV_REF_PATTERN } from '../domain/text.js';
import { GatewayError } from '../errors.js';
import { convertOpenApi, generatedHeader, type ConvertOptions, type ConvertResult } from '../importers/openapi/convert.js';
import { loadOpenApi } from '../importers/openapi/load.js';
import { EXIT } from './exit.js';

export interface ImportFlags {
  output: string;
  prefix?: string;
  authKey?: string;
  includeTags?: string;
  excludeTags?: string;
  operation?: string[];
  readOnly?: boolean;
  allowRemoteRefs?: boolean;
  /** undefined: the structural checks; true (--validate): full validation; false (--no-validate): none. */
  validate?: boolean;
  strict?: boolean;
  maxBytes: string;
  force?: boolean;
  outputSchema?: boolean;
  maxOutputSchema?: string;
  maxDescription?: string;
}


/** The work behind `mcpgateway cap import`, loaded only when it runs (`cap validate`: cap-validate.ts). */

export async function runImport(spec: string, flags: ImportFlags): Promise<number> {
  const options = convertOptions(flags);
  const maxBytes = Number(flags.maxBytes);
  if (!/^\d+$/.test(flags.maxBytes) || maxBytes < 1) throw new GatewayError('CLI_USAGE', `--max-bytes must be a positive whole number, not "${flags.maxBytes}"`);
  // --strict without --validate/--no-validate refuses on the full validation, as before.
  const validate = flags.validate ?? (flags.strict ? true : 'structural');
  const loaded = await loadOpenApi(spec, { maxBytes, validate, allowRemoteRefs: flags.allowRemoteRefs === true, strict: flags.strict === true });
  const result = convertOpenApi(loaded.doc, options);
  const source = basename(spec);
  const written = writeCapabilities(
    flags.output,
    result.capabilities.map((c) => ({ capability: c.capability, header: generatedHeader(c, source) })),
    flags.force === true,
  );
  printSummary(result, written.length, flags.output, loaded.validationErrors, loaded.warnings);
  return result.report.skipped.some((s) => s.kind === 'failed') ? EXIT.FAILED : EXIT.OK;
}

function convertOptions(flags: ImportFlags): ConvertOptions {
  const options: ConvertOptions = {};
  if (flags.prefix !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/.test(flags.prefix)) {
      throw new GatewayError('CLI_USAGE', '--prefix must be 1-32 characters of A-Z, a-z, 0-9, "_" or "-", starting with a letter or digit');
    }
    options.prefix = flags.prefix;
  }
  if (flags.authKey !== undefined) {
    if (!ENV_REF_PATTERN.test(flags.authKey)) {
      throw new GatewayError('CLI_USAGE', '--auth-key must be an environment reference such as env:API_TOKEN; credentials are never written in a file');
    }
    options.authKey = flags.authKey;
  }
  const list = (value: string | undefined) => (value ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  if (flags.includeTags !== undefined) options.includeTags = list(flags.includeTags);
  if (flags.excludeTags !== undefined) options.excludeTags = list(flags.excludeTags);
  if (flags.operation?.length) options.operations = flags.operation;
  if (flags.readOnly) options.readOnly = true;
  if (flags.outputSchema === false) options.outputSchema = false;
  const count = (value: string | undefined, flag: string, min: number): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d{1,9}$/.test(value) || Number(value) < min) throw new GatewayError('CLI_USAGE', `${flag} must be a whole number of at least ${min}, not "${value}"`);
    return Number(value);
  };
  const maxOutput = count(flags.maxOutputSchema, '--max-output-schema', 0);
  if (maxOutput !== undefined) options.maxOutputSchemaBytes = maxOutput;
  const maxDescription = count(flags.maxDescription, '--max-description', 16);
  if (maxDescription !== undefined) options.maxDescription = Math.min(maxDescription, 10_000);
  return options;
}

function printSummary(result: ConvertResult, written: number, dir: string, validationErrors: string[], parserWarnings: string[]): void {
  const r = result.report;
  const out: string[] = [];
  out.push(`${r.title || 'API'} ${r.version} (${r.specification}): ${r.operations_found} operations found, ${written} written to ${dir}/, ${r.skipped.length} skipped`);
  if (r.skipped.length > 0) {
    out.push('skipped:');
    for (const s of r.skipped) out.push(`  ${s.operation}: ${s.reason}`);
  }
  const warnings = [...validationErrors.map((e) => `validation: ${e}`), ...parserWarnings, ...r.warnings];
  if (warnings.length > 0) {
    out.push('warnings:');
    for (const w of warnings) out.push(`  ${w}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
