import type { CallOptions, RelayAnswer } from '../protocol/call.js';
import type { TaskCaller, TaskEntry, TaskRelay, TaskUpstreams } from './tasks.js';
import { clientDeclared } from './client-sessions.js';
import { INTERNAL_ERROR, INVALID_PARAMS, RpcError } from '../protocol/jsonrpc.js';
import { MISSING_CAPABILITY } from '../protocol/revision-2026.js';

/**
 * The tasks extension of 2026-07-28 (SEP-2663, `io.modelcontextprotocol/tasks`) for 2026 clients,
 * served over upstreams that speak the 2025-11-25 tasks extension. The task map (ids, principals,
 * bounds) is TaskRelay's; this translates the wire between the two shapes:
 *
 * - `tools/call` of a task-supporting tool (`execution.taskSupport` "required" or "optional") from
 *   a client that declares the extension goes upstream task-augmented (`task: {}`, the upstream's
 *   default ttl); its `{ task }` comes back flat, `resultType: "task"`, `ttl` as `ttlMs` and
 *   `pollInterval` as `pollIntervalMs`, under the gateway's task id.
 * - The gateway then waits on the upstream's `tasks/result` for the task (one request held open per
 *   task, in this process): the requests the upstream makes of the client while the task is
 *   `input_required` arrive on it and are kept as the task's `inputRequests`, and the final answer
 *   is kept to be inlined.
 * - `tasks/get` is the upstream's `tasks/get`, renamed the same way, with `inputRequests` while
 *   `input_required`, and once terminal the outcome inlined: a result as `result` with status
 *   `completed` (also when 2025 said `failed` for a tool result with `isError`: SEP-2663 reserves
 *   `failed` for protocol errors), a JSON-RPC error as `error` with status `failed`.
 * - `tasks/update` answers the pending upstream requests named in `inputResponses` (unknown keys
 *   are ignored) and acks `{}`; `tasks/cancel` is the upstream's, acked `{}`, and idempotent on a
 *   terminal task (2025 refuses that one with -32602).
 */

/** The extension's key under `capabilities.extensions` (server/discover, the client's `_meta`). */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
/** The extension's methods a 2026 client may send (`tasks/result` and `tasks/list` are gone in it). */
export const MODERN_TASK_METHODS: ReadonlySet<string> = new Set(['tasks/get', 'tasks/update', 'tasks/cancel']);
const RELATED_TASK_META = 'io.modelcontextprotocol/related-task';
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** Requests one task may have pending with the client at once. */
const MAX_ASKS = 32;
/** How long tasks/get waits for the request of an upstream task that just said input_required. */
const ASK_GRACE_MS = 2_000;

type Outcome = { result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } };

/** Whether a 2026 client's capabilities declare the tasks extension. */
export function declaresTasksExtension(capabilities: Record<string, unknown> | undefined): boolean {
  const extensions = capabilities?.extensions;
  return isObject(extensions) && isObject(extensions[TASKS_EXTENSION]);
}

/** The -32021 answer to a 2026 client that needs the extension and did not declare it. */
export function missingTasksExtension(what: string): RpcError {
  return new RpcError(MISSING_CAPABILITY, `${what} needs the ${TASKS_EXTENSION} extension: declare it under _meta["io.modelcontextprotocol/clientCapabilities"].extensions`, {
    requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
  });
}

/** A request the upstream made of the client for a task, not answered yet. */
interface Ask {
  method: string;
  params: Record<string, unknown>;
  resolve: (answer: RelayAnswer) => void;
}

/** What a task created for a 2026 client carries beyond TaskRelay's entry. */
export class ModernTask {
  readonly asks = new Map<string, Ask>();
  outcome: Outcome | undefined;
  private readonly controller = new AbortController();
  private nextKey = 0;
  private wakers: (() => void)[] = [];

  constructor(private readonly capabilities: Record<string, unknown> | undefined) {}

