import type { Logger } from 'pino';
import type { AuthCipher } from '../../crypto/auth-value.js';
import { canonicalJson } from '../../domain/merge-patch.js';
import { GatewayError } from '../../errors.js';
import type { FederatedItems, View } from '../../mcp/catalog.js';
import type { Upstreams } from '../../mcp/dispatcher.js';
import type { InputRounds } from '../../mcp/input-rounds.js';
import type { Store } from '../../store/store.js';
import { ClientDelivery } from './client-delivery.js';
import { Discovery, type DiscoveryReport, type FederatedKind } from './discovery.js';
import { Links, type Link, type TaskSink } from './links.js';
import type { FederationOptions } from './options.js';
import { Routing } from './routing.js';
import { UpstreamSessions } from './sessions.js';
import type { CallOptions } from '../../protocol/call.js';

export type { DiscoveryReport, FederatedKind } from './discovery.js';
export type { TaskSink } from './links.js';
export type { FederationObserver, FederationOptions } from './options.js';

/**
 * Federation: the upstream gateways served as one. The links keep one connection per active
 * gateway healthy (links.ts), discovery fills the store and memory (discovery.ts), routing sends
 * each call to its gateway (routing.ts); this class applies Admin API changes and tells listeners.
 */
export class Federation implements Upstreams {
  private readonly listeners = new Set<(kind: FederatedKind) => void>();
  private readonly links: Links;
  private readonly sessions: UpstreamSessions;
  private readonly discovery: Discovery;
  private readonly routing: Routing;
  /** 2026-07-28 callers of 2025-era upstreams: the upstream's requests of the client as input_required rounds. */
  readonly rounds: InputRounds;
  /** Admin API changes of gateways being applied (see gatewayChanged). */
  private readonly changes = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    cipher: AuthCipher,
    logger: Logger,
    options: FederationOptions,
  ) {
    const delivery = new ClientDelivery((gateway, uri) => void this.routing.released(gateway, uri));
    // Links and discovery need each other (a reconnect rediscovers, discovery connects): the hook closes the loop.
    this.links = new Links(store, cipher, logger, options, {
      discover: (link) => this.discovery.discover(link),
      deliver: (gateway, method, params) => delivery.deliver(gateway, method, params),
    });
    this.sessions = new UpstreamSessions(this.links, options);
    this.discovery = new Discovery(store, this.links, logger, options, (kind) => this.emit(kind));
    this.routing = new Routing(this.links, this.sessions, delivery, options.secret);
    this.rounds = this.routing.rounds;
  }

  /** Subscribe to what discovery and gateway changes did to the federated tools, prompts and resources; returns the unsubscribe function. */
  onChange(listener: (kind: FederatedKind) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Send upstreams' task status and their task requests outside calls to the task relay (mcp/tasks.ts). */
  attachTasks(sink: TaskSink): void {
    this.links.attachTasks(sink);
  }

  private emit(kind: FederatedKind): void {
    for (const listener of this.listeners) listener(kind);
  }

  /** Connect every active gateway in the background and start health checks. */
  async start(): Promise<void> {
    const gateways = await this.store.list('gateways');
    for (const gateway of gateways) void this.links.sync(gateway).catch(() => undefined);
    this.links.startHealthChecks();
  }

  /** React to an Admin API change of a gateway: connect, reconnect with new settings, or drop it. */
  async gatewayChanged(op: 'create' | 'update' | 'delete', id: string): Promise<void> {
    if (this.links.closed) return;
    // close() waits for changes under way: a connection one of them opens, or closes, ends before the gateway does.
    const change = this.applyChange(op, id);
    this.changes.add(change);
    try {
      await change;
    } finally {
      this.changes.delete(change);
    }
  }

  private async applyChange(op: 'create' | 'update' | 'delete', id: string): Promise<void> {
    if (op === 'delete') {
      const link = this.links.get(id);
      if (link) await this.drop(link, true);
      return;
    }
    const stored = await this.store.get('gateways', id);
    if (!stored) return;
    const link = this.links.get(id);
    if (link && sameTarget(link.fields, stored.fields)) {
      link.fields = stored.fields;
      if (link.name !== String(stored.fields.name)) await this.drop(link, true);
      else if (stored.fields.is_active === false) await this.drop(link, false);
      else return;
    } else if (link) {
      await this.drop(link, String(link.name) !== String(stored.fields.name));
    }
    if (stored.fields.is_active !== false) await this.links.sync(stored).catch(() => undefined);
    else this.emit('tools');
  }

  /**
   * Bring the connections in line with the stored gateways after changes this instance may not
   * have heard of (another instance's edits while the event channel was down).
   */
  async resync(): Promise<void> {
    if (this.links.closed) return;
    const stored = await this.store.list('gateways', { includeInactive: true });
    const ids = new Set(stored.map((g) => g.id));
    for (const link of this.links.all()) if (!ids.has(link.id)) await this.gatewayChanged('delete', link.id);
    for (const gateway of stored) await this.gatewayChanged('update', gateway.id);
  }

  /** POST /gateways/{id}/refresh: connect if needed and rediscover now. */
  async refresh(idOrName: string): Promise<DiscoveryReport> {
    const stored = await this.store.get('gateways', idOrName);
    if (!stored) throw new GatewayError('GW_NOT_FOUND', `no gateway with id or name "${idOrName}"`);
    // An inactive gateway never connects, not even on request (issue 10).
    if (stored.fields.is_active === false) throw new GatewayError('GW_INACTIVE', `gateway "${String(stored.fields.name)}" is inactive; activate it (is_active: true) to connect`);
    const link = this.links.linkFor(stored);
    link.nextAttempt = 0;
    try {
      await this.links.ensureConnected(link);
    } catch (error) {
      throw new GatewayError('GW_UNREACHABLE', (error as Error).message);
    }
    try {
      return await this.discovery.discover(link);
    } catch (error) {
      throw new GatewayError('GW_DISCOVERY_FAILED', (error as Error).message);
    }
  }

  /** The prompts, resources and templates each gateway serves from memory (the catalog reads them). */
  federatedItems(): FederatedItems[] {
    return this.links.all().map((l) => l.items);
  }

  /** Whether a virtual server's `prompts` or `resources` reference is served by a federated gateway (for missing_refs). */
  servesRef(kind: 'prompts' | 'resources', ref: string): boolean {
    for (const { items } of this.links.all()) {
      if (kind === 'prompts' && items.prompts.some((p) => p.name === ref)) return true;
      if (kind === 'resources' && (items.resources.some((r) => r.uri === ref) || items.templates.some((t) => t.uriTemplate === ref))) return true;
    }
    return false;
  }

  /** The stdio child of a gateway, if it has one running (for tests and diagnostics). */
  pidOf(idOrName: string): number | null {
    return this.links.find(idOrName)?.connection?.pid ?? null;
  }

  /** How many per-client upstream sessions a gateway has open (tests, diagnostics). */
  sessionsOf(idOrName: string): number {
    return this.sessions.count(idOrName);
  }

  /** The gateway's own timeout_ms, if it has one. */
  timeoutFor(gateway: string): number | undefined {
    const value = this.links.find(gateway)?.fields.timeout_ms;
    return typeof value === 'number' ? value : undefined;
  }

  /** The upstream's `tasks` capability, when it is connected and declared one. */
  taskCapability(gateway: string): Record<string, unknown> | undefined {
    return this.links.find(gateway)?.connection?.tasksCapability;
  }

  // The calls, routed (routing.ts).

  /** tools/call of a federated tool. */
  callTool(gateway: string, name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    return this.routing.callTool(gateway, name, args, options);
  }

  /** prompts/get of a federated prompt. */
  getPrompt(gateway: string, name: string, args: Record<string, string>, options: CallOptions): Promise<unknown> {
    return this.routing.getPrompt(gateway, name, args, options);
  }

  /** resources/read of a federated resource. */
  readResource(gateway: string, uri: string, options: CallOptions): Promise<unknown> {
    return this.routing.readResource(gateway, uri, options);
  }

  /** completion/complete on a gateway. */
  complete(gateway: string, params: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    return this.routing.complete(gateway, params, options);
  }

  /** A tasks/* request on the caller's upstream session, and which session that was. */
  taskRequest(gateway: string, method: string, params: Record<string, unknown>, options: CallOptions): Promise<{ result: Record<string, unknown>; scope: string }> {
    return this.routing.taskRequest(gateway, method, params, options);
  }

  /** resources/subscribe or unsubscribe of a federated resource; true when the upstream sends updates. */
  subscription(gateway: string, method: string, uri: string, options: CallOptions): Promise<boolean> {
    return this.routing.subscription(gateway, method, uri, options);
  }

  /** logging/setLevel of a client session for the gateways behind its endpoint. */
  setLogLevel(gateways: string[], level: string, options: CallOptions): Promise<void> {
    return this.routing.setLogLevel(gateways, level, options);
  }

  /** The gateway owning a URI matched by one of its resource templates, if any. */
  templateOwner(view: View, uri: string): string | undefined {
    return this.routing.templateOwner(view, uri);
  }

  /** Close every connection and upstream session, after the gateway changes under way. */
  async close(): Promise<void> {
    this.rounds.close();
    await this.links.close();
    await Promise.all([...this.changes].map((change) => change.catch(() => undefined)));
  }

  /** Drop a link; its discovered tools go too when it was removed or renamed. */
  private async drop(link: Link, removeItems: boolean): Promise<void> {
    await this.links.drop(link);
    if (removeItems) await this.discovery.removeTools(link.name);
    this.emit('tools');
    this.emit('prompts');
    this.emit('resources');
  }
}

/** Whether two gateway versions connect to the same upstream the same way. */
function sameTarget(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = ['transport', 'url', 'command', 'args', 'env', 'auth_type', 'auth_value', 'name_prefix'];
  return keys.every((k) => canonicalJson(a[k] ?? null) === canonicalJson(b[k] ?? null));
}
