import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import type { Kind } from '../domain/entities.js';
import { GatewayError } from '../errors.js';
import { migrations, type Dialect } from './migrations.js';

/** An object as the store keeps it: the server-made identity plus every field as JSON. */
export interface StoredObject {
  id: string;
  created_at: string;
  updated_at: string;
  fields: Record<string, unknown>;
}

export interface ListQuery {
  includeInactive?: boolean;
  /** Keep objects carrying any of these tags. */
  tags?: string[];
  /** Keep objects carrying all of these tags. */
  allTags?: string[];
  /** Return at most this many (one more is fetched to know whether a next page exists). */
  limit?: number;
  /** Only keys strictly after this one (keyset pagination). */
  after?: string;
  /** Tools only: those federated from this gateway (the indexed `gateway` column). */
  gateway?: string;
}

interface Row {
  id: string;
  name: string;
  uri?: string;
  gateway?: string | null;
  is_active: number;
  data: string;
  created_at: string;
  updated_at: string;
}

// Kysely is typed per table; the five object tables share one row shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Tx = Transaction<any>;

/** Raised by insert/update when the unique key is taken. */
export class UniqueViolation extends Error {}

/** The PostgreSQL pool's size. */
const POOL_MAX = 10;
/** Attempts a read gets on PostgreSQL while the pooled connections it is handed turn out dead: each of them, then a new one. */
const READ_ATTEMPTS = POOL_MAX + 1;

const keyColumn = (kind: Kind) => (kind === 'resources' ? 'uri' : 'name');

/** Repositories over one Kysely handle (the pool, or a transaction). */
export class Repository {
  constructor(
    protected readonly db: Db | Tx,
    readonly dialect: Dialect,
  ) {}

  /** Objects of a kind in key order (code points), filtered and paged. */
  async list(kind: Kind, query: ListQuery = {}): Promise<StoredObject[]> {
    const key = keyColumn(kind);
    let q = this.db.selectFrom(kind).select(['id', 'data', 'created_at', 'updated_at']);
    if (!query.includeInactive) q = q.where('is_active', '=', 1);
    if (query.tags && query.tags.length > 0) {
      const tags = query.tags;
      q = q.where('id', 'in', this.db.selectFrom('object_tags').select('object_id').where('kind', '=', kind).where('tag', 'in', tags));
    }
    for (const tag of query.allTags ?? []) {
      q = q.where('id', 'in', this.db.selectFrom('object_tags').select('object_id').where('kind', '=', kind).where('tag', '=', tag));
    }
    if (query.after !== undefined) q = q.where(key, '>', query.after);
    if (query.gateway !== undefined) {
      if (kind !== 'tools') throw new Error(`only tools are listed by gateway, not ${kind}`);
      q = q.where('gateway', '=', query.gateway);
    }
    q = q.orderBy(key);
    if (query.limit !== undefined) q = q.limit(query.limit);
    const rows = (await q.execute()) as Row[];
    return rows.map(toObject);
  }

  /** One object by id, or by key (name, or uri for resources). */
  async get(kind: Kind, idOrKey: string, options: { lock?: boolean } = {}): Promise<StoredObject | undefined> {
    let q = this.db
      .selectFrom(kind)
      .select(['id', 'data', 'created_at', 'updated_at'])
      .where((eb) => eb.or([eb('id', '=', idOrKey), eb(keyColumn(kind), '=', idOrKey)]));
    // In a transaction, `lock` keeps others from changing the row until commit (a read-modify-write).
    // SQLite needs none: its one connection runs a transaction alone.
    if (options.lock && this.dialect === 'postgres') q = q.forUpdate();
    const rows = (await q.execute()) as Row[];
    // An id match wins over a key match, so a name that looks like an id cannot shadow one.
    const row = rows.find((r) => r.id === idOrKey) ?? rows[0];
    return row ? toObject(row) : undefined;
  }

  /** Resources by name: names are not unique, so only a single match counts. */
  async getResourceByName(name: string): Promise<StoredObject | undefined> {
    const rows = (await this.db
      .selectFrom('resources')
      .select(['id', 'data', 'created_at', 'updated_at'])
      .where('name', '=', name)
      .limit(2)
      .execute()) as Row[];
    return rows.length === 1 ? toObject(rows[0]!) : undefined;
  }

