import { GatewayError } from '../errors.js';
import type { RestExecutor } from '../upstream/rest-executor.js';
import { LOG_LEVELS } from './client-sessions.js';
import { VERSION } from '../version.js';
import { MODERN_CACHEABLE, type Catalog, type Snapshot, type View } from './catalog.js';
import {
  errorResponse,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  isValidId,
  METHOD_NOT_FOUND,
  RawResult,
  RESOURCE_NOT_FOUND,
  resultResponse,
  RpcError,
  type RequestId,
  type RpcMessage,
} from '../protocol/jsonrpc.js';
import { applyArgumentRules } from './curation.js';
import { principalKey } from './input-rounds.js';
import type { PromptRenderer } from './prompt-renderer.js';
import { callTarget, findTools } from './tool-search.js';
import { declaresTasks, isTaskOnly, TASK_METHODS, type TaskRelay } from './tasks.js';
import { declaresTasksExtension, missingTasksExtension, MODERN_TASK_METHODS, TASKS_EXTENSION } from './tasks-2026.js';
import {
  checkParamHeaders,
  CLIENT_CAPABILITIES_META,
  gateLogs,
  isModernVersion,
  modernErrorStatus,
  traceOf,
  MODERN_VERSIONS as MODERN,
  PROTOCOL_VERSION_META,
  REMOVED_METHODS,
  SERVER_INFO_META,
} from '../protocol/revision-2026.js';
import type { CallOptions, DispatchContext, Progress } from '../protocol/call.js';

/**
 * The MCP request handler behind every transport (Streamable HTTP, legacy SSE, the stdio bridge):
 * one JSON-RPC message in, one serialized response out, answered from the in-memory catalog.
 * It is the gateway's own implementation of the server side of the protocol, kept to what a
 * stateless relay needs; tests hold it to the official SDK client for every protocol revision.
 */

/** Legacy-era revisions answered by `initialize`, newest first. */
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
/** Modern-era revisions answered by `server/discover` (and served per request). */
export const MODERN_VERSIONS = [...MODERN];
const CACHEABLE = new Set(['server/discover', 'resources/read']);
const SERVER_INFO = { name: 'mcpgateway', version: VERSION };
const CAPABILITIES = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { listChanged: true, subscribe: true },
  completions: {},
  logging: {},
};
/** What a 2026-07-28 client is told: logging is per request there (`_meta` logLevel), not a capability. */
const MODERN_CAPABILITIES = { tools: CAPABILITIES.tools, prompts: CAPABILITIES.prompts, resources: { listChanged: true }, completions: {} };

/** What the dispatcher needs from federation. Failures are thrown as RpcError. */
export interface Upstreams {
  callTool(gateway: string, name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown>;
  getPrompt(gateway: string, name: string, args: Record<string, string>, options: CallOptions): Promise<unknown>;
  readResource(gateway: string, uri: string, options: CallOptions): Promise<unknown>;
  complete(gateway: string, params: Record<string, unknown>, options: CallOptions): Promise<unknown>;
  /** Pass resources/subscribe or unsubscribe on when the upstream supports it; true when updates of the resource can come. */
  subscription(gateway: string, method: string, uri: string, options: CallOptions): Promise<boolean>;
  /** The gateway owning a URI matched by one of its resource templates, if any. */
  templateOwner(view: View, uri: string): string | undefined;
  /** Per-gateway timeout override. */
  timeoutFor(gateway: string): number | undefined;
  /** logging/setLevel of a client session, for the gateways behind its endpoint. */
  setLogLevel?(gateways: string[], level: string, options: CallOptions): Promise<void>;
}

export interface CallObserver {
  /** `context` is the call's endpoint context (its caller in `principal`), for the audit trail. */
  toolCall(tool: string, gateway: string, outcome: 'ok' | 'tool_error' | 'error', seconds: number, context?: DispatchContext): void;
}

export interface DispatcherDeps {
  catalog: Catalog;
  rest: RestExecutor;
  prompts: PromptRenderer;
  upstreams: Upstreams;
  toolTimeoutMs: number;
  observer?: CallObserver;
  /** The tasks extension relay (mcp/tasks.ts); without it tasks/* are unknown methods. */
  tasks?: TaskRelay;
}

/** Resource subscriptions of one subscriptions/listen asked upstream at once. */
const SUBSCRIBE_BATCH = 8;

export class Dispatcher {
  constructor(private readonly deps: DispatcherDeps) {}

