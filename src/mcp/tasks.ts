import { randomUUID } from 'node:crypto';
import { INVALID_PARAMS, notification, RpcError } from '../protocol/jsonrpc.js';
import type { CallOptions, CallerIdentity, ClientSession, RelayAnswer } from '../protocol/call.js';
import { ModernTasks, type ModernTask } from './tasks-2026.js';

/**
 * The 2025-11-25 tasks extension, relayed: a task-augmented `tools/call` goes to the upstream that
 * owns the tool, and its CreateTaskResult comes back as the upstream wrote it with one change: the
 * task id is one the gateway minted (random, unguessable), mapped here to the owning gateway, the
 * upstream's own id, the upstream session it lives on and the principal that created it. Later
 * `tasks/get`, `tasks/result` and `tasks/cancel` follow the map; `tasks/list` merges what the
 * upstreams behind the endpoint list, keeping only this principal's tasks; the upstream's
 * `notifications/tasks/status`, and the sampling or elicitation requests it makes for a task in
 * `input_required`, reach the client session that created the task.
 *
 * The map is in memory: a task id works on the instance that created it (one-instance affinity,
 * docs/mcp.md), as the upstream sessions it lives on do. Bounded by MAX_TASKS (the oldest entry
 * goes first) and by each task's ttl (capped at MAX_TTL_MS; unlimited upstream ttl takes the cap).
 */

/** Tasks remembered at once, over every principal. */
export const MAX_TASKS = 10_000;
/** Longest a task id is remembered, whatever ttl the upstream gave it. */
export const MAX_TTL_MS = 24 * 60 * 60_000;
/** Tasks one tasks/list gathers over every upstream behind the endpoint. */
export const MAX_LISTED_TASKS = 1_000;
/** A status notification that beat its CreateTaskResult to the gateway waits this long for it. */
const EARLY_STATUS_MS = 5_000;
const RELATED_TASK_META = 'io.modelcontextprotocol/related-task';

/** The methods of the extension a client may send. */
export const TASK_METHODS = new Set(['tasks/get', 'tasks/result', 'tasks/cancel', 'tasks/list']);

/** What the relay needs from federation. */
export interface TaskUpstreams {
  /**
   * A request on the upstream session the client session uses for this gateway (its own when the
   * upstream is stateful, else the shared one); `scope` names that session for status notifications.
   */
  taskRequest(gateway: string, method: string, params: Record<string, unknown>, options: CallOptions): Promise<{ result: Record<string, unknown>; scope: string }>;
  /** The upstream's declared `tasks` capability, if it is connected and has one. */
  taskCapability(gateway: string): Record<string, unknown> | undefined;
}

/** One task the gateway handed out an id for. */
export interface TaskEntry {
  id: string;
  gateway: string;
  upstreamId: string;
  scope: string;
  owner: string;
  client: ClientSession | undefined;
  expires: number;
  /** Set for a task a 2026-07-28 client created (SEP-2663, mcp/tasks-2026.ts). */
  modern?: ModernTask;
}

/** Who is asking, and through which client session. */
export interface TaskCaller {
  principal?: CallerIdentity | undefined;
  client?: ClientSession | undefined;
}

export class TaskRelay {
  private readonly byId = new Map<string, TaskEntry>();
  private readonly byUpstream = new Map<string, TaskEntry>();
  private readonly early = new Map<string, { params: Record<string, unknown>; at: number }>();
  private readonly tracked = new WeakSet<ClientSession>();

  /** The same map served to 2026-07-28 clients in SEP-2663's shape. */
  readonly modern: ModernTasks;

  constructor(private readonly upstreams: TaskUpstreams) {
    this.modern = new ModernTasks(this, upstreams);
  }

  get size(): number {
    return this.byId.size;
  }

  /**
   * The `tasks` capability of an endpoint: offered when an upstream behind it offers it; `list` and
   * `cancel` only when every task-capable upstream behind it honours them; task-augmented
   * `tools/call` when any does (each tool's `execution.taskSupport` says which).
   */
  capability(gateways: Iterable<string>): Record<string, unknown> | undefined {
    const offered = [...new Set(gateways)].map((g) => this.upstreams.taskCapability(g)).filter((c): c is Record<string, unknown> => c !== undefined);
    if (offered.length === 0) return undefined;
    const every = (key: string) => offered.every((c) => isObject(c[key]));
    const toolsCall = offered.some((c) => isObject((c.requests as { tools?: { call?: unknown } } | undefined)?.tools?.call));
    return {
      ...(every('list') ? { list: {} } : {}),
      ...(every('cancel') ? { cancel: {} } : {}),
      ...(toolsCall ? { requests: { tools: { call: {} } } } : {}),
    };
  }

