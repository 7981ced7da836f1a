import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

/**
 * Mirrors the import planner's `capability-audit.jsonl` (written by `mcpgateway import activate`
 * and `import rollback` in a CAPABILITY_DIRS folder) into `audit_events`: one event per activated
 * or rolled-back draft. An event's id is derived from the record's text and the draft's place in
 * it, and is inserted with "on conflict do nothing", so a record is mirrored once however often
 * the file is read: after a restart, by every instance sharing the database, or after the file
 * was rewritten. Records older than the retention are not mirrored (they would come back after
 * every prune).
 */

export const CAPABILITY_AUDIT_FILE = 'capability-audit.jsonl';
const POLL_MS = 1000;
/** Longest record line mirrored; a longer one is skipped with a warning. */
const MAX_LINE_BYTES = 1 << 20;

interface Record {
  at: string;
  actor: string;
  action: 'activate' | 'rollback';
  drafts: { name: string; file?: string }[];
}

function parseRecord(line: string): Record | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as { [key: string]: unknown };
  if (typeof r.at !== 'string' || Number.isNaN(Date.parse(r.at))) return undefined;
  if (typeof r.actor !== 'string' || (r.action !== 'activate' && r.action !== 'rollback') || !Array.isArray(r.drafts)) return undefined;
  const drafts: Record['drafts'] = [];
  for (const d of r.drafts as unknown[]) {
    if (typeof d !== 'object' || d === null || typeof (d as { name?: unknown }).name !== 'string') return undefined;
    const file = (d as { file?: unknown }).file;
    drafts.push({ name: (d as { name: string }).name, ...(typeof file === 'string' ? { file } : {}) });
  }
  return { at: new Date(Date.parse(r.at)).toISOString(), actor: r.actor, action: r.action, drafts };
}

export class CapabilityAuditMirror {
  /** Bytes of each file already mirrored by this process. */
  private readonly offsets = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly files: string[];

  constructor(
    dirs: string[],
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly retentionDays: number,
  ) {
    this.files = [...new Set(dirs.map((dir) => resolve(dir, CAPABILITY_AUDIT_FILE)))];
  }

  /** Mirror what is there now, then look for appended records every second. */
  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync(), POLL_MS);
    this.timer.unref();
  }

  /** Mirror the records appended since the last look (one look at a time). */
  sync(): Promise<void> {
    this.chain = this.chain.then(async () => {
      for (const file of this.files) {
        try {
          await this.syncFile(file);
        } catch (error) {
          this.logger.warn({ err: (error as Error).message, file }, 'capability audit: cannot mirror the file');
        }
      }
    });
    return this.chain;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.chain;
  }

  private async syncFile(file: string): Promise<void> {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      this.offsets.delete(file);
      return;
    }
    let offset = this.offsets.get(file) ?? 0;
    if (size < offset) offset = 0; // rewritten or truncated: read again (the ids dedupe)
    if (size === offset) return;
    const bytes = Buffer.alloc(size - offset);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, bytes, 0, bytes.length, offset);
    } finally {
      closeSync(fd);
    }
    const end = bytes.lastIndexOf(0x0a);
    if (end < 0) return; // a record still being written
    const oldest = new Date(Date.now() - this.retentionDays * 86_400_000).toISOString();
    const rows: { [column: string]: string | number | null }[] = [];
    for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const record = Buffer.byteLength(line) <= MAX_LINE_BYTES ? parseRecord(line) : undefined;
      if (!record) {
        this.logger.warn({ file }, 'capability audit: skipping a line that is not an activate or rollback record');
        continue;
      }
      if (record.at < oldest) continue;
      const digest = createHash('sha256').update(line, 'utf8').digest('hex').slice(0, 16);
      record.drafts.forEach((draft, i) =>
        rows.push({
          id: `${record.at}_c${digest}_${String(i).padStart(4, '0')}`,
          at: record.at,
          actor_subject: record.actor.slice(0, 256),
          actor_method: 'cli',
          actor_token_id: null,
          source: null,
          request_id: null,
          action: record.action,
          kind: 'capabilities',
          object_id: draft.file ?? null,
          object_name: draft.name,
          fields: null,
          outcome: 'ok',
          count: 1,
        }),
      );
    }
    for (let i = 0; i < rows.length; i += 200) {
      await this.store.handle
        .insertInto('audit_events')
        .values(rows.slice(i, i + 200))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
    this.offsets.set(file, offset + end + 1);
  }
}