  /** Handle one parsed message; returns the serialized response, or undefined for notifications. */
  async handle(message: unknown, context: DispatchContext): Promise<string | undefined> {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      return errorResponse(null, INVALID_REQUEST, 'a JSON-RPC message must be an object');
    }
    const m = message as RpcMessage;
    const hasId = 'id' in m && m.id !== undefined;
    if (m.jsonrpc !== '2.0' || (hasId && !isValidId(m.id))) {
      return errorResponse(hasId && isValidId(m.id) ? m.id : null, INVALID_REQUEST, 'not a JSON-RPC 2.0 message (jsonrpc must be "2.0", id a string or number)');
    }
    if (typeof m.method !== 'string') {
      // A response to a request we never send (stateless): nothing to do.
      if (hasId && ('result' in m || 'error' in m)) return undefined;
      return errorResponse(hasId ? (m.id as RequestId) : null, INVALID_REQUEST, 'method must be a string');
    }
    if (!hasId) return undefined; // notifications: initialized, cancelled (handled by the transport), roots changed
    const id = m.id as RequestId;
    if (m.params !== undefined && (m.params === null || typeof m.params !== 'object' || Array.isArray(m.params))) {
      return errorResponse(id, INVALID_PARAMS, 'params must be an object');
    }
    const params = (m.params ?? {}) as Record<string, unknown>;
    const modern = context.meta !== undefined || isModern(params);
    try {
      if (modern && REMOVED_METHODS.has(m.method)) throw new RpcError(METHOD_NOT_FOUND, `method "${m.method}" is not part of protocol revision 2026-07-28`);
      const result = await this.route(m.method, params, context, modern);
      if (modern && !(result instanceof RawResult)) {
        const r = result as Record<string, unknown>;
        if (CACHEABLE.has(m.method)) {
          r.ttlMs ??= MODERN_CACHEABLE.ttlMs;
          r.cacheScope ??= MODERN_CACHEABLE.cacheScope;
        }
        r.resultType ??= 'complete';
      }
      return resultResponse(id, result);
    } catch (error) {
      if (error instanceof RpcError) {
        // 2026-07-28 says resource-not-found is -32602; 2025 clients keep -32002.
        const code = modern && error.code === RESOURCE_NOT_FOUND ? INVALID_PARAMS : error.code;
        if (modern) context.status = modernErrorStatus(code);
        return errorResponse(id, code, error.message, error.data);
      }
      if (error instanceof GatewayError) return errorResponse(id, rpcCode(error), error.message, { code: error.code });
      return errorResponse(id, INTERNAL_ERROR, 'internal error while handling the request');
    }
  }

