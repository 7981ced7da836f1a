import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { Principal } from '../http/permissions.js';
import type { Store } from '../store/store.js';

/**
 * The audit trail (SPEC §3a): who changed what, in the `audit_events` table of the same store.
 * An event names the fields a change touched, never their values. Refused authentication is
 * aggregated per source address and minute, so a flood writes a bounded number of rows.
 */

export interface AuditEvent {
  id: string;
  at: string;
  actor_subject: string | null;
  actor_method: string | null;
  actor_token_id: string | null;
  source: string | null;
  request_id: string | null;
  action: string;
  kind: string;
  object_id: string | null;
  object_name: string | null;
  /** Names of the fields the change touched. */
  fields: string[] | null;
  outcome: string;
  /** How many occurrences the event stands for (aggregated refusals), else 1. */
  count: number;
  /** How long an audited tool call took, in milliseconds; null for other events. */
  duration_ms: number | null;
}

/** A tool call for the trail (AUDIT_TOOL_CALLS): never its arguments or result. */
export interface ToolCallInput {
  actor?: { subject: string; method: string; tokenId?: string | undefined } | undefined;
  source?: string | undefined;
  requestId?: string | undefined;
  tool: string;
  /** The virtual server the call came through; undefined for `/mcp`. */
  server?: string | undefined;
  outcome: 'ok' | 'tool_error' | 'error';
  seconds: number;
}

export interface AuditInput {
  actor?: Principal | undefined;
  source?: string | undefined;
  requestId?: string | undefined;
  action: string;
  kind: string;
  objectId?: string | undefined;
  objectName?: string | undefined;
  fields?: string[] | undefined;
  outcome: string;
  count?: number;
}

export interface AuditQuery {
  since?: string;
  until?: string;
  actor?: string;
  kind?: string;
  action?: string;
  limit?: number;
  cursor?: string;
}

const REFUSAL_WINDOW_MS = 60_000;
/** Most distinct sources counted per window; the rest share one "other" row. */
const MAX_REFUSAL_SOURCES = 100;
const PRUNE_EVERY_MS = 6 * 3600_000;
/** Tool calls are written in batches: every second, or at this many rows. */
const TOOL_CALL_FLUSH_MS = 1000;
const TOOL_CALL_BATCH = 200;
/** Most tool calls held while the database is slow; beyond it they are counted and dropped. */
const MAX_PENDING_TOOL_CALLS = 20_000;
const CALL_OUTCOME = { ok: 'ok', tool_error: 'failed:TOOL_ERROR', error: 'failed:CALL_ERROR' } as const;

let sequence = 0;

/** Ids sort by time: the ISO time, a per-process counter and randomness. */
function eventId(at: string): string {
  sequence = (sequence + 1) % 1_000_000;
  return `${at}_${String(sequence).padStart(6, '0')}_${randomBytes(3).toString('hex')}`;
}

