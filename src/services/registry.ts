import { randomUUID } from 'node:crypto';
import type { AuthCipher } from '../crypto/auth-value.js';
import { KIND_DEFS, managedToolEdit, WRITE_ONLY_FIELDS, type CredentialRef, type Kind, type KindDef } from '../domain/entities.js';
import { allowedByList, GATEWAY_VARIABLES, referencedVariables } from '../domain/env-refs.js';
import { canonicalJson, isObject, mergePatch } from '../domain/merge-patch.js';
import { editable, zodErrors } from '../domain/fields.js';
import { findUnsafeString } from '../domain/text.js';
import { GatewayError, validationError } from '../errors.js';
import { UniqueViolation, type ListQuery, type Repository, type Store, type StoredObject } from '../store/store.js';
import { resolveCredentials, type CredentialInput } from './credentials.js';
import { checkServerCuration, curationCandidates, namedRefs, presentCuration } from './server-curation.js';
import { maskedEnv, resolveEnv } from './env-secrets.js';

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

/**
 * Tools that live outside the database (capability files): listed and fetched with the stored
 * ones, never written through the registry.
 */
export interface ReadOnlyToolSource {
  /** In name order (code points), as GET shows them, each with its `source_file`. */
  list(): Record<string, unknown>[];
  get(idOrName: string): Record<string, unknown> | undefined;
  onChange(listener: (change: { op: ChangeEvent['op']; id: string; name: string }) => void): () => void;
}

// Fields that federation or health checks keep on stored objects, preserved across edits.
const READ_ONLY_DEFAULTS: Partial<Record<Kind, Record<string, unknown>>> = {
  gateways: { capabilities: null, reachable: null, last_seen: null, last_error: null, collisions: [] },
  tools: { gateway: null, original_name: null, source_file: null },
};

/** CRUD over the five kinds: validation, credentials, references and change events. */
export class Registry {
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private federatedRefs: { servesRef(kind: 'prompts' | 'resources', ref: string): boolean } | undefined;
  private fileTools: ReadOnlyToolSource | undefined;
  // Events of writes made inside a transaction wait here until it commits.
  private readonly pending = new WeakMap<Repository, ChangeEvent[]>();

  constructor(
    readonly store: Store,
    readonly cipher: AuthCipher,
    /** Variables tools stored through the Admin API may reference as env:VAR (ENV_REF_ALLOWLIST). */
    private readonly envRefAllowlist: readonly string[] = [],
  ) {}

  /** Count references to federated prompts, resources and templates (held in memory) as present in missing_refs. */
  attachFederatedRefs(source: { servesRef(kind: 'prompts' | 'resources', ref: string): boolean }): void {
    this.federatedRefs = source;
  }

  /** Show tools from capability files beside the stored ones; their changes reach listeners too. */
  attachReadOnlyTools(source: ReadOnlyToolSource): void {
    this.fileTools = source;
    source.onChange((change) => this.emit({ kind: 'tools', ...change }, this.store));
  }

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

  /** Read, change and write one object without another writer slipping in between. */
  private atomically<T>(repo: Repository, work: (repo: Repository) => Promise<T>): Promise<T> {
    return repo === this.store ? this.transaction(work) : work(repo);
  }

  async list(kind: Kind, options: ListOptions = {}, repo: Repository = this.store): Promise<Page> {
    const query: ListQuery = { includeInactive: options.includeInactive ?? false };
    if (options.tags?.length) query.tags = options.tags;
    if (options.filters?.length) query.allTags = options.filters;
    if (options.cursor !== undefined) query.after = decodeCursor(options.cursor);
    if (options.limit !== undefined) query.limit = options.limit + 1;
    const rows = await repo.list(kind, query);
    if (kind === 'tools' && this.fileTools) return this.listWithFileTools(rows, options, query.after, repo);
    let nextCursor: string | undefined;
    if (options.limit !== undefined && rows.length > options.limit) {
      rows.length = options.limit;
      nextCursor = encodeCursor(String(rows[rows.length - 1]!.fields[KIND_DEFS[kind].keyField]));
    }
    const items = await this.present(kind, rows, repo);
    return nextCursor === undefined ? { items } : { items, nextCursor };
  }