  private async route(method: string, params: Record<string, unknown>, context: DispatchContext, modern: boolean): Promise<unknown> {
    switch (method) {
      case 'initialize': {
        const view = await this.view(context);
        return this.withTasks(this.initialize(params, view), view);
      }
      case 'server/discover':
        return { supportedVersions: MODERN_VERSIONS, capabilities: modern ? await this.modernCapabilities(context) : CAPABILITIES, _meta: { [SERVER_INFO_META]: SERVER_INFO } };
      case 'ping':
        return {};
      case 'logging/setLevel':
        return this.setLogLevel(params, context);
      case 'tools/list':
        return this.page(await this.view(context), 'tools', params, modern, this.seesTaskOnly(context, params));
      case 'prompts/list':
        return this.page(await this.view(context), 'prompts', params, modern);
      case 'resources/list':
        return this.page(await this.view(context), 'resources', params, modern);
      case 'resources/templates/list':
        return this.page(await this.view(context), 'resourceTemplates', params, modern);
      case 'tools/call':
        return this.callTool(params, context);
      case 'prompts/get':
        return this.getPrompt(params, context);
      case 'resources/read':
        return this.readResource(params, context);
      case 'completion/complete':
        return this.complete(params, context);
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return this.subscription(method, params, context);
      default:
        if (TASK_METHODS.has(method) && this.deps.tasks && !modern) return this.deps.tasks.handle(method, params, gatewaysOf(await this.view(context)), context, this.upstreamOptions('', context));
        if (MODERN_TASK_METHODS.has(method) && this.deps.tasks && modern) return this.modernTask(method, params, context);
        throw new RpcError(METHOD_NOT_FOUND, `method "${method.slice(0, 100)}" is not supported`);
    }
  }

  private initialize(params: Record<string, unknown>, view: View): Record<string, unknown> {
    const asked = typeof params.protocolVersion === 'string' ? params.protocolVersion : undefined;
    const protocolVersion = asked && LEGACY_VERSIONS.includes(asked) ? asked : LEGACY_VERSIONS[0];
    return {
      protocolVersion,
      capabilities: CAPABILITIES,
      serverInfo: SERVER_INFO,
      instructions: view.instructions,
    };
  }

  private async view(context: DispatchContext): Promise<View> {
    const snapshot = await this.deps.catalog.current();
    return viewOf(snapshot, context.server);
  }

  /** initialize's capabilities with `tasks` when an upstream behind the endpoint offers the extension. */
  private withTasks(result: Record<string, unknown>, view: View): Record<string, unknown> {
    const tasks = this.deps.tasks?.capability(gatewaysOf(view));
    return tasks ? { ...result, capabilities: { ...(result.capabilities as object), tasks } } : result;
  }

  /**
   * Task-only tools are listed and callable only for a client that declared tasks: the 2025-11-25
   * capability in its session's initialize, or the 2026-07-28 extension in the request's `_meta`.
   */
  private seesTaskOnly(context: DispatchContext, params: Record<string, unknown>): boolean {
    if (this.deps.tasks === undefined) return false;
    const modern = modernCapabilities(context, params);
    return modern !== undefined ? declaresTasksExtension(modern) : declaresTasks(context.client?.capabilities);
  }

  /** server/discover's capabilities: with the tasks extension when an upstream behind the endpoint takes task-augmented calls. */
  private async modernCapabilities(context: DispatchContext): Promise<Record<string, unknown>> {
    const tasks = this.deps.tasks;
    if (!tasks || ![...gatewaysOf(await this.view(context))].some((g) => tasks.modern.serves(g))) return MODERN_CAPABILITIES;
    return { ...MODERN_CAPABILITIES, extensions: { [TASKS_EXTENSION]: {} } };
  }

  /** tasks/get, tasks/update, tasks/cancel of a 2026-07-28 client: only with the extension declared (SEP-2663). */
  private modernTask(method: string, params: Record<string, unknown>, context: DispatchContext): Promise<unknown> {
    if (!declaresTasksExtension(modernCapabilities(context, params))) throw missingTasksExtension(method);
    return this.deps.tasks!.modern.handle(method, params, context, this.upstreamOptions('', context));
  }

  private page(view: View, kind: 'tools' | 'prompts' | 'resources' | 'resourceTemplates', params: Record<string, unknown>, modern: boolean, taskOnly = true): RawResult {
    const cursor = params.cursor;
    if (cursor !== undefined && typeof cursor !== 'string') throw new RpcError(INVALID_PARAMS, 'cursor must be a string');
    const page = view.page(kind, cursor, modern, taskOnly);
    if (!page) throw new RpcError(INVALID_PARAMS, 'cursor is not one this gateway issued; list again without it');
    return page;
  }

