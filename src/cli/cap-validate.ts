import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblems, readCapabilityFile, type CapabilityProblem } from '../capabilities/file.js';
import { GatewayError } from '../errors.js';
import { EXIT } from './exit.js';

/** The work behind `mcpgateway cap validate`, loaded only when it runs. */

export function runValidate(inputs: string[]): number {
  const files = expand(inputs);
  const problems: CapabilityProblem[] = [];
  const names = new Map<string, string>();
  let valid = 0;
  for (const file of files) {
    const result = readCapabilityFile(file);
    if (!result.ok) {
      problems.push(...result.problems);
      continue;
    }
    const other = names.get(result.capability.name.toLowerCase());
    if (other) {
      problems.push({ file, path: '$.name', line: null, message: `"${result.capability.name}" is also the name in ${other}` });
      continue;
    }
    names.set(result.capability.name.toLowerCase(), file);
    valid++;
  }
  for (const line of formatProblems(problems)) process.stderr.write(`${line}\n`);
  const invalid = files.length - valid;
  process.stdout.write(`${files.length} file${files.length === 1 ? '' : 's'} checked: ${valid} valid, ${invalid} invalid\n`);
  return invalid > 0 ? EXIT.FAILED : EXIT.OK;
}

/** Files as given, and folders as their capability files (sorted, not recursive). */
function expand(inputs: string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = statSync(input).isDirectory();
    } catch {
      // reported as unreadable when read
    }
    if (!isDir) {
      files.push(input);
      continue;
    }
    // `import apply` writes its manifest beside the drafts; it is not a capability file.
    const found = readdirSync(input)
      .filter((f) => /\.(ya?ml|json)$/i.test(f) && !/\.manifest\.json$/i.test(f))
      .sort()
      .map((f) => join(input, f));
    if (found.length === 0) throw new GatewayError('CLI_USAGE', `${input} holds no .yaml, .yml or .json files`);
    files.push(...found);
  }
  return files;
}
