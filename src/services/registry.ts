import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { AuthCipher } from '../crypto/auth-value.js';
import { KIND_DEFS, WRITE_ONLY_FIELDS, type Kind, type KindDef } from '../domain/entities.js';
import { canonicalJson, isObject, mergePatch } from '../domain/merge-patch.js';
import { findUnsafeString, jsonPath } from '../domain/text.js';
import { GatewayError, validationError, type FieldError } from '../errors.js';
import { UniqueViolation, type ListQuery, type Repository, type Store, type StoredObject } from '../store/store.js';
import { resolveCredentials, type CredentialInput } from './credentials.js';

/** A change the registry made, for listeners (MCP sessions, caches, other instances). */
export interface ChangeEvent {
  kind: Kind;
  op: 'create' | 'update' | 'delete';
  id: string;
  name: string;
}

export interface Page {
  items: Record<string, unknown>[];
  /** Opaque cursor for the next page, when there is one. */
  nextCursor?: string;
}

export interface ListOptions {
  includeInactive?: boolean;
  tags?: string[];
  filters?: string[];
  limit?: number;
  cursor?: string;
}

/** The outcome of a write: the object as GET returns it, and whether anything changed. */
export interface WriteResult {
  object: Record<string, unknown>;
  changed: boolean;
  created: boolean;
}

// Fields that federation or health checks keep on stored objects, preserved across edits.
const READ_ONLY_DEFAULTS: Partial<Record<Kind, Record<string, unknown>>> = {
  gateways: { capabilities: null, reachable: null, last_seen: null, last_error: null, collisions: [] },
  tools: { gateway: null, original_name: null },
};

/** CRUD over the five kinds: validation, credentials, references and change events. */
export class Registry {
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  // Events of writes made inside a transaction wait here until it commits.
  private readonly pending = new WeakMap<Repository, ChangeEvent[]>();

  constructor(
    readonly store: Store,
    readonly cipher: AuthCipher,
  ) {}

  /** Subscribe to changes; returns the unsubscribe function. */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Run writes in one transaction; their change events are sent after commit, never on rollback. */
  async transaction<T>(work: (repo: Repository) => Promise<T>): Promise<T> {
    const events: ChangeEvent[] = [];
    const result = await this.store.transaction(async (repo) => {
      this.pending.set(repo, events);
      return work(repo);
    });
    for (const event of events) this.emit(event, this.store);
    return result;
  }

  async list(kind: Kind, options: ListOptions = {}, repo: Repository = this.store): Promise<Page> {
    const query: ListQuery = { includeInactive: options.includeInactive ?? false };
    if (options.tags?.length) query.tags = options.tags;
    if (options.filters?.length) query.allTags = options.filters;
    if (options.cursor !== undefined) query.after = decodeCursor(options.cursor);
    if (options.limit !== undefined) query.limit = options.limit + 1;
    const rows = await repo.list(kind, query);
    let nextCursor: string | undefined;
    if (options.limit !== undefined && rows.length > options.limit) {
      rows.length = options.limit;
      nextCursor = encodeCursor(String(rows[rows.length - 1]!.fields[KIND_DEFS[kind].keyField]));
    }
    const items = await this.present(kind, rows, repo);
    return nextCursor === undefined ? { items } : { items, nextCursor };
  }

  async get(kind: Kind, idOrKey: string, repo: Repository = this.store): Promise<Record<string, unknown>> {
    const stored = await this.find(kind, idOrKey, repo);
    return (await this.present(kind, [stored], repo))[0]!;
  }

  /** Look an object up by id or key, or fail with the kind's NOT_FOUND error. */
  async find(kind: Kind, idOrKey: string, repo: Repository = this.store): Promise<StoredObject> {
    const found = (await repo.get(kind, idOrKey)) ?? (kind === 'resources' ? await repo.getResourceByName(idOrKey) : undefined);
    if (!found) throw new GatewayError(KIND_DEFS[kind].notFound, `no ${KIND_DEFS[kind].singular} with id or ${KIND_DEFS[kind].keyField} "${idOrKey}"`);
    return found;
  }