  private async callTool(params: Record<string, unknown>, context: DispatchContext, viaMeta = false): Promise<unknown> {
    const name = params.name;
    if (typeof name !== 'string') throw new RpcError(INVALID_PARAMS, 'tools/call needs params.name (a string)');
    const args = params.arguments ?? {};
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new RpcError(INVALID_PARAMS, 'arguments must be an object');
    const snapshot = await this.deps.catalog.current();
    const view = viewOf(snapshot, context.server);
    const tool = view.toolsByName.get(name);
    const capabilities = modernCapabilities(context, params);
    const seesTaskOnly = this.seesTaskOnly(context, params);
    if (!tool || (viaMeta && tool.meta)) throw new RpcError(INVALID_PARAMS, `unknown tool "${name.slice(0, 128)}"`);
    if (isTaskOnly(tool.descriptor) && !seesTaskOnly) {
      // SEP-2663: a 2026 client is told which extension the tool needs; a 2025 one never saw it listed.
      if (capabilities !== undefined && this.deps.tasks) throw missingTasksExtension(`tool "${name.slice(0, 128)}" (execution.taskSupport "required")`);
      throw new RpcError(INVALID_PARAMS, `unknown tool "${name.slice(0, 128)}"`);
    }
    // Search mode's meta-tools (tool-search.ts); a call through one takes the direct call's path.
    // A client that cannot use task-only tools is not shown them by search either.
    if (tool.meta === 'find') return findTools(view, args as Record<string, unknown>, seesTaskOnly ? undefined : (t) => !isTaskOnly(t.descriptor));
    if (tool.meta === 'call') return this.callTool({ ...params, ...callTarget(args as Record<string, unknown>) }, context, true);
    if (context.meta) {
      const mismatch = checkParamHeaders(tool.descriptor.inputSchema, args as Record<string, unknown>, context.paramHeaders);
      if (mismatch) throw new RpcError(mismatch.code, mismatch.message, mismatch.data);
    }
    const callArgs = applyArgumentRules(tool.arguments, args as Record<string, unknown>, tool.name);
    const started = performance.now();
    const gateway = tool.gateway ?? '';
    let outcome: 'ok' | 'tool_error' | 'error' = 'error';
    try {
      let result: unknown;
      if (tool.gateway !== null && capabilities !== undefined && seesTaskOnly && supportsTasks(tool.descriptor) && this.deps.tasks!.modern.serves(tool.gateway)) {
        // SEP-2663: the server decides; a task-supporting tool called by a client that declared the extension runs as a task.
        result = await this.deps.tasks!.modern.call(tool.gateway, { name: tool.originalName, arguments: callArgs }, capabilities, context, this.upstreamOptions(tool.gateway, context));
      } else if (tool.gateway !== null && params.task !== undefined && this.deps.tasks && capabilities === undefined) {
        // A task-augmented call (tasks extension): relayed as it is, its task id made routable (mcp/tasks.ts).
        const { name: _name, arguments: _args, ...rest } = params;
        result = await this.deps.tasks!.call(tool.gateway, { ...rest, name: tool.originalName, arguments: callArgs }, context, this.upstreamOptions(tool.gateway, context));
      } else if (tool.gateway !== null) {
        const timeoutMs = (tool.fields.timeout_ms as number | null) ?? this.deps.upstreams.timeoutFor(tool.gateway) ?? this.deps.toolTimeoutMs;
        const token = progressTokenOf(params);
        result = await this.deps.upstreams.callTool(tool.gateway, tool.originalName, callArgs, {
          signal: context.signal,
          timeoutMs,
          onprogress: token !== undefined && context.notify ? progressRelay(token, context.notify) : undefined,
          progressToken: token,
          relay: context.notify ? (context.meta ? { notify: gateLogs(context.meta, context.notify) } : context) : undefined,
          abort: context.abort,
          trace: traceOf(params),
          // A 2026 upstream gets the caller's own params, with the server's pinned arguments applied.
          modern: context.meta ? { ...params, arguments: callArgs } : undefined,
          paramHeaders: context.paramHeaders,
          client: context.client,
          principal: principalKey(context.principal),
        });
      } else {
        const server = view.server ?? snapshot.toolServer.get(String(tool.fields.name));
        result = await this.deps.rest.call(tool.fields as never, server as never, callArgs, context.signal, { abort: context.abort });
      }
      outcome = (result as { isError?: unknown }).isError === true ? 'tool_error' : 'ok';
      return result;
    } finally {
      this.deps.observer?.toolCall(tool.name, gateway, outcome, (performance.now() - started) / 1000, context);
    }
  }

