import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { GatewayError, validationError, type FieldError } from '../errors.js';
import { ROLES, type Principal, type Role } from '../http/permissions.js';
import type { Store } from '../store/store.js';

/**
 * Stored API tokens (SPEC §3a): opaque random secrets, shown once at creation and kept only as
 * their SHA-256 hash. A verdict per token is cached (no database read per call); a revocation
 * clears it here at once and, through the cross-instance events, on every other instance.
 */

/** The recognisable prefix secret scanners look for. */
export const TOKEN_PREFIX = 'mcpgw_';
const SECRET_BYTES = 32;
/** How long a cached verdict is trusted before the row is read again (revocations also clear it). */
const VERDICT_TTL_MS = 60_000;
const MAX_VERDICTS = 10_000;
/** How often last_used_at is written (lazily, never once per call). */
const LAST_USED_FLUSH_MS = 30_000;

/** A token as the API shows it: never its secret or hash. */
export interface TokenView {
  id: string;
  name: string;
  /** The first characters of the secret, to recognise it. */
  prefix: string;
  role: Role;
  servers: string[] | null;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

interface TokenRow extends TokenView {
  hash: string;
}

interface Verdict {
  principal: Principal | undefined;
  /** Stop trusting the verdict at (ms). */
  until: number;
  expiresAt: number;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** `90s`, `30m`, `12h`, `7d`, `2w`, `1y` → seconds; undefined when malformed. */
export function durationSeconds(text: string): number | undefined {
  const match = /^(\d{1,6})([smhdwy])$/.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNITS[match[2]!]!;
  return seconds > 0 ? seconds : undefined;
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

export interface TokenInput {
  name: string;
  role: Role;
  servers?: string[];
  /** ISO time, or absent: never expires. */
  expiresAt?: string;
}

/** Validate a POST /tokens body: name, role, servers (clients only), expires_at or expires_in. */
export function parseTokenInput(body: unknown, now = Date.now()): TokenInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw validationError([{ path: '$', message: 'must be a JSON object' }]);
  const b = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(b)) {
    if (!['name', 'role', 'servers', 'expires_at', 'expires_in'].includes(key)) errors.push({ path: `$.${key}`, message: 'is not a token field (name, role, servers, expires_at, expires_in)' });
  }
  if (typeof b.name !== 'string' || !/^[\w.@:-]{1,128}$/.test(b.name)) errors.push({ path: '$.name', message: 'must be 1-128 letters, digits, "_", ".", "@", ":" or "-"' });
  if (typeof b.role !== 'string' || !(ROLES as readonly string[]).includes(b.role)) errors.push({ path: '$.role', message: `must be one of ${ROLES.join(', ')}` });
  let servers: string[] | undefined;
  if (b.servers !== undefined && b.servers !== null) {
    if (!Array.isArray(b.servers) || b.servers.length === 0 || b.servers.length > 100) errors.push({ path: '$.servers', message: 'must be a list of 1 to 100 virtual server names' });
    else {
      b.servers.forEach((s, i) => {
        if (typeof s !== 'string' || s.length === 0 || s.length > 255) errors.push({ path: `$.servers[${i}]`, message: 'must be a virtual server name' });
      });
      servers = [...new Set(b.servers as string[])];
    }
    if (b.role !== 'client') errors.push({ path: '$.servers', message: 'only a client token can be limited to servers' });
  }
  let expiresAt: string | undefined;
  if (b.expires_at !== undefined && b.expires_in !== undefined) errors.push({ path: '$.expires_in', message: 'give expires_at or expires_in, not both' });
  else if (b.expires_in !== undefined && b.expires_in !== null) {
    const seconds = typeof b.expires_in === 'string' ? durationSeconds(b.expires_in) : undefined;
    if (seconds === undefined) errors.push({ path: '$.expires_in', message: 'must be a number and a unit: s, m, h, d, w or y (e.g. 30d)' });
    else expiresAt = new Date(now + seconds * 1000).toISOString();
  } else if (b.expires_at !== undefined && b.expires_at !== null) {
    const t = typeof b.expires_at === 'string' ? Date.parse(b.expires_at) : NaN;
    if (Number.isNaN(t)) errors.push({ path: '$.expires_at', message: 'must be an ISO 8601 time' });
    else if (t <= now) errors.push({ path: '$.expires_at', message: 'must be in the future' });
    else expiresAt = new Date(t).toISOString();
  }
  if (errors.length > 0) throw validationError(errors);
  return { name: b.name as string, role: b.role as Role, ...(servers ? { servers } : {}), ...(expiresAt ? { expiresAt } : {}) };
}

export class TokenService {
  private readonly verdicts = new Map<string, Verdict>();
  /** Token id → last use (ms) not yet written. */
  private readonly used = new Map<string, number>();
  private readonly flusher: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    /** Tell the other instances a token was revoked. */
    private readonly announce: (id: string) => void = () => undefined,
  ) {
    this.flusher = setInterval(() => void this.flush().catch(() => undefined), LAST_USED_FLUSH_MS);
    this.flusher.unref();
  }

