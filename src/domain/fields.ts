import type { z } from 'zod';
import type { FieldError } from '../errors.js';
import type { KindDef } from './entities.js';
import { jsonPath } from './text.js';

/** Pure helpers over entity fields, shared by the registry, export/import and the CLI. */

/** The writable view of stored fields: what a GET shows minus what the server makes. */
export function editable(def: KindDef, fields: Record<string, unknown>): Record<string, unknown> {
  const view = { ...fields };
  for (const key of def.serverMade) delete view[key];
  return view;
}

/** Zod issues as `{path: "$.a[0].b", message}`; messages never echo the input value. */
export function zodErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => {
    let path = '$';
    for (const part of issue.path) path = jsonPath(path, typeof part === 'number' ? part : String(part));
    if (issue.code === 'unrecognized_keys') {
      return { path, message: `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}` };
    }
    return { path, message: issue.message };
  });
}