  async create(kind: Kind, body: unknown, repo: Repository = this.store): Promise<WriteResult> {
    const def = KIND_DEFS[kind];
    const input = cleanBody(body, def);
    if (kind === 'tools' && input.integration_type === 'MCP') {
      throw validationError([{ path: '$.integration_type', message: 'MCP tools are discovered from gateways; register the gateway instead' }]);
    }
    const fields = this.normalize(def, input, undefined);
    const now = timestamp();
    const stored: StoredObject = { id: randomUUID().replaceAll('-', ''), created_at: now, updated_at: now, fields };
    await this.write(def, () => repo.insert(kind, stored), fields);
    this.emit({ kind, op: 'create', id: stored.id, name: String(fields[def.keyField]) }, repo);
    return { object: (await this.present(kind, [stored], repo))[0]!, changed: true, created: true };
  }

  /** PUT: the body replaces every writable field; unchanged content changes nothing. */
  async replace(kind: Kind, idOrKey: string, body: unknown, repo: Repository = this.store): Promise<WriteResult> {
    const def = KIND_DEFS[kind];
    const current = await this.find(kind, idOrKey, repo);
    const input = cleanBody(body, def);
    this.guardManaged(kind, current, input);
    return this.save(def, current, this.normalize(def, input, current), repo);
  }

  /** PATCH with a JSON merge patch (RFC 7386); a patch that changes nothing changes nothing. */
  async patch(kind: Kind, idOrKey: string, patch: unknown, repo: Repository = this.store): Promise<WriteResult> {
    const def = KIND_DEFS[kind];
    const current = await this.find(kind, idOrKey, repo);
    const changes = cleanBody(patch, def);
    this.guardManaged(kind, current, changes);
    const base = editable(def, current.fields);
    const merged = mergePatch(base, changes) as Record<string, unknown>;
    // New credentials or a new auth_type replace the stored value unless the patch sends one.
    const credentialsChanged =
      WRITE_ONLY_FIELDS.some((f) => f in changes) || ('auth_type' in changes && changes.auth_type !== base.auth_type);
    if (credentialsChanged && !('auth_value' in changes)) delete merged.auth_value;
    if (credentialsChanged && !('auth_type' in changes)) delete merged.auth_type;
    return this.save(def, current, this.normalize(def, merged, current), repo);
  }

  async delete(kind: Kind, idOrKey: string, repo: Repository = this.store): Promise<void> {
    const current = await this.find(kind, idOrKey, repo);
    await repo.delete(kind, current.id);
    this.emit({ kind, op: 'delete', id: current.id, name: String(current.fields[KIND_DEFS[kind].keyField]) }, repo);
  }

  /** Validate a cleaned body and produce the stored fields (credentials encrypted). */
  private normalize(def: KindDef, input: Record<string, unknown>, current: StoredObject | undefined): Record<string, unknown> {
    const parsed = def.write.safeParse(input);
    if (!parsed.success) throw validationError(zodErrors(parsed.error));
    const fields: Record<string, unknown> = { ...parsed.data };
    if (def.hasAuth) {
      const label = `${def.singular} "${String(fields.name)}"`;
      const currentAuth = current
        ? { auth_type: current.fields.auth_type as never, auth_value: (current.fields.auth_value as string | null) ?? null }
        : undefined;
      // Only an auth_type the caller gave counts as declared, not the schema's default.
      const declared = { ...fields, auth_type: 'auth_type' in input ? fields.auth_type : undefined } as CredentialInput;
      const resolved = resolveCredentials(declared, this.cipher, currentAuth, label);
      for (const key of WRITE_ONLY_FIELDS) delete fields[key];
      fields.auth_type = resolved.auth_type;
      fields.auth_value = resolved.auth_value;
    }
    if (def.kind === 'resources' && fields.name === undefined) fields.name = fields.uri;
    // Keep what federation and health checks recorded.
    const readOnly = READ_ONLY_DEFAULTS[def.kind];
    if (readOnly) for (const key of Object.keys(readOnly)) fields[key] = current?.fields[key] ?? readOnly[key];
    return fields;
  }