  /** A task-augmented tools/call: relayed, and the task it creates remembered under a new id. */
  async call(gateway: string, params: Record<string, unknown>, caller: TaskCaller, options: CallOptions): Promise<unknown> {
    const { result, scope } = await this.upstreams.taskRequest(gateway, 'tools/call', params, options);
    const task = result.task as Record<string, unknown> | undefined;
    // An upstream that ignored the task metadata answered the call itself: that answer, as it is.
    if (!isObject(task) || typeof task.taskId !== 'string') return result;
    const entry = this.remember(gateway, task.taskId, scope, caller, task.ttl);
    const early = this.early.get(upstreamKey(gateway, scope, task.taskId));
    if (early) {
      this.early.delete(upstreamKey(gateway, scope, task.taskId));
      this.status(gateway, scope, early.params);
    }
    return { ...result, task: { ...task, taskId: entry.id } };
  }

  /** tasks/get, tasks/result, tasks/cancel and tasks/list from a client; `gateways`: those behind its endpoint. */
  async handle(method: string, params: Record<string, unknown>, gateways: Iterable<string>, caller: TaskCaller, options: CallOptions): Promise<unknown> {
    if (method === 'tasks/list') return this.list(params, gateways, caller, options);
    const taskId = params.taskId;
    if (typeof taskId !== 'string') throw new RpcError(INVALID_PARAMS, `${method} needs params.taskId (a string)`);
    const entry = this.find(taskId, caller);
    const upstreamParams: Record<string, unknown> = { ...params, taskId: entry.upstreamId };
    const { result } = await this.upstreams.taskRequest(entry.gateway, method, upstreamParams, { ...options, client: entry.client ?? options.client });
    return this.outward(entry, result);
  }

  /** An upstream's notifications/tasks/status: to the client session that created the task, under its id. */
  status(gateway: string, scope: string, params: unknown): void {
    if (!isObject(params) || typeof params.taskId !== 'string') return;
    const key = upstreamKey(gateway, scope, params.taskId);
    const entry = this.byUpstream.get(key);
    if (!entry || entry.expires < Date.now()) {
      // Its CreateTaskResult may still be on the way: keep it a moment, bounded.
      this.dropEarly();
      if (this.early.size < MAX_TASKS) this.early.set(key, { params, at: Date.now() });
      return;
    }
    entry.client?.push?.(notification('notifications/tasks/status', { ...params, taskId: entry.id }));
  }

  /**
   * A request of the client an upstream makes for one of its tasks (input_required, tagged with
   * related-task): to the client session that created the task, under the client's task id.
   * Undefined (refused upstream) when the task is unknown or its client has no stream open.
   */
  request(gateway: string, scope: string, method: string, params: Record<string, unknown>, signal: AbortSignal): Promise<RelayAnswer> | undefined {
    const meta = params._meta;
    const related = isObject(meta) ? meta[RELATED_TASK_META] : undefined;
    if (!isObject(related) || typeof related.taskId !== 'string') return undefined;
    const entry = this.byUpstream.get(upstreamKey(gateway, scope, related.taskId));
    if (!entry || entry.expires < Date.now()) return undefined;
    // A 2026 client is asked through the task itself (inputRequests on tasks/get, answered by tasks/update).
    if (entry.modern) return entry.modern.ask(method, params, signal);
    if (!entry.client?.request) return undefined;
    return entry.client.request(method, { ...params, _meta: { ...(meta as object), [RELATED_TASK_META]: { ...related, taskId: entry.id } } }, signal);
  }

  /** The entry for a client's task id; another principal's, an expired or an unknown one answer alike. */
  find(taskId: string, caller: TaskCaller): TaskEntry {
    const entry = this.byId.get(taskId);
    if (!entry || entry.owner !== ownerOf(caller) || entry.expires < Date.now()) {
      if (entry && entry.expires < Date.now()) this.forget(entry);
      throw new RpcError(INVALID_PARAMS, 'Failed to retrieve task: Task not found');
    }
    return entry;
  }