  async get(kind: Kind, idOrKey: string, repo: Repository = this.store): Promise<Record<string, unknown>> {
    const stored = (await repo.get(kind, idOrKey)) ?? (kind === 'resources' ? await repo.getResourceByName(idOrKey) : undefined);
    if (!stored) {
      const fromFile = kind === 'tools' ? this.fileTools?.get(idOrKey) : undefined;
      if (fromFile) return { ...fromFile };
    }
    return (await this.present(kind, [stored ?? (await this.find(kind, idOrKey, repo))], repo))[0]!;
  }

  /** Look a stored object up by id or key, or fail with the kind's NOT_FOUND error (or read-only, for a file's tool). */
  async find(kind: Kind, idOrKey: string, repo: Repository = this.store, lock = false): Promise<StoredObject> {
    const found = (await repo.get(kind, idOrKey, { lock })) ?? (kind === 'resources' ? await repo.getResourceByName(idOrKey) : undefined);
    if (found) return found;
    const fromFile = kind === 'tools' ? this.fileTools?.get(idOrKey) : undefined;
    if (fromFile) {
      throw new GatewayError('TOOL_READ_ONLY', `tool "${String(fromFile.name)}" comes from the capability file ${String(fromFile.source_file)}; edit that file instead`);
    }
    throw new GatewayError(KIND_DEFS[kind].notFound, `no ${KIND_DEFS[kind].singular} with id or ${KIND_DEFS[kind].keyField} "${idOrKey}"`);
  }

  async create(kind: Kind, body: unknown, repo: Repository = this.store): Promise<WriteResult> {
    const def = KIND_DEFS[kind];
    const input = cleanBody(body, def);
    if (kind === 'tools' && input.integration_type === 'MCP') {
      throw validationError([{ path: '$.integration_type', message: 'MCP tools are discovered from gateways; register the gateway instead' }]);
    }
    const fields = this.normalize(def, input, undefined);
    if (kind === 'servers') checkServerCuration(fields, await curationCandidates(repo, this.fileTools));
    const fromFile = kind === 'tools' ? this.fileTools?.get(String(fields.name)) : undefined;
    if (fromFile) {
      throw new GatewayError(def.exists, `a tool with name "${String(fields.name)}" exists (from the capability file ${String(fromFile.source_file)})`, [
        { path: '$.name', message: 'is already taken' },
      ]);
    }
    const now = timestamp();
    const stored: StoredObject = { id: randomUUID().replaceAll('-', ''), created_at: now, updated_at: now, fields };
    await this.write(def, () => repo.insert(kind, stored), fields);
    this.emit({ kind, op: 'create', id: stored.id, name: String(fields[def.keyField]) }, repo);
    return { object: (await this.present(kind, [stored], repo))[0]!, changed: true, created: true };
  }

  /** PUT: the body replaces every writable field; unchanged content changes nothing. */
  async replace(kind: Kind, idOrKey: string, body: unknown, repo: Repository = this.store): Promise<WriteResult> {
    return this.atomically(repo, async (r) => {
      const def = KIND_DEFS[kind];
      const current = await this.find(kind, idOrKey, r, true);
      const input = cleanBody(body, def);
      if (isManaged(kind, current)) return this.saveManaged(current, input, r);
      return this.save(def, current, this.normalize(def, input, current), r);
    });
  }

  /** PATCH with a JSON merge patch (RFC 7386); a patch that changes nothing changes nothing. */
  async patch(kind: Kind, idOrKey: string, patch: unknown, repo: Repository = this.store): Promise<WriteResult> {
    return this.atomically(repo, async (r) => {
      const def = KIND_DEFS[kind];
      const current = await this.find(kind, idOrKey, r, true);
      const changes = cleanBody(patch, def);
      if (isManaged(kind, current)) return this.saveManaged(current, changes, r);
      const base = editable(def, current.fields);
      const merged = mergePatch(base, changes) as Record<string, unknown>;
      // New credentials or a new auth_type replace the stored value unless the patch sends one.
      const credentialsChanged =
        WRITE_ONLY_FIELDS.some((f) => f in changes) || ('auth_type' in changes && changes.auth_type !== base.auth_type);
      if (credentialsChanged && !('auth_value' in changes)) delete merged.auth_value;
      if (credentialsChanged && !('auth_type' in changes)) delete merged.auth_type;
      return this.save(def, current, this.normalize(def, merged, current), r);
    });
  }