  /** The signal of the upstream tasks/result the gateway waits on; aborted when the task is forgotten. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The upstream asks the client something for this task: kept until tasks/update answers it. */
  ask(method: string, params: Record<string, unknown>, signal: AbortSignal): Promise<RelayAnswer> | undefined {
    // Never ask a client for what its tools/call did not declare: the upstream hears -32601.
    if (!clientDeclared(this.capabilities, method) || this.asks.size >= MAX_ASKS || this.controller.signal.aborted) return undefined;
    const key = `input-${++this.nextKey}`;
    return new Promise<RelayAnswer>((resolve) => {
      const done = (answer: RelayAnswer) => {
        signal.removeEventListener('abort', aborted);
        this.asks.delete(key);
        resolve(answer);
      };
      const aborted = () => done({ error: { code: -32800, message: 'the upstream withdrew the request' } });
      signal.addEventListener('abort', aborted, { once: true });
      this.asks.set(key, { method, params: withoutRelated(params), resolve: done });
      this.wake();
    });
  }

  /** The final answer of the upstream's tasks/result. */
  settle(outcome: Outcome): void {
    this.outcome ??= outcome;
    this.wake();
  }

  /** Resolves when something changes (an ask, the outcome), or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waker = () => {
        clearTimeout(timer);
        resolve();
      };
      // A wait that times out leaves no waker behind (a task polled often would pile them up).
      const timer = setTimeout(() => {
        this.wakers = this.wakers.filter((w) => w !== waker);
        resolve();
      }, ms);
      this.wakers.push(waker);
    });
  }

  /** The task is forgotten or cancelled: its pending requests get an error, the wait upstream ends. */
  close(reason: string): void {
    for (const ask of [...this.asks.values()]) ask.resolve({ error: { code: -32800, message: reason } });
    this.controller.abort();
    this.wake();
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }
}

/** SEP-2663's tasks/get, tasks/update, tasks/cancel and task-creating tools/call over TaskRelay's map. */
export class ModernTasks {
  constructor(
    private readonly relay: TaskRelay,
    private readonly upstreams: TaskUpstreams,
  ) {}

  /** Whether an upstream takes task-augmented tools/call (2025-11-25 `tasks.requests.tools.call`). */
  serves(gateway: string): boolean {
    const requests = this.upstreams.taskCapability(gateway)?.requests as { tools?: { call?: unknown } } | undefined;
    return isObject(requests?.tools?.call);
  }

  /** A 2026 client's tools/call of a task-supporting tool: created upstream as a task, answered as SEP-2663's CreateTaskResult. */
  async call(gateway: string, params: Record<string, unknown>, capabilities: Record<string, unknown> | undefined, caller: TaskCaller, options: CallOptions): Promise<unknown> {
    const { result, scope } = await this.upstreams.taskRequest(gateway, 'tools/call', { ...params, task: {} }, options);
    const task = result.task;
    // An upstream that answered the call itself (it may): that answer, as it is.
    if (!isObject(task) || typeof task.taskId !== 'string') return result;
    const state = new ModernTask(capabilities);
    const entry = this.relay.remember(gateway, task.taskId, scope, caller, task.ttl, state);
    this.await(entry, state, options);
    const { task: _task, ...rest } = result;
    return { ...withoutRelated(rest), ...flat(task, entry.id), resultType: 'task' };
  }

  /** tasks/get, tasks/update or tasks/cancel of a 2026 client (the extension declared). */
  async handle(method: string, params: Record<string, unknown>, caller: TaskCaller, options: CallOptions): Promise<unknown> {
    const taskId = params.taskId;
    if (typeof taskId !== 'string') throw new RpcError(INVALID_PARAMS, `${method} needs params.taskId (a string)`);
    const entry = this.relay.find(taskId, caller);
    // A task created by a 2025 client session is answered in that era's shape, on that session only.
    const state = entry.modern;
    if (!state) throw new RpcError(INVALID_PARAMS, 'Failed to retrieve task: Task not found');
    if (method === 'tasks/update') return this.update(state, params.inputResponses);
    if (method === 'tasks/cancel') return this.cancel(entry, state, options);
    return this.get(entry, state, options);
  }