  private async getPrompt(params: Record<string, unknown>, context: DispatchContext): Promise<unknown> {
    const name = params.name;
    if (typeof name !== 'string') throw new RpcError(INVALID_PARAMS, 'prompts/get needs params.name (a string)');
    const args = params.arguments ?? {};
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new RpcError(INVALID_PARAMS, 'arguments must be an object');
    const prompt = (await this.view(context)).promptsByName.get(name);
    if (!prompt) throw new RpcError(INVALID_PARAMS, `unknown prompt "${name.slice(0, 128)}"`);
    if (prompt.gateway) {
      return this.deps.upstreams.getPrompt(prompt.gateway, prompt.originalName, args as Record<string, string>, this.upstreamOptions(prompt.gateway, context, params));
    }
    const text = await this.deps.prompts.render({ name, ...prompt.local! }, args as Record<string, unknown>);
    const result: Record<string, unknown> = { messages: [{ role: 'user', content: { type: 'text', text } }] };
    if (prompt.descriptor.description) result.description = prompt.descriptor.description;
    return result;
  }

  private async readResource(params: Record<string, unknown>, context: DispatchContext): Promise<unknown> {
    const uri = params.uri;
    if (typeof uri !== 'string') throw new RpcError(INVALID_PARAMS, 'resources/read needs params.uri (a string)');
    const view = await this.view(context);
    const resource = view.resourcesByUri.get(uri);
    if (resource?.local) {
      const content: Record<string, unknown> = { uri };
      if (resource.local.mime_type) content.mimeType = resource.local.mime_type;
      if (resource.local.blob !== null) content.blob = resource.local.blob;
      else content.text = resource.local.text ?? '';
      return { contents: [content] };
    }
    const gateway = resource?.gateway ?? this.deps.upstreams.templateOwner(view, uri);
    if (!gateway) throw new RpcError(RESOURCE_NOT_FOUND, `resource not found: ${uri.slice(0, 512)}`, { uri });
    return this.deps.upstreams.readResource(gateway, uri, this.upstreamOptions(gateway, context, params));
  }

  /**
   * A 2026-07-28 `subscriptions/listen` stream's `resourceSubscriptions`: each URI subscribed as a
   * resources/subscribe would be, for `context.client` (the stream's own delivery). The URIs whose
   * updates can come (a resource of this endpoint whose upstream declared resources.subscribe), in
   * order; the others are left out: the acknowledgement names only what is honoured.
   */
  async subscribeAll(uris: string[], context: DispatchContext): Promise<string[]> {
    const honored = new Set<string>();
    // SUBSCRIBE_BATCH at a time; once `context.signal` aborts (the stream closed, or the listen's deadline) no more are asked.
    for (let i = 0; i < uris.length && !context.signal.aborted; i += SUBSCRIBE_BATCH) {
      await Promise.all(
        uris.slice(i, i + SUBSCRIBE_BATCH).map(async (uri) => {
          try {
            if (await this.subscribe('resources/subscribe', uri, context)) honored.add(uri);
          } catch (error) {
            if (!(error instanceof RpcError)) throw error;
          }
        }),
      );
    }
    return uris.filter((uri) => honored.has(uri));
  }