  /** Every key of a kind (names; uris for resources), without reading the objects. */
  async keys(kind: Kind): Promise<string[]> {
    const key = keyColumn(kind);
    const rows = (await this.db.selectFrom(kind).select(key).execute()) as Record<string, string>[];
    return rows.map((row) => row[key]!);
  }

  /** Which of these keys exist in a kind. */
  async existingKeys(kind: Kind, keys: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const key = keyColumn(kind);
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const rows = (await this.db.selectFrom(kind).select(key).where(key, 'in', chunk).execute()) as Record<string, string>[];
      for (const row of rows) found.add(row[key]!);
    }
    return found;
  }

  async insert(kind: Kind, object: StoredObject): Promise<void> {
    await this.translate(async () => {
      await this.db.insertInto(kind).values(toRow(kind, object)).execute();
      await this.writeTags(kind, object, false);
    });
  }

  /** Replace an object's row; given the version it replaces, tags are rewritten only if they changed. */
  async update(kind: Kind, object: StoredObject, before?: StoredObject): Promise<void> {
    await this.translate(async () => {
      const { id: _id, created_at: _c, ...row } = toRow(kind, object);
      await this.db.updateTable(kind).set(row).where('id', '=', object.id).execute();
      if (!before || JSON.stringify(before.fields.tags ?? []) !== JSON.stringify(object.fields.tags ?? [])) {
        await this.writeTags(kind, object, true);
      }
    });
  }

  async delete(kind: Kind, id: string): Promise<boolean> {
    await this.db.deleteFrom('object_tags').where('kind', '=', kind).where('object_id', '=', id).execute();
    const result = await this.db.deleteFrom(kind).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async count(kind: Kind): Promise<number> {
    const row = await this.db.selectFrom(kind).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value as string | undefined;
  }

  /** Set a setting unless one exists; returns the value that is stored afterwards. */
  async initSetting(key: string, value: string): Promise<string> {
    await this.db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    return (await this.getSetting(key)) ?? value;
  }

  private async writeTags(kind: Kind, object: StoredObject, replace: boolean): Promise<void> {
    if (replace) await this.db.deleteFrom('object_tags').where('kind', '=', kind).where('object_id', '=', object.id).execute();
    const tags = (object.fields.tags as string[] | undefined) ?? [];
    if (tags.length > 0) {
      await this.db
        .insertInto('object_tags')
        .values(tags.map((tag) => ({ kind, object_id: object.id, tag })))
        .execute();
    }
  }

  private async translate(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (isUniqueViolation(error)) throw new UniqueViolation();
      throw error;
    }
  }
}

/** The store: repositories over a connection pool, plus transactions, readiness and shutdown. */
export class Store extends Repository {
  private constructor(
    private readonly kysely: Db,
    dialect: Dialect,
    readonly description: string,
    private readonly schema?: string,
  ) {
    super(kysely, dialect);
  }

  /** Open a store from a DATABASE_URL and bring its schema up to date. */
  static async open(databaseUrl: string, options: StoreOptions = {}): Promise<Store> {
    const { db, dialect, description, schema } = await connect(databaseUrl, options);
    const store = new Store(db, dialect, description, schema);
    try {
      await store.migrate();
    } catch (error) {
      await db.destroy().catch(() => undefined);
      throw new GatewayError('STORE_UNAVAILABLE', `cannot prepare the database ${description}: ${errorMessage(error)}`);
    }
    return store;
  }

  // Reads are retried on a fresh connection when the one they got had lost its server: after a
  // backend is killed, idle clients in the pool may still look usable until their socket reports
  // the loss, and a read is safe to run again. Writes are not retried (a lost COMMIT may have landed).
  override list(kind: Kind, query: ListQuery = {}): Promise<StoredObject[]> {
    return this.read(() => super.list(kind, query));
  }

  override get(kind: Kind, idOrKey: string, options: { lock?: boolean } = {}): Promise<StoredObject | undefined> {
    return this.read(() => super.get(kind, idOrKey, options));
  }

  override getResourceByName(name: string): Promise<StoredObject | undefined> {
    return this.read(() => super.getResourceByName(name));
  }

  override keys(kind: Kind): Promise<string[]> {
    return this.read(() => super.keys(kind));
  }

  override existingKeys(kind: Kind, keys: string[]): Promise<Set<string>> {
    return this.read(() => super.existingKeys(kind, keys));
  }

  override count(kind: Kind): Promise<number> {
    return this.read(() => super.count(kind));
  }