export class AuditLog {
  private readonly pending = new Set<Promise<unknown>>();
  private refusals = new Map<string, { count: number; subjects: Set<string> }>();
  private readonly refusalTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout;
  private toolCalls: Record<string, string | number | null>[] = [];
  private droppedToolCalls = 0;
  private toolCallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly retentionDays: number,
  ) {
    this.refusalTimer = setInterval(() => this.flushRefusals(), REFUSAL_WINDOW_MS);
    this.refusalTimer.unref();
    this.pruneTimer = setInterval(() => void this.prune().catch(() => undefined), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
    void this.prune().catch(() => undefined);
  }

  /** Record an event in the background; a write that fails is logged, never thrown at the caller. */
  record(input: AuditInput): void {
    const at = new Date().toISOString();
    const a = input.actor;
    const row = {
      id: eventId(at),
      at,
      actor_subject: a?.subject ?? null,
      actor_method: a?.method ?? null,
      actor_token_id: a?.tokenId ?? null,
      source: input.source ?? null,
      request_id: input.requestId ?? null,
      action: input.action,
      kind: input.kind,
      object_id: input.objectId ?? null,
      object_name: input.objectName ?? null,
      fields: input.fields && input.fields.length > 0 ? JSON.stringify([...input.fields].sort()) : null,
      outcome: input.outcome,
      count: input.count ?? 1,
    };
    const write = this.store.handle
      .insertInto('audit_events')
      .values(row)
      .execute()
      .catch((error: unknown) => this.logger.warn({ err: (error as Error).message, action: row.action, kind: row.kind }, 'audit: cannot write an event'));
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  /** A tool call (AUDIT_TOOL_CALLS), buffered: written with others every second or 200 rows. */
  toolCall(input: ToolCallInput): void {
    if (this.toolCalls.length >= MAX_PENDING_TOOL_CALLS) {
      this.droppedToolCalls++;
      return;
    }
    const at = new Date().toISOString();
    this.toolCalls.push({
      id: eventId(at),
      at,
      actor_subject: input.actor?.subject ?? null,
      actor_method: input.actor?.method ?? null,
      actor_token_id: input.actor?.tokenId ?? null,
      source: input.source ?? null,
      request_id: input.requestId ?? null,
      action: 'call',
      kind: 'tool_calls',
      object_id: input.server ?? null,
      object_name: input.tool,
      fields: null,
      outcome: CALL_OUTCOME[input.outcome],
      count: 1,
      duration_ms: Math.round(input.seconds * 1000),
    });
    if (this.toolCalls.length >= TOOL_CALL_BATCH) this.flushToolCalls();
    else if (!this.toolCallTimer) {
      this.toolCallTimer = setTimeout(() => this.flushToolCalls(), TOOL_CALL_FLUSH_MS);
      this.toolCallTimer.unref();
    }
  }

  /** Write the buffered tool calls, in statements of up to 200 rows. */
  flushToolCalls(): void {
    if (this.toolCallTimer) clearTimeout(this.toolCallTimer);
    this.toolCallTimer = undefined;
    const batch = this.toolCalls;
    this.toolCalls = [];
    if (this.droppedToolCalls > 0) {
      this.logger.warn({ dropped: this.droppedToolCalls }, 'audit: the database is behind; tool calls were not recorded');
      this.droppedToolCalls = 0;
    }
    for (let i = 0; i < batch.length; i += TOOL_CALL_BATCH) {
      const rows = batch.slice(i, i + TOOL_CALL_BATCH);
      const write = this.store.handle
        .insertInto('audit_events')
        .values(rows)
        .execute()
        .catch((error: unknown) => this.logger.warn({ err: (error as Error).message, calls: rows.length }, 'audit: cannot write tool calls'));
      this.pending.add(write);
      void write.finally(() => this.pending.delete(write));
    }
  }

  /** A refused authentication, counted; one row per source (and minute) is written later. */
  refused(source: string, subject: string | undefined): void {
    let key = source;
    if (!this.refusals.has(key) && this.refusals.size >= MAX_REFUSAL_SOURCES) key = 'other';
    let entry = this.refusals.get(key);
    if (!entry) this.refusals.set(key, (entry = { count: 0, subjects: new Set() }));
    entry.count++;
    if (subject !== undefined && entry.subjects.size < 10) entry.subjects.add(subject.slice(0, 128));
  }

  /** Write the refusals counted so far, one row per source. */
  flushRefusals(): void {
    const batch = this.refusals;
    this.refusals = new Map();
    for (const [source, { count, subjects }] of batch) {
      this.record({ source, action: 'authenticate', kind: 'auth', outcome: 'refused', count, ...(subjects.size > 0 ? { objectName: [...subjects].join(',') } : {}) });
    }
  }

  /** Wait for the writes under way (so a read sees what this instance recorded). */
  async settle(): Promise<void> {
    this.flushToolCalls();
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async list(query: AuditQuery): Promise<{ items: AuditEvent[]; nextCursor?: string }> {
    await this.settle();
    const limit = query.limit ?? 100;
    let q = this.store.handle.selectFrom('audit_events').selectAll();
    if (query.since) q = q.where('at', '>=', query.since);
    if (query.until) q = q.where('at', '<', query.until);
    if (query.actor) q = q.where('actor_subject', '=', query.actor);
    if (query.kind) q = q.where('kind', '=', query.kind);
    if (query.action) q = q.where('action', '=', query.action);
    if (query.cursor) q = q.where('id', '>', query.cursor);
    const rows = (await q.orderBy('id').limit(limit + 1).execute()) as (Omit<AuditEvent, 'fields'> & { fields: string | null })[];
    const items = rows.slice(0, limit).map((r) => ({
      ...r,
      count: Number(r.count),
      fields: r.fields ? (JSON.parse(r.fields) as string[]) : null,
      duration_ms: r.duration_ms === null || r.duration_ms === undefined ? null : Number(r.duration_ms),
    }));
    return rows.length > limit ? { items, nextCursor: items[items.length - 1]!.id } : { items };
  }

  /** Delete events older than the retention. */
  async prune(now = Date.now()): Promise<number> {
    const before = new Date(now - this.retentionDays * 86_400_000).toISOString();
    const result = await this.store.handle.deleteFrom('audit_events').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows ?? 0);
  }

  async close(): Promise<void> {
    clearInterval(this.refusalTimer);
    clearInterval(this.pruneTimer);
    this.flushRefusals();
    await this.settle();
  }
}

/** Parse GET /audit's query. */
export function parseAuditQuery(query: Record<string, string | string[] | undefined>): AuditQuery {
  const out: AuditQuery = {};
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) throw new GatewayError('BAD_QUERY', `${key} may be given once`);
    switch (key) {
      case 'since':
      case 'until': {
        const t = Date.parse(value);
        if (Number.isNaN(t)) throw new GatewayError('BAD_QUERY', `${key} must be an ISO 8601 time, not "${value.slice(0, 64)}"`);
        out[key] = new Date(t).toISOString();
        break;
      }
      case 'actor':
      case 'kind':
      case 'action':
        out[key] = value;
        break;
      case 'limit':
        if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) throw new GatewayError('BAD_QUERY', `limit must be a whole number from 1 to 10000, not "${value.slice(0, 64)}"`);
        out.limit = Number(value);
        break;
      case 'cursor':
        if (value !== '') out.cursor = value;
        break;
      default:
        throw new GatewayError('BAD_QUERY', `unknown parameter "${key.slice(0, 64)}"; use since, until, actor, kind, action, limit or cursor`);
    }
  }
  return out;
}