  private async save(def: KindDef, current: StoredObject, fields: Record<string, unknown>, repo: Repository): Promise<WriteResult> {
    if (canonicalJson(fields) === canonicalJson(current.fields)) {
      return { object: (await this.present(def.kind, [current], repo))[0]!, changed: false, created: false };
    }
    const updated: StoredObject = { ...current, fields, updated_at: timestamp(current.updated_at) };
    await this.write(def, () => repo.update(def.kind, updated), fields);
    this.emit({ kind: def.kind, op: 'update', id: current.id, name: String(fields[def.keyField]) }, repo);
    return { object: (await this.present(def.kind, [updated], repo))[0]!, changed: true, created: false };
  }

  private async write(def: KindDef, work: () => Promise<void>, fields: Record<string, unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof UniqueViolation) {
        const key = def.keyField;
        throw new GatewayError(def.exists, `a ${def.singular} with ${key} "${String(fields[key])}" already exists`, [
          { path: `$.${key}`, message: 'is already taken' },
        ]);
      }
      throw error;
    }
  }

  /** MCP tools belong to their gateway: only is_active and tags may be changed by hand. */
  private guardManaged(kind: Kind, current: StoredObject, input: Record<string, unknown>): void {
    if (kind !== 'tools' || current.fields.integration_type !== 'MCP') return;
    const allowed = new Set(['is_active', 'tags']);
    const base = editable(KIND_DEFS.tools, current.fields);
    const other = Object.keys(input).filter((k) => !allowed.has(k) && canonicalJson(input[k]) !== canonicalJson(base[k]));
    if (other.length > 0) {
      throw new GatewayError('TOOL_READ_ONLY', `tool "${String(current.fields.name)}" comes from gateway "${String(current.fields.gateway)}"; only is_active and tags can be changed (not ${other.join(', ')})`);
    }
  }

  /** Objects as GET returns them: server-made fields, defaults, and servers' missing_refs. */
  private async present(kind: Kind, rows: StoredObject[], repo: Repository): Promise<Record<string, unknown>[]> {
    const readOnly = READ_ONLY_DEFAULTS[kind] ?? {};
    const items = rows.map((row) => {
      const item: Record<string, unknown> = { id: row.id, ...row.fields };
      for (const key of Object.keys(readOnly)) if (!(key in item)) item[key] = readOnly[key];
      item.created_at = row.created_at;
      item.updated_at = row.updated_at;
      return item;
    });
    if (kind === 'servers') await this.addMissingRefs(items, repo);
    return items;
  }

  private async addMissingRefs(servers: Record<string, unknown>[], repo: Repository): Promise<void> {
    const refKinds = ['tools', 'prompts', 'resources'] as const;
    const existing = new Map<string, Set<string>>();
    for (const refKind of refKinds) {
      const wanted = new Set<string>();
      for (const server of servers) for (const ref of (server[refKind] as string[] | undefined) ?? []) wanted.add(ref);
      existing.set(refKind, wanted.size > 0 ? await repo.existingKeys(refKind, [...wanted]) : new Set());
    }
    for (const server of servers) {
      const missing: Record<string, string[]> = {};
      for (const refKind of refKinds) {
        const have = existing.get(refKind)!;
        missing[refKind] = ((server[refKind] as string[] | undefined) ?? []).filter((ref) => !have.has(ref));
      }
      server.missing_refs = missing;
    }
  }

  private emit(event: ChangeEvent, repo: Repository): void {
    const held = this.pending.get(repo);
    if (held) {
      held.push(event);
      return;
    }
    for (const listener of this.listeners) listener(event);
  }
}

/** Check a write body is a safe JSON object and drop the server-made fields it may carry. */
function cleanBody(body: unknown, def: KindDef): Record<string, unknown> {
  if (!isObject(body)) throw validationError([{ path: '$', message: `must be a JSON object describing a ${def.singular}` }]);
  const unsafe = findUnsafeString(body);
  if (unsafe) throw validationError([unsafe]);
  const clean = { ...body };
  for (const key of def.serverMade) delete clean[key];
  return clean;
}

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

/** Now, as an ISO timestamp strictly after `previous` (so updated_at always moves on change). */
function timestamp(previous?: string): string {
  let now = Date.now();
  if (previous) {
    const before = Date.parse(previous);
    if (now <= before) now = before + 1;
  }
  return new Date(now).toISOString();
}

function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ after: key }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (isObject(parsed) && typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw new GatewayError('BAD_CURSOR', 'cursor is not one this gateway issued; start again without it');
}
