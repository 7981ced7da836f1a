import { snakeCase } from '../common.js';
import { hash } from './schemas.js';

export { cleanText, envName, snakeCase } from '../common.js';

/** Tool names, argument names and descriptions made from what an API description says. */

export const MAX_NAME = 64;


/** The name from an operationId, else from the method and path (`GET /users/{id}` → `get_users_id`). */
export function baseName(operationId: unknown, method: string, path: string): string {
  const fromId = typeof operationId === 'string' ? snakeCase(operationId) : '';
  return fromId || snakeCase(`${method} ${path.replace(/[{}]/g, '')}`) || method.toLowerCase();
}

/** At most 64 characters: a longer name keeps its start and ends with a hash of the whole. */
export function fitName(name: string): string {
  if (name.length <= MAX_NAME) return name;
  const suffix = `_${hash(name)}`;
  return name.slice(0, MAX_NAME - suffix.length).replace(/[_-]+$/, '') + suffix;
}

/** Hands out names that are unique ignoring case, so no two tools ever share a file. */
export class NameBook {
  private readonly taken = new Set<string>();

  /** `wanted`, or (when taken) its start plus a hash of `identity` (method and path). */
  claim(wanted: string, identity: string): string {
    let name = fitName(wanted);
    for (let attempt = 0; this.taken.has(name.toLowerCase()); attempt++) {
      const suffix = `_${hash(`${identity}#${attempt}`)}`;
      name = wanted.slice(0, MAX_NAME - suffix.length).replace(/[_-]+$/, '') + suffix;
    }
    this.taken.add(name.toLowerCase());
    return name;
  }
}

const PLACEHOLDER_SAFE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** An argument name usable as a `{placeholder}`: `$top` → `top`, `filter[status]` → `filter_status`. */
export function argumentName(name: string): string {
  if (PLACEHOLDER_SAFE.test(name)) return name;
  const cleaned = name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z0-9]+|_+$/g, '');
  if (!cleaned) return `arg_${hash(name)}`;
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `p_${cleaned}`;
}



