import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The real API descriptions the importer tests run on. */
export const EXAMPLES = 'node_modules/@readme/oas-examples';
export const GITHUB = 'node_modules/@octokit/openapi/generated/api.github.com.json';

/** The oas-examples documents (Swagger 2.0, OpenAPI 3.0 and 3.1) below `sub` of each version folder, in name order. */
export function exampleDocuments(sub: '' | 'json', pattern: RegExp): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (pattern.test(name)) files.push(path);
    }
  };
  for (const version of ['2.0', '3.0', '3.1']) walk(join(EXAMPLES, version, sub));
  return files;
}