  /** The end of a subscriptions/listen stream: its resources unsubscribed for `context.client` (the last subscriber's tells the upstream). */
  async unsubscribeAll(uris: string[], context: DispatchContext): Promise<void> {
    for (let i = 0; i < uris.length; i += SUBSCRIBE_BATCH) {
      await Promise.all(uris.slice(i, i + SUBSCRIBE_BATCH).map((uri) => this.subscribe('resources/unsubscribe', uri, context).catch(() => false)));
    }
  }

  /**
   * resources/subscribe and unsubscribe: accepted for any resource this endpoint serves, and
   * passed on to the owning upstream when it supports subscriptions.
   */
  private async subscription(method: string, params: Record<string, unknown>, context: DispatchContext): Promise<unknown> {
    const uri = params.uri;
    if (typeof uri !== 'string') throw new RpcError(INVALID_PARAMS, `${method} needs params.uri (a string)`);
    await this.subscribe(method, uri, context);
    return {};
  }

  /** Whether updates of the resource can come: false for the gateway's own resources and upstreams without resources.subscribe. */
  private async subscribe(method: string, uri: string, context: DispatchContext): Promise<boolean> {
    const view = await this.view(context);
    const resource = view.resourcesByUri.get(uri);
    if (resource?.local) return false;
    const gateway = resource?.gateway ?? this.deps.upstreams.templateOwner(view, uri);
    if (!gateway) throw new RpcError(RESOURCE_NOT_FOUND, `resource not found: ${uri.slice(0, 512)}`, { uri });
    return this.deps.upstreams.subscription(gateway, method, uri, this.upstreamOptions(gateway, context));
  }

  /** logging/setLevel: passed on to the upstreams behind this endpoint, for this client session. */
  private async setLogLevel(params: Record<string, unknown>, context: DispatchContext): Promise<unknown> {
    if (typeof params.level !== 'string' || !LOG_LEVELS.includes(params.level as never)) {
      throw new RpcError(INVALID_PARAMS, `logging/setLevel needs params.level, one of ${LOG_LEVELS.join(', ')}`);
    }
    const view = await this.view(context);
    const gateways = new Set<string>();
    for (const entry of [...view.tools, ...view.prompts, ...view.resources, ...view.templates]) if (entry.gateway) gateways.add(entry.gateway);
    await this.deps.upstreams.setLogLevel?.([...gateways], params.level, { signal: context.signal, timeoutMs: this.deps.toolTimeoutMs, client: context.client });
    return {};
  }

  private async complete(params: Record<string, unknown>, context: DispatchContext): Promise<unknown> {
    const ref = params.ref as Record<string, unknown> | undefined;
    const argument = params.argument as { name?: unknown; value?: unknown } | undefined;
    if (!ref || typeof ref !== 'object' || !argument || typeof argument.name !== 'string') {
      throw new RpcError(INVALID_PARAMS, 'completion/complete needs params.ref and params.argument.name');
    }
    const view = await this.view(context);
    const empty = { completion: { values: [], total: 0, hasMore: false } };
    if (ref.type === 'ref/prompt' && typeof ref.name === 'string') {
      const prompt = view.promptsByName.get(ref.name);
      if (!prompt) throw new RpcError(INVALID_PARAMS, `unknown prompt "${ref.name.slice(0, 128)}"`);
      if (prompt.gateway) {
        const mapped = { ...params, ref: { ...ref, name: prompt.originalName } };
        return this.deps.upstreams.complete(prompt.gateway, mapped, this.upstreamOptions(prompt.gateway, context, mapped));
      }
      const property = ((prompt.local!.input_schema.properties ?? {}) as Record<string, { enum?: unknown[] }>)[argument.name];
      const prefix = typeof argument.value === 'string' ? argument.value : '';
      const values = (property?.enum ?? []).map(String).filter((v) => v.startsWith(prefix)).slice(0, 100);
      return { completion: { values, total: values.length, hasMore: false } };
    }
    if (ref.type === 'ref/resource' && typeof ref.uri === 'string') {
      const template = view.templates.find((t) => t.uriTemplate === ref.uri);
      if (!template) return empty;
      return this.deps.upstreams.complete(template.gateway, params, this.upstreamOptions(template.gateway, context, params));
    }
    throw new RpcError(INVALID_PARAMS, 'params.ref must be a ref/prompt with a name or a ref/resource with a uri');
  }

