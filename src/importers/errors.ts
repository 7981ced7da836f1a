import { GatewayError } from '../errors.js';
import type { z } from 'zod';

/** A problem with an import source: the message names what is wrong and where (a JSON path). */
export function sourceError(message: string): GatewayError {
  return new GatewayError('IMPORT_SOURCE_INVALID', message);
}

export function isSourceError(error: unknown): error is GatewayError {
  return error instanceof GatewayError && error.code === 'IMPORT_SOURCE_INVALID';
}

/**
 * Check a source's containers (lists where lists belong, objects where objects do) before an
 * importer walks it, so a wrong type is refused naming its place (`$.packages[1].remotes`) rather
 * than failing inside the walk. Scalars stay the importer's to check, with its own messages.
 */
export function checkShape(schema: z.ZodType, value: unknown): void {
  const result = schema.safeParse(value);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  let path = '$';
  for (const part of issue.path) path += typeof part === 'number' ? `[${part}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(part)) ? `.${String(part)}` : `[${JSON.stringify(String(part))}]`;
  const expected = 'expected' in issue ? String(issue.expected) : undefined;
  throw sourceError(`${path}: ${expected === 'array' ? 'must be a list' : expected === 'object' || expected === 'record' ? 'must be an object' : issue.message}`);
}
