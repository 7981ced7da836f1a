import { hash } from './schemas.js';

/** Tool names, argument names and descriptions made from what an API description says. */

export const MAX_NAME = 64;

/** `getUserById` → `get_user_by_id`, `repos/get-content` → `repos_get_content`, `HTTPServer` → `http_server`. */
export function snakeCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

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

// Characters a tool's free text may not hold (SPEC: no controls, no bidi overrides).
const UNSAFE_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]/g;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Description text: HTML tags removed, entities decoded, white space tidied, capped. */
export function cleanText(text: string, max: number): string {
  let out = text
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<br\s*\/?>|<\/p\s*>|<\/li\s*>/gi, '\n')
    .replace(/<[^>]{0,1000}>/g, '')
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, entity: string) => {
      if (entity[0] === '#') {
        const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[entity.toLowerCase()] ?? whole;
    })
    .toWellFormed()
    .replace(/\r\n?/g, '\n')
    .replace(UNSAFE_TEXT, '')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (out.length > max) out = `${out.slice(0, max - 1).trimEnd()}…`;
  return out;
}

/** `GitHub v3 REST API` + `bearerAuth` → `GITHUB_V3_REST_API_BEARER_AUTH` (an environment variable name). */
export function envName(...parts: string[]): string {
  const name = parts
    .map((p) => snakeCase(p).toUpperCase())
    .filter(Boolean)
    .join('_')
    .slice(0, 100)
    .replace(/_+$/, '');
  return /^[A-Z_]/.test(name) ? name : `API_${name}`;
}