  private upstreamOptions(gateway: string, context: DispatchContext, params?: Record<string, unknown>): CallOptions {
    const options: CallOptions = { signal: context.signal, timeoutMs: this.deps.upstreams.timeoutFor(gateway) ?? this.deps.toolTimeoutMs, client: context.client };
    if (context.meta && params) options.modern = params;
    // A 2025 caller can be asked for what a 2026-07-28-only upstream needs (its input_required rounds).
    else if (context.request) options.relay = context;
    return options;
  }
}

/** The view an endpoint serves; an unknown server is a JSON-RPC error, not an empty list. */
export function viewOf(snapshot: Snapshot, server: string | undefined): View {
  if (server === undefined) return snapshot.all;
  const view = snapshot.servers.get(server);
  if (!view) throw new RpcError(INVALID_REQUEST, `no active virtual server "${server.slice(0, 128)}"`);
  return view;
}

/** The gateways behind an endpoint (whatever it serves of theirs). */
function gatewaysOf(view: View): Set<string> {
  const gateways = new Set<string>();
  for (const entry of [...view.tools, ...view.prompts, ...view.resources, ...view.templates]) if (entry.gateway) gateways.add(entry.gateway);
  return gateways;
}

/** A 2026-07-28 request's client capabilities (from its `_meta`); undefined for 2025 traffic. */
function modernCapabilities(context: DispatchContext, params: Record<string, unknown>): Record<string, unknown> | undefined {
  if (context.meta === undefined && !isModern(params)) return undefined;
  const capabilities = (context.meta ?? (params._meta as Record<string, unknown>))[CLIENT_CAPABILITIES_META];
  return capabilities !== null && typeof capabilities === 'object' && !Array.isArray(capabilities) ? (capabilities as Record<string, unknown>) : {};
}

/** Whether a tool can run as a task (`execution.taskSupport` "required" or "optional"). */
function supportsTasks(descriptor: Record<string, unknown>): boolean {
  const support = (descriptor.execution as { taskSupport?: unknown } | undefined)?.taskSupport;
  return support === 'required' || support === 'optional';
}

/** Whether a request claims 2026-07-28 in its `_meta` (transports without the HTTP ladder). */
function isModern(params: Record<string, unknown>): boolean {
  const meta = params._meta as Record<string, unknown> | undefined;
  return meta !== null && typeof meta === 'object' && isModernVersion(meta[PROTOCOL_VERSION_META]);
}

function progressTokenOf(params: Record<string, unknown>): string | number | undefined {
  const meta = params._meta as Record<string, unknown> | undefined;
  if (meta === undefined || meta === null || typeof meta !== 'object') return undefined;
  const token = meta.progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

/** SDK path: relay upstream progress to the caller under the caller's own progress token. */
function progressRelay(token: string | number, notify: (method: string, params: unknown) => void): (p: Progress) => void {
  return (p) => notify('notifications/progress', { progressToken: token, progress: p.progress, total: p.total, message: p.message });
}

function rpcCode(error: GatewayError): number {
  switch (error.code) {
    case 'PROMPT_ARGS_INVALID':
    case 'PROMPT_RENDER_FAILED':
      return INVALID_PARAMS;
    default:
      return INTERNAL_ERROR;
  }
}