  private async list(params: Record<string, unknown>, gateways: Iterable<string>, caller: TaskCaller, options: CallOptions): Promise<unknown> {
    if (params.cursor !== undefined) throw new RpcError(INVALID_PARAMS, 'tasks/list answers in one page; list again without a cursor');
    const owner = ownerOf(caller);
    const mine = [...this.byId.values()].filter((e) => e.owner === owner && e.expires >= Date.now());
    const tasks: Record<string, unknown>[] = [];
    const wanted = new Set(mine.map((e) => e.gateway));
    for (const gateway of new Set(gateways)) {
      if (!wanted.has(gateway) || !isObject(this.upstreams.taskCapability(gateway)?.list)) continue;
      // Each upstream session this principal's tasks live on, listed once.
      const sessions = new Map<string, ClientSession | undefined>();
      for (const e of mine) if (e.gateway === gateway && !sessions.has(e.scope)) sessions.set(e.scope, e.client);
      for (const client of sessions.values()) {
        let cursor: string | undefined;
        for (let page = 0; page < 20 && tasks.length < MAX_LISTED_TASKS; page++) {
          const { result, scope } = await this.upstreams.taskRequest(gateway, 'tasks/list', cursor ? { cursor } : {}, { ...options, client: client ?? options.client });
          for (const task of Array.isArray(result.tasks) ? result.tasks : []) {
            if (!isObject(task) || typeof task.taskId !== 'string') continue;
            // Only this principal's tasks: a shared upstream session lists everyone's.
            const entry = this.byUpstream.get(upstreamKey(gateway, scope, task.taskId));
            if (entry && entry.owner === owner && tasks.length < MAX_LISTED_TASKS) tasks.push({ ...task, taskId: entry.id });
          }
          cursor = typeof result.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
          if (!cursor) break;
        }
      }
    }
    return { tasks };
  }

  /** An upstream's answer about a task, with the upstream's task id replaced by the client's. */
  private outward(entry: TaskEntry, result: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...result };
    if (out.taskId === entry.upstreamId) out.taskId = entry.id;
    if (isObject(out.task) && out.task.taskId === entry.upstreamId) out.task = { ...out.task, taskId: entry.id };
    const meta = out._meta;
    if (isObject(meta) && isObject(meta[RELATED_TASK_META])) {
      const related = meta[RELATED_TASK_META] as Record<string, unknown>;
      if (related.taskId === entry.upstreamId) out._meta = { ...meta, [RELATED_TASK_META]: { ...related, taskId: entry.id } };
    }
    return out;
  }

  /** Remember an upstream's new task under a fresh id of the gateway's, for the caller's principal. */
  remember(gateway: string, upstreamId: string, scope: string, caller: TaskCaller, ttl: unknown, modern?: ModernTask): TaskEntry {
    this.sweep();
    while (this.byId.size >= MAX_TASKS) this.forget(this.byId.values().next().value!);
    const lifetime = typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 0 ? Math.min(ttl, MAX_TTL_MS) : MAX_TTL_MS;
    const entry: TaskEntry = { id: randomUUID(), gateway, upstreamId, scope, owner: ownerOf(caller), client: caller.client, expires: Date.now() + lifetime, ...(modern ? { modern } : {}) };
    this.byId.set(entry.id, entry);
    this.byUpstream.set(upstreamKey(gateway, scope, upstreamId), entry);
    if (caller.client && !this.tracked.has(caller.client)) {
      const client = caller.client;
      this.tracked.add(client);
      client.onEnd(() => this.sessionEnded(client));
    }
    return entry;
  }

  /**
   * A client session ended: the tasks on its own upstream session went with that session (they
   * are forgotten); those on a shared upstream connection stay reachable by id for the principal.
   */
  private sessionEnded(client: ClientSession): void {
    for (const entry of [...this.byId.values()]) {
      if (entry.client !== client) continue;
      if (entry.scope !== '') this.forget(entry);
      else entry.client = undefined;
    }
  }

  private forget(entry: TaskEntry): void {
    this.byId.delete(entry.id);
    entry.modern?.close('the gateway forgot the task (its ttl passed, or the task map was full)');
    const key = upstreamKey(entry.gateway, entry.scope, entry.upstreamId);
    if (this.byUpstream.get(key) === entry) this.byUpstream.delete(key);
  }

  /** Drop expired entries (cheap: run on every new task). */
  private sweep(): void {
    const now = Date.now();
    for (const entry of this.byId.values()) if (entry.expires < now) this.forget(entry);
    this.dropEarly();
  }

  private dropEarly(): void {
    const horizon = Date.now() - EARLY_STATUS_MS;
    for (const [key, value] of this.early) if (value.at < horizon) this.early.delete(key);
  }
}

/** Whether a client declared the tasks capability (a 2025 session's initialize, or a 2026 request's `_meta`). */
export function declaresTasks(capabilities: Record<string, unknown> | undefined): boolean {
  return isObject(capabilities?.tasks);
}

/** Whether a tool can only be called as a task. */
export function isTaskOnly(descriptor: Record<string, unknown>): boolean {
  const execution = descriptor.execution as { taskSupport?: unknown } | undefined;
  return isObject(execution) && execution.taskSupport === 'required';
}

/** The principal a task belongs to, named as client sessions name their owner. */
function ownerOf(caller: TaskCaller): string {
  if (caller.client?.owner !== undefined) return caller.client.owner;
  const p = caller.principal;
  if (!p) return 'anonymous';
  return p.tokenId !== undefined ? `token:${p.tokenId}` : `${p.method}:${p.subject}`;
}

function upstreamKey(gateway: string, scope: string, taskId: string): string {
  return `${gateway}\u0000${scope}\u0000${taskId}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
