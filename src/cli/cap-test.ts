import { randomBytes } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { capabilityToTool } from '../capabilities/convert.js';
import { loadCapabilityFile } from '../capabilities/file.js';
import { AuthCipher } from '../crypto/auth-value.js';
import { GatewayError } from '../errors.js';
import { RestExecutor, type PreparedRequest } from '../upstream/rest-executor.js';
import { EXIT } from './exit.js';

/** `mcpgateway cap test FILE --args JSON`: check the arguments, make the real call, show both sides. */

const MASK = '****';

export async function runCapTest(file: string, argsText: string, timeoutMs: number): Promise<number> {
  const capability = loadCapabilityFile(file);
  let args: unknown;
  try {
    args = JSON.parse(argsText);
  } catch (error) {
    throw new GatewayError('CLI_USAGE', `--args is not JSON: ${(error as Error).message}`);
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new GatewayError('CLI_USAGE', '--args must be a JSON object of arguments');
  const problems = checkArguments(capability.schema.input, args);
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`${file}: argument ${problem}\n`);
    process.stderr.write(`mcpgateway: the arguments do not match schema.input of ${capability.name}; nothing was sent\n`);
    return EXIT.FAILED;
  }
  const tool = capabilityToTool(capability);
  if (!/^https?:\/\//i.test(tool.url)) {
    throw new GatewayError('CAPABILITY_INVALID', `${file} has no providers.primary.config.base_url, so there is nowhere to send the call`);
  }
  if (!capability.enabled) process.stdout.write(`note: ${capability.name} is a draft (enabled: false); the gateway does not serve it\n`);
  // Files hold no stored credentials, so the cipher is never used; it gets a throwaway key.
  const executor = new RestExecutor(new AuthCipher(randomBytes(32).toString('base64url')), { defaultTimeoutMs: timeoutMs, maxResponseBytes: 10 * 1024 * 1024 });
  try {
    let mask = masker([]);
    const result = await executor.call(tool, undefined, args as Record<string, unknown>, undefined, {
      observe: (request) => {
        mask = masker(request.secrets);
        printRequest(request, mask);
      },
    });
    process.stdout.write(`← ${result.isError ? 'error' : 'result'}\n`);
    const shown = result.structuredContent !== undefined ? JSON.stringify(result.structuredContent, null, 2) : result.content.map((c) => c.text).join('\n');
    // An API may echo what it was sent: the answer is masked too.
    process.stdout.write(`${indent(mask(shown))}\n`);
    return result.isError ? EXIT.FAILED : EXIT.OK;
  } finally {
    await executor.close();
  }
}

/** Problems as `$.path: message`, the way an MCP client would check them. */
function checkArguments(schema: Record<string, unknown>, args: unknown): string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new GatewayError('CAPABILITY_INVALID', `schema.input is not a usable JSON Schema: ${(error as Error).message}`);
  }
  if (validate(args)) return [];
  return (validate.errors ?? []).map((e) => {
    const path = `$${e.instancePath.replace(/\/([^/]*)/g, (_m, key: string) => (/^\d+$/.test(key) ? `[${key}]` : `.${key}`))}`;
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
    return `${path}: ${e.message ?? 'is invalid'}${extra}`;
  });
}

function printRequest(request: PreparedRequest, mask: (text: string) => string): void {
  const lines = [`→ ${request.method} ${mask(request.url.toString())}`];
  for (const [name, value] of Object.entries(request.headers).sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`  ${name}: ${mask(value)}`);
  if (typeof request.body === 'string') lines.push('', indent(mask(request.body)));
  else if (request.body) {
    lines.push('', '  (multipart/form-data)');
    for (const [name, value] of request.body.entries()) lines.push(`  ${name}: ${mask(typeof value === 'string' ? value : `<file ${value.name}>`)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Replaces every secret, as is and as URLs or forms encode it. */
function masker(secrets: string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return (text) => ordered.reduce((out, secret) => out.split(secret).join(MASK), text);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