  async delete(kind: Kind, idOrKey: string, repo: Repository = this.store): Promise<void> {
    await this.atomically(repo, async (r) => {
      const current = await this.find(kind, idOrKey, r, true);
      await r.delete(kind, current.id);
      this.emit({ kind, op: 'delete', id: current.id, name: String(current.fields[KIND_DEFS[kind].keyField]) }, r);
    });
  }

  /** Stored tools and tools from files, merged in name order and paged together. */
  private async listWithFileTools(rows: StoredObject[], options: ListOptions, after: string | undefined, repo: Repository): Promise<Page> {
    const stored = await this.present('tools', rows, repo);
    const candidates = this.fileTools!.list().filter(
      (tool) =>
        (options.includeInactive || tool.is_active === true) &&
        (after === undefined || String(tool.name) > after) &&
        (!options.tags?.length || options.tags.some((t) => (tool.tags as string[]).includes(t))) &&
        (options.filters ?? []).every((t) => (tool.tags as string[]).includes(t)),
    );
    // A stored tool of the same name hides the file's.
    const taken = candidates.length > 0 ? await repo.existingKeys('tools', candidates.map((t) => String(t.name))) : new Set<string>();
    const files = candidates.filter((t) => !taken.has(String(t.name))).map((t) => ({ ...t }));
    const items: Record<string, unknown>[] = [];
    let i = 0;
    let j = 0;
    while (i < stored.length || j < files.length) {
      if (j >= files.length || (i < stored.length && String(stored[i]!.name) < String(files[j]!.name))) items.push(stored[i++]!);
      else items.push(files[j++]!);
    }
    if (options.limit !== undefined && items.length > options.limit) {
      items.length = options.limit;
      return { items, nextCursor: encodeCursor(String(items[items.length - 1]!.name)) };
    }
    return { items };
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
      if (resolved.auth_type === 'query_param' && def.kind !== 'gateways') {
        throw validationError([{ path: '$.auth_query_params', message: `query parameter credentials are for gateways; a ${def.singular} uses auth_headers, auth_token or auth_username/auth_password` }]);
      }
      for (const key of WRITE_ONLY_FIELDS) delete fields[key];
      fields.auth_type = resolved.auth_type;
      fields.auth_value = resolved.auth_value;
    }
    if (def.kind === 'gateways') {
      const current_ = current ? { env: current.fields.env as Record<string, string>, env_value: (current.fields.env_value as string | null) ?? null } : undefined;
      Object.assign(fields, resolveEnv(fields as never, 'env' in input, this.cipher, current_, `gateway "${String(fields.name)}"`));
    }
    if (def.kind === 'resources' && fields.name === undefined) fields.name = fields.uri;
    if (def.kind === 'tools' && fields.auth_ref) this.checkEnvRefs(fields.auth_ref as CredentialRef);
    if (def.kind === 'tools' && Array.isArray(fields.auth_also)) (fields.auth_also as CredentialRef[]).forEach((ref, i) => this.checkEnvRefs(ref, `auth_also.${i}`));
    // Keep what federation and health checks recorded.
    const readOnly = READ_ONLY_DEFAULTS[def.kind];
    if (readOnly) for (const key of Object.keys(readOnly)) fields[key] = current?.fields[key] ?? readOnly[key];
    return fields;
  }

  /** A stored tool may read only the variables the operator allowed from the gateway's environment. */
  private checkEnvRefs(ref: CredentialRef, field = 'auth_ref'): void {
    const refused = referencedVariables(ref).filter((v) => !allowedByList(v.name, this.envRefAllowlist));
    if (refused.length === 0) return;
    const why = GATEWAY_VARIABLES.has(refused[0]!.name)
      ? "names one of the gateway's own settings, which is never sent to an API"
      : 'is not in ENV_REF_ALLOWLIST: tools stored through the Admin API may only read variables the operator allowed; store the credential encrypted instead (auth_token, auth_username/auth_password, auth_headers), or put the tool in a capability file';
    throw validationError(refused.map((v) => ({ path: `$.${field}.${v.field}`, message: `env:${v.name} ${why}` })));
  }

  private async save(def: KindDef, current: StoredObject, fields: Record<string, unknown>, repo: Repository): Promise<WriteResult> {
    if (canonicalJson(fields) === canonicalJson(current.fields)) {
      return { object: (await this.present(def.kind, [current], repo))[0]!, changed: false, created: false };
    }
    if (def.kind === 'servers') checkServerCuration(fields, await curationCandidates(repo, this.fileTools));
    const updated: StoredObject = { ...current, fields, updated_at: timestamp(current.updated_at) };
    await this.write(def, () => repo.update(def.kind, updated, current), fields);
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

  /**
   * MCP tools belong to their gateway: only is_active and tags may be changed by hand. They are
   * validated on their own, since an upstream's names need not match the user name pattern.
   */
  private async saveManaged(current: StoredObject, input: Record<string, unknown>, repo: Repository): Promise<WriteResult> {
    const base = editable(KIND_DEFS.tools, current.fields);
    const other = Object.keys(input).filter((k) => k !== 'is_active' && k !== 'tags' && canonicalJson(input[k]) !== canonicalJson(base[k]));
    if (other.length > 0) {
      throw new GatewayError('TOOL_READ_ONLY', `tool "${String(current.fields.name)}" comes from gateway "${String(current.fields.gateway)}"; only is_active and tags can be changed (not ${other.join(', ')})`);
    }
    const parsed = managedToolEdit.safeParse({ is_active: input.is_active, tags: input.tags });
    if (!parsed.success) throw validationError(zodErrors(parsed.error));
    const fields = { ...current.fields };
    if (parsed.data.is_active !== undefined) fields.is_active = parsed.data.is_active;
    if (parsed.data.tags !== undefined) fields.tags = parsed.data.tags;
    return this.save(KIND_DEFS.tools, current, fields, repo);
  }

  /** Objects as GET returns them: server-made fields, defaults, and servers' missing_refs. */
  private async present(kind: Kind, rows: StoredObject[], repo: Repository): Promise<Record<string, unknown>[]> {
    const readOnly = READ_ONLY_DEFAULTS[kind] ?? {};
    const items = rows.map((row) => {
      const item: Record<string, unknown> = { id: row.id, ...row.fields };
      for (const key of Object.keys(readOnly)) if (!(key in item)) item[key] = readOnly[key];
      item.created_at = row.created_at;
      item.updated_at = row.updated_at;
      if (kind === 'gateways' && item.env !== undefined) item.env = maskedEnv(item.env);
      return item;
    });
    if (kind === 'servers') await this.addMissingRefs(items, repo);
    if (kind === 'servers' && items.length > 0) presentCuration(items, await curationCandidates(repo, this.fileTools));
    return items;
  }

  private async addMissingRefs(servers: Record<string, unknown>[], repo: Repository): Promise<void> {
    const refKinds = ['tools', 'prompts', 'resources'] as const;
    const existing = new Map<string, Set<string>>();
    for (const refKind of refKinds) {
      const wanted = new Set<string>();
      for (const server of servers) for (const ref of namedRefs((server[refKind] as string[] | undefined) ?? [])) wanted.add(ref);
      existing.set(refKind, wanted.size > 0 ? await repo.existingKeys(refKind, [...wanted]) : new Set());
    }
    for (const server of servers) {
      const missing: Record<string, string[]> = {};
      for (const refKind of refKinds) {
        const have = existing.get(refKind)!;
        const federated = this.federatedRefs;
        const served = (ref: string) => have.has(ref) || (refKind !== 'tools' && federated !== undefined && federated.servesRef(refKind, ref));
        missing[refKind] = namedRefs((server[refKind] as string[] | undefined) ?? []).filter((ref) => !served(ref));
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

function isManaged(kind: Kind, current: StoredObject): boolean {
  return kind === 'tools' && current.fields.integration_type === 'MCP';
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