  override getSetting(key: string): Promise<string | undefined> {
    return this.read(() => super.getSetting(key));
  }

  /** Run a read, again on another connection (at most READ_ATTEMPTS in all) while PostgreSQL connections turn out dead. */
  async read<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        // SQLite's busy wait already ran its bound, and a refused or timed-out connect means the
        // server is down: only a pooled PostgreSQL connection found dead is worth another try.
        if (this.dialect !== 'postgres' || attempt >= READ_ATTEMPTS || !isDeadConnection(error)) throw storeFault(error);
      }
    }
  }

  /** The Kysely handle, for the tables outside the five kinds (tokens, audit_events). */
  get handle(): Db {
    return this.kysely;
  }

  // Single writes outside a transaction still touch two tables (the row and its tags): each runs
  // in its own transaction, so a connection lost between the two leaves neither.
  override async insert(kind: Kind, object: StoredObject): Promise<void> {
    await this.transaction((repo) => repo.insert(kind, object));
  }

  override async update(kind: Kind, object: StoredObject, before?: StoredObject): Promise<void> {
    await this.transaction((repo) => repo.update(kind, object, before));
  }

  override async delete(kind: Kind, id: string): Promise<boolean> {
    return this.transaction((repo) => repo.delete(kind, id));
  }

  /**
   * Run work in one transaction; any throw rolls everything back. A connection lost mid-way
   * leaves nothing written (the server discards an uncommitted transaction) and is reported as
   * STORE_UNAVAILABLE, whether the loss surfaced in the work, the commit or the rollback.
   */
  async transaction<T>(work: (repo: Repository) => Promise<T>): Promise<T> {
    try {
      return await this.kysely.transaction().execute((trx) => work(new Repository(trx, this.dialect)));
    } catch (error) {
      throw storeFault(error);
    }
  }

  /** True when the database answers (within two seconds). */
  async ping(): Promise<boolean> {
    return (await this.state()).state === 'up';
  }

  /** The store's state for /ready: up, or down with the reason (never a credential). */
  async state(): Promise<{ state: 'up' | 'down'; reason?: string }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`select 1`.execute(this.kysely),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 2000 ms')), 2000);
        }),
      ]);
      return { state: 'up' };
    } catch (error) {
      return { state: 'down', reason: errorMessage(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.kysely.destroy();
  }

  private async migrate(): Promise<void> {
    // The migration tables live in the store's own schema: without this, Kysely sees another
    // schema's kysely_migration_lock and never creates this one's (two instances, one server).
    const migrator = new Migrator({
      db: this.kysely,
      provider: migrations(this.dialect),
      ...(this.schema ? { migrationTableSchema: this.schema } : {}),
    });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  }
}

/** Settings of the store's connection handling (SQLITE_BUSY_TIMEOUT_MS). */
export interface StoreOptions {
  /** How long SQLite waits for a lock held by another connection before SQLITE_BUSY (default 5000). */
  sqliteBusyTimeoutMs?: number;
}

/**
 * Errors that mean the database cannot be reached or lost the connection: a terminated backend
 * (57P01..57P03), a refused or reset socket, a client pg marked unusable, SQLite busy or locked.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (error instanceof GatewayError) return error.code === 'STORE_UNAVAILABLE';
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(57P0[123]|08\d{3}|53300|SQLITE_BUSY|SQLITE_LOCKED|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)/.test(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|not queryable|terminating connection|timeout exceeded when trying to connect|Client was closed|database is locked/i.test(message);
}

/** A pooled connection whose server went away (its backend terminated, its socket closed), as opposed to a server that cannot be reached. */
function isDeadConnection(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string' && /^(57P0[12]|ECONNRESET|EPIPE)$/.test(e.code)) return true;
  return typeof e?.message === 'string' && /Connection terminated unexpectedly|not queryable|terminating connection|Client was closed/i.test(e.message);
}

/** A connection fault as the coded STORE_UNAVAILABLE; anything else unchanged. */
export function storeFault(error: unknown): unknown {
  if (error instanceof GatewayError || !isStoreUnavailable(error)) return error;
  return new GatewayError('STORE_UNAVAILABLE', `the database is unavailable (${errorMessage(error)}); try again shortly`);
}

/** The PostgreSQL application_name of the gateway's connections: `mcpgateway`, plus `:schema` when one is set. */
export function applicationName(schema: string | undefined): string {
  return (schema ? `mcpgateway:${schema}` : 'mcpgateway').slice(0, 63);
}

async function connect(databaseUrl: string, options: StoreOptions = {}): Promise<{ db: Db; dialect: Dialect; description: string; schema?: string }> {
  if (databaseUrl.startsWith('sqlite:')) {
    let path = databaseUrl.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw new GatewayError('CONFIG_INVALID', 'DATABASE_URL "sqlite:" needs a path, e.g. sqlite:./mcpgateway.db or sqlite::memory:');
    const memory = path === ':memory:';
    if (!memory) {
      const dir = dirname(resolve(path));
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
      // The database holds encrypted credentials and, in trial mode, the generated key itself:
      // a file the gateway creates is readable by its owner only (SQLite gives -wal and -shm
      // the database file's permissions).
      if (!existsSync(path)) {
        try {
          closeSync(openSync(path, 'a', 0o600));
          chmodSync(path, 0o600); // the umask may have narrowed, never widened, it: make it exact
        } catch (error) {
          throw new GatewayError('STORE_UNAVAILABLE', `cannot create SQLite database ${path}: ${errorMessage(error)}`);
        }
      }
    }
    let database: SQLite.Database;
    try {
      database = new SQLite(memory ? ':memory:' : path);
    } catch (error) {
      throw new GatewayError('STORE_UNAVAILABLE', `cannot open SQLite database ${path}: ${errorMessage(error)}`);
    }
    if (!memory) database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    // A lock held by another connection (a second process on the same file) is waited for up to
    // the bound, then the write fails with SQLITE_BUSY, answered as 503 STORE_UNAVAILABLE.
    database.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.sqliteBusyTimeoutMs ?? 5000))}`);
    return { db: new Kysely({ dialect: new SqliteDialect({ database }) }), dialect: 'sqlite', description: `sqlite:${path}` };
  }
  if (databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://')) {
    let url: URL;
    try {
      url = new URL(databaseUrl);
    } catch {
      throw new GatewayError('CONFIG_INVALID', 'DATABASE_URL is not a valid postgres:// URL');
    }
    // `?schema=NAME` keeps the gateway's tables in their own schema (created if missing).
    const schema = url.searchParams.get('schema');
    url.searchParams.delete('schema');
    if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw new GatewayError('CONFIG_INVALID', 'DATABASE_URL ?schema= must be a plain SQL identifier');
    }
    const { default: pg } = await import('pg'); // loaded only for PostgreSQL
    const pool = new pg.Pool({
      connectionString: url.toString(),
      max: POOL_MAX,
      connectionTimeoutMillis: 5000,
      application_name: applicationName(schema ?? undefined),
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // A client that loses its server must not crash the process: the pool's own handler covers
    // idle clients only, so every client also gets one for the time it is checked out. The
    // query running on it fails (STORE_UNAVAILABLE); on release the pool drops the dead client
    // (it is no longer queryable) and connects a new one for the next request.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => {
      client.on('error', () => undefined);
    });
    const db: Db = new Kysely({
      dialect: new PostgresDialect({
        pool: schema
          ? async () => {
              const admin = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
              admin.on('error', () => undefined);
              await admin.connect();
              try {
                await admin.query(`create schema if not exists "${schema}"`);
              } finally {
                await admin.end();
              }
              return pool;
            }
          : pool,
      }),
    });
    const safe = new URL(url.toString());
    if (safe.password) safe.password = '***';
    return { db, dialect: 'postgres', description: safe.toString(), ...(schema ? { schema } : {}) };
  }
  throw new GatewayError('CONFIG_INVALID', 'DATABASE_URL must start with sqlite: or postgres://');
}

function toRow(kind: Kind, object: StoredObject): Row {
  const f = object.fields;
  const row: Row = {
    id: object.id,
    name: String(f.name),
    is_active: f.is_active === false ? 0 : 1,
    data: JSON.stringify(f),
    created_at: object.created_at,
    updated_at: object.updated_at,
  };
  if (kind === 'resources') row.uri = String(f.uri);
  if (kind === 'tools') row.gateway = (f.gateway as string | null | undefined) ?? null;
  return row;
}

function toObject(row: Row): StoredObject {
  return { id: row.id, created_at: row.created_at, updated_at: row.updated_at, fields: JSON.parse(row.data) as Record<string, unknown> };
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A database error's message without connection strings or credentials. */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/postgres(ql)?:\/\/[^\s]+/g, 'postgres://…');
}