  private async get(entry: TaskEntry, state: ModernTask, options: CallOptions): Promise<Record<string, unknown>> {
    const { result: task } = await this.upstreams.taskRequest(entry.gateway, 'tasks/get', { taskId: entry.upstreamId }, options);
    // The upstream says input_required a moment before its request reaches the gateway.
    if (task.status === 'input_required' && state.asks.size === 0 && !state.outcome) await state.changed(ASK_GRACE_MS);
    const out = flat(task, entry.id);
    if (task.status === 'input_required' && state.asks.size > 0) {
      out.inputRequests = Object.fromEntries([...state.asks].map(([key, ask]) => [key, { method: ask.method, params: ask.params }]));
    }
    if (TERMINAL.has(String(task.status)) && task.status !== 'cancelled') {
      const deadline = Date.now() + options.timeoutMs;
      while (!state.outcome && Date.now() < deadline) await state.changed(deadline - Date.now());
      const outcome = state.outcome;
      if (outcome && 'result' in outcome) Object.assign(out, { status: 'completed', result: withoutRelated(outcome.result) });
      else if (outcome) Object.assign(out, { status: 'failed', error: outcome.error });
    }
    return out;
  }

  private update(state: ModernTask, responses: unknown): Record<string, unknown> {
    if (!isObject(responses)) throw new RpcError(INVALID_PARAMS, 'tasks/update needs params.inputResponses (an object)');
    for (const [key, value] of Object.entries(responses)) {
      const ask = state.asks.get(key);
      if (!ask) continue; // answered already, or never asked: SEP-2663 acks it all the same
      if (isObject(value)) ask.resolve({ result: value });
      else ask.resolve({ error: { code: INVALID_PARAMS, message: `the client's input response "${key.slice(0, 64)}" is not an object` } });
    }
    return {};
  }

  private async cancel(entry: TaskEntry, state: ModernTask, options: CallOptions): Promise<Record<string, unknown>> {
    try {
      await this.upstreams.taskRequest(entry.gateway, 'tasks/cancel', { taskId: entry.upstreamId }, options);
    } catch (error) {
      // 2025-11-25 refuses to cancel a task in a terminal status; SEP-2663's cancel is idempotent.
      const { result } = await this.upstreams.taskRequest(entry.gateway, 'tasks/get', { taskId: entry.upstreamId }, options).catch(() => {
        throw error;
      });
      if (!TERMINAL.has(String(result.status))) throw error;
    }
    for (const ask of [...state.asks.values()]) ask.resolve({ error: { code: -32800, message: 'the task was cancelled' } });
    return {};
  }

  /** Wait on the upstream's tasks/result for the task: its input requests arrive on it, and its outcome. */
  private await(entry: TaskEntry, state: ModernTask, options: CallOptions): void {
    const waiting: CallOptions = { signal: state.signal, timeoutMs: Math.max(1, entry.expires - Date.now()), client: options.client };
    this.upstreams.taskRequest(entry.gateway, 'tasks/result', { taskId: entry.upstreamId }, waiting).then(
      ({ result }) => state.settle({ result }),
      (error: unknown) => state.settle({ error: errorShape(error) }),
    );
  }
}

/** A 2025-11-25 Task in SEP-2663's field names, under the client's task id. */
function flat(task: Record<string, unknown>, id: string): Record<string, unknown> {
  const { taskId: _id, ttl, pollInterval, ...rest } = withoutRelated(task);
  return { ...rest, taskId: id, ...(ttl !== undefined ? { ttlMs: ttl } : {}), ...(pollInterval !== undefined ? { pollIntervalMs: pollInterval } : {}) };
}

/** The value without 2025's related-task `_meta` tag: in SEP-2663 the task id is at the root. */
function withoutRelated(value: Record<string, unknown>): Record<string, unknown> {
  const meta = value._meta;
  if (!isObject(meta) || !(RELATED_TASK_META in meta)) return value;
  const { [RELATED_TASK_META]: _related, ...others } = meta;
  const { _meta: _old, ...rest } = value;
  return Object.keys(others).length > 0 ? { ...rest, _meta: others } : rest;
}

function errorShape(error: unknown): { code: number; message: string; data?: unknown } {
  if (error instanceof RpcError) return { code: error.code, message: error.message, ...(error.data !== undefined ? { data: error.data } : {}) };
  return { code: INTERNAL_ERROR, message: error instanceof Error ? error.message : String(error) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