  async create(input: TokenInput, createdBy: string): Promise<{ token: TokenView; secret: string }> {
    const secret = TOKEN_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
    const row: TokenRow = {
      id: randomUUID(),
      name: input.name,
      hash: hashSecret(secret),
      prefix: secret.slice(0, TOKEN_PREFIX.length + 4),
      role: input.role,
      servers: input.servers ?? null,
      created_at: new Date().toISOString(),
      created_by: createdBy,
      expires_at: input.expiresAt ?? null,
      last_used_at: null,
      revoked_at: null,
    };
    const existing = await this.db.selectFrom('tokens').select('id').where('name', '=', input.name).executeTakeFirst();
    if (existing) throw new GatewayError('TOKEN_NAME_EXISTS', `a token named "${input.name}" exists; revoke it or choose another name`);
    try {
      await this.db.insertInto('tokens').values({ ...row, servers: row.servers ? JSON.stringify(row.servers) : null }).execute();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE') throw new GatewayError('TOKEN_NAME_EXISTS', `a token named "${input.name}" exists; revoke it or choose another name`);
      throw error;
    }
    return { token: view(row), secret };
  }

  async list(): Promise<TokenView[]> {
    const rows = (await this.db.selectFrom('tokens').selectAll().orderBy('created_at').orderBy('id').execute()) as RawRow[];
    return rows.map((r) => view(fromRaw(r)));
  }

  /** A token by id or name. */
  async get(idOrName: string): Promise<TokenView> {
    const row = await this.find(idOrName);
    if (!row) throw new GatewayError('TOKEN_NOT_FOUND', `no token "${idOrName.slice(0, 128)}"`);
    return view(row);
  }

  /** Revoke by id or name: it stops working here at once and on other instances within a second. */
  async revoke(idOrName: string): Promise<TokenView> {
    const row = await this.find(idOrName);
    if (!row) throw new GatewayError('TOKEN_NOT_FOUND', `no token "${idOrName.slice(0, 128)}"`);
    if (row.revoked_at === null) {
      row.revoked_at = new Date().toISOString();
      await this.db.updateTable('tokens').set({ revoked_at: row.revoked_at }).where('id', '=', row.id).execute();
    }
    this.forget(row.id);
    this.announce(row.id);
    return view(row);
  }

  /**
   * The cached verdict, without waiting: the principal, null when the secret is known to be
   * refused, undefined when nothing is cached (then call verify).
   */
  cached(secret: string): Principal | null | undefined {
    const hash = hashSecret(secret);
    const verdict = this.verdicts.get(hash);
    const now = Date.now();
    if (!verdict || verdict.until <= now) return undefined;
    if (!verdict.principal || verdict.expiresAt <= now) return null;
    this.used.set(verdict.principal.tokenId!, now);
    return verdict.principal;
  }

  /** The principal a stored-token secret stands for, or undefined (unknown, revoked, expired). */
  async verify(secret: string): Promise<Principal | undefined> {
    const hash = hashSecret(secret);
    const now = Date.now();
    let verdict = this.verdicts.get(hash);
    if (!verdict || verdict.until <= now) {
      const raw = (await this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst()) as RawRow | undefined;
      const row = raw ? fromRaw(raw) : undefined;
      const principal: Principal | undefined =
        row && row.revoked_at === null
          ? { subject: row.name, method: 'token', role: row.role, tokenId: row.id, ...(row.servers ? { servers: row.servers } : {}) }
          : undefined;
      verdict = { principal, until: now + VERDICT_TTL_MS, expiresAt: row?.expires_at ? Date.parse(row.expires_at) : Infinity };
      if (this.verdicts.size >= MAX_VERDICTS) this.verdicts.delete(this.verdicts.keys().next().value!);
      this.verdicts.set(hash, verdict);
    }
    if (!verdict.principal || verdict.expiresAt <= now) return undefined;
    this.used.set(verdict.principal.tokenId!, now);
    return verdict.principal;
  }

  /** A revocation (here or announced by another instance): drop the cached verdict. */
  forget(id: string): void {
    for (const [hash, verdict] of this.verdicts) if (verdict.principal?.tokenId === id) this.verdicts.delete(hash);
  }

  /** Events may have been missed: trust nothing cached. */
  forgetAll(): void {
    this.verdicts.clear();
  }

  /** Write the last_used_at times gathered since the last flush. */
  async flush(): Promise<void> {
    const batch = [...this.used];
    this.used.clear();
    for (const [id, at] of batch) {
      await this.db.updateTable('tokens').set({ last_used_at: new Date(at).toISOString() }).where('id', '=', id).execute();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.flusher);
    await this.flush().catch(() => undefined);
  }

  private get db() {
    return this.store.handle;
  }

  private async find(idOrName: string): Promise<TokenRow | undefined> {
    const raw = (await this.db
      .selectFrom('tokens')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst()) as RawRow | undefined;
    return raw ? fromRaw(raw) : undefined;
  }
}

type RawRow = Omit<TokenRow, 'servers'> & { servers: string | null };

function fromRaw(raw: RawRow): TokenRow {
  return { ...raw, servers: raw.servers ? (JSON.parse(raw.servers) as string[]) : null };
}

function view(row: TokenRow): TokenView {
  const { hash: _hash, ...rest } = row;
  return rest;
}
