import type { UriTemplate } from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import type { AuthCipher } from '../../crypto/auth-value.js';
import { canonicalJson } from '../../domain/merge-patch.js';
import type { FederatedItems } from '../../mcp/catalog.js';
import { RpcError, UPSTREAM_FAILURE } from '../../protocol/jsonrpc.js';
import type { Store, StoredObject } from '../../store/store.js';
import { UpstreamCredentials } from '../../upstream/credentials.js';
import { UpstreamConnection, type UpstreamTarget } from '../../upstream/mcp-connection.js';
import { OAuth2Tokens } from '../../upstream/oauth2.js';
import type { SessionPool } from '../../upstream/session-pool.js';
import { plainEnv } from '../env-secrets.js';
import type { FederationOptions } from './options.js';
import type { RelayAnswer } from '../../protocol/call.js';

/** Gateways connected and discovered at the same time; the rest wait their turn. */
const MAX_CONCURRENT_SYNCS = 8;
/** An upstream's task status notification: it goes to the task relay, not to client sessions. */
export const TASK_STATUS = 'notifications/tasks/status';
/** What a connection tells its owner outside calls. */
type ConnectionHooks = ConstructorParameters<typeof UpstreamConnection>[1];

/** One upstream gateway as federation holds it: its connection, what discovery found, its health. */
export interface Link {
  id: string;
  name: string;
  fields: Record<string, unknown>;
  connection: UpstreamConnection | undefined;
  connecting: Promise<UpstreamConnection> | undefined;
  items: FederatedItems;
  templates: { template: UriTemplate; raw: string }[];
  failures: number;
  nextAttempt: number;
  reachable: boolean | null;
  lastError: string | null;
  closed: boolean;
  /** Serializes discoveries of one gateway. */
  discovering: Promise<unknown>;
  /** Upstream sessions of client sessions (stateful upstreams), made on first use. */
  pool: SessionPool | undefined;
}

/** Where an upstream's task traffic outside any call goes (mcp/tasks.ts). */
export interface TaskSink {
  /** An upstream's notifications/tasks/status; `scope` is the client session whose upstream session sent it ('' when shared). */
  status(gateway: string, scope: string, params: unknown): void;
  /** A request of the client an upstream makes outside any call (a task's input_required). */
  request(gateway: string, scope: string, method: string, params: Record<string, unknown>, signal: AbortSignal): Promise<RelayAnswer> | undefined;
}

const NO_TASKS: TaskSink = { status: () => undefined, request: () => undefined };

/** What the links need from the rest of federation. */
export interface LinkHooks {
  /** Discover a link: once it is connected, and again when its upstream says a list changed. */
  discover(link: Link): Promise<unknown>;
  /** A notification the shared connection heard outside any call (resource updates, log messages). */
  deliver(gateway: string, method: string, params: unknown): void;
}

/**
 * The upstream links: one kept-alive connection per active gateway, connected a few at a time,
 * pinged every health interval, and reconnected with exponential backoff when they fail.
 */
export class Links {
  private readonly links = new Map<string, Link>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private syncing = 0;
  private readonly syncQueue: (() => void)[] = [];
  /** oauth2 access tokens of upstream gateways, cached until they expire. */
  private readonly tokens: OAuth2Tokens;
  private taskSink: TaskSink = NO_TASKS;

  constructor(
    private readonly store: Store,
    private readonly cipher: AuthCipher,
    private readonly logger: Logger,
    private readonly options: FederationOptions,
    private readonly hooks: LinkHooks,
  ) {
    // Token endpoints go through the outbound policy and MAX_RESPONSE_BYTES like the gateways (issue 10).
    this.tokens = new OAuth2Tokens({ ...(options.policy ? { connect: options.policy.connector() } : {}), ...(options.maxResponseBytes ? { maxResponseBytes: options.maxResponseBytes } : {}) });
  }

  /** Whether federation is shutting down: nothing connects any more. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Where task traffic outside calls goes; nowhere until attachTasks. */
  get tasks(): TaskSink {
    return this.taskSink;
  }

  /** Send every upstream's task status and task requests outside calls to this sink. */
  attachTasks(sink: TaskSink): void {
    this.taskSink = sink;
  }

  /** Every link, connected or not. */
  all(): Link[] {
    return [...this.links.values()];
  }

  /** The link of a gateway id. */
  get(id: string): Link | undefined {
    return this.links.get(id);
  }

  /** The link of a gateway id or name. */
  find(idOrName: string): Link | undefined {
    const byId = this.links.get(idOrName);
    if (byId) return byId;
    for (const link of this.links.values()) if (link.name === idOrName) return link;
    return undefined;
  }

  /** The link of a stored gateway, made (unconnected) if it has none yet. */
  linkFor(stored: StoredObject): Link {
    let link = this.links.get(stored.id);
    if (!link) {
      const name = String(stored.fields.name);
      link = {
        id: stored.id,
        name,
        fields: stored.fields,
        connection: undefined,
        connecting: undefined,
        items: { gateway: name, prompts: [], resources: [], templates: [] },
        templates: [],
        failures: 0,
        nextAttempt: 0,
        reachable: (stored.fields.reachable as boolean | null) ?? null,
        lastError: null,
        closed: false,
        discovering: Promise.resolve(),
        pool: undefined,
      };
      this.links.set(stored.id, link);
    }
    return link;
  }

  /** The connected shared connection of a gateway; else a reconnect starts and the call fails now. */
  ready(gateway: string): UpstreamConnection {
    const link = this.find(gateway);
    if (!link) throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" is not active`);
    if (!link.connection?.connected) {
      void this.ensureConnected(link).catch(() => undefined);
      const why = link.lastError ? `: ${link.lastError}` : '';
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${gateway}" is unreachable${why}`);
    }
    return link.connection;
  }

  /** Ping every link each health interval; reconnect (and rediscover) the ones whose backoff is over. */
  startHealthChecks(): void {
    this.timer = setInterval(() => void this.healthRound(), this.options.healthIntervalMs);
    this.timer.unref();
  }

  /**
   * Connect and discover one gateway. At most MAX_CONCURRENT_SYNCS run at once, so starting with
   * (or bulk-importing) thousands of gateways queues them instead of opening every upstream at once.
   */
  async sync(stored: StoredObject): Promise<void> {
    if (stored.fields.is_active === false) return;
    if (this.syncing >= MAX_CONCURRENT_SYNCS) await new Promise<void>((resolve) => this.syncQueue.push(resolve));
    this.syncing++;
    try {
      if (this.stopped) return;
      const link = this.linkFor(stored);
      await this.ensureConnected(link);
      await this.hooks.discover(link);
    } finally {
      this.syncing--;
      this.syncQueue.shift()?.();
    }
  }

  /** The link's connection, connecting once however many callers wait for it. */
  ensureConnected(link: Link): Promise<UpstreamConnection> {
    if (link.connection?.connected) return Promise.resolve(link.connection);
    // A dropped gateway (deactivated, deleted, or the gateway shutting down) is never reconnected:
    // a process started now would outlive it.
    if (link.closed || this.stopped) return Promise.reject(new RpcError(UPSTREAM_FAILURE, `gateway "${link.name}" was removed`));
    if (link.connecting) return link.connecting;
    link.connecting = this.connect(link).finally(() => {
      link.connecting = undefined;
    });
    return link.connecting;
  }

  private async connect(link: Link): Promise<UpstreamConnection> {
    await link.connection?.close();
    link.connection = undefined;
    // A new connection means the upstream went away or changed: the client sessions' upstream sessions went with it.
    await closePool(link);
    if (link.closed) throw new RpcError(UPSTREAM_FAILURE, `gateway "${link.name}" was removed`);
    let target: UpstreamTarget;
    try {
      target = this.targetOf(link.fields);
    } catch (error) {
      await this.markDown(link, (error as Error).message);
      throw error;
    }
    const connection: UpstreamConnection = new UpstreamConnection(target, this.sharedHooks(link, () => connection));
    try {
      await connection.connect(this.options.connectTimeoutMs);
    } catch (error) {
      await connection.close();
      await this.markDown(link, (error as Error).message);
      throw error;
    }
    if (link.closed) {
      await connection.close();
      throw new RpcError(UPSTREAM_FAILURE, `gateway "${link.name}" was removed`);
    }
    link.connection = connection;
    await this.markUp(link);
    return connection;
  }

  /** What the shared connection of a link hears outside calls: it is everyone's, so it goes to delivery and tasks. */
  private sharedHooks(link: Link, self: () => UpstreamConnection): ConnectionHooks {
    return {
      onLost: (reason) => {
        if (link.connection !== self() || link.closed) return;
        link.connection = undefined;
        void this.markDown(link, reason);
      },
      onNotification: (method, params) => (method === TASK_STATUS ? this.taskSink.status(link.name, '', params) : this.hooks.deliver(link.name, method, params)),
      onRequest: (method, params, signal) => this.taskSink.request(link.name, '', method, params, signal),
      onListChanged: (kind) => {
        this.logger.info({ gateway: link.name, kind }, 'upstream list changed; rediscovering');
        void this.hooks.discover(link).catch((error: unknown) => this.logger.warn({ gateway: link.name, err: (error as Error).message }, 'rediscovery failed'));
      },
    };
  }

  /** How to reach a gateway's upstream, credentials resolved. */
  targetOf(fields: Record<string, unknown>): UpstreamTarget {
    // The one credential resolver (issue 10), sharing this instance's token cache.
    const { headers, query, ...oauth } = new UpstreamCredentials(this.cipher, process.env, this.tokens).gateway(fields);
    let url = (fields.url as string | null) ?? null;
    if (query && url) {
      const withParams = new URL(url);
      for (const [key, value] of Object.entries(query)) withParams.searchParams.set(key, value);
      url = withParams.toString();
    }
    return {
      ...oauth,
      name: String(fields.name),
      transport: fields.transport as UpstreamTarget['transport'],
      url,
      command: (fields.command as string | null) ?? null,
      args: (fields.args as string[] | undefined) ?? [],
      env: plainEnv(fields, this.cipher),
      ...(this.options.maxResponseBytes ? { maxResponseBytes: this.options.maxResponseBytes } : {}),
      ...(this.options.policy ? { connect: this.options.policy.connector() } : {}),
      headers,
    };
  }

  /** Forget a link and close its connection and upstream sessions; it never reconnects. */
  async drop(link: Link): Promise<void> {
    link.closed = true;
    this.links.delete(link.id);
    this.options.observer?.gatewayHealth(link.name, undefined);
    // A connect under way (a gateway re-activated just before) sees `closed` when it finishes and
    // closes what it opened: wait for it, so no upstream process outlives the gateway.
    await link.connecting?.catch(() => undefined);
    await closePool(link);
    await link.connection?.close();
    link.connection = undefined;
  }

  /** Stop health checks and queued syncs, and drop every link. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const release of this.syncQueue.splice(0)) release(); // queued syncs see `stopped` and stop
    await Promise.all(this.all().map((link) => this.drop(link)));
  }

  // ---- health ----------------------------------------------------------------------------------

  private async healthRound(): Promise<void> {
    if (this.stopped) return;
    const timeout = Math.max(100, Math.min(this.options.healthIntervalMs, 10_000));
    await Promise.all(this.all().map((link) => this.check(link, timeout)));
  }

  /** Ping a connected link (down on failure); reconnect and rediscover one whose backoff is over. */
  private async check(link: Link, timeout: number): Promise<void> {
    if (link.connection?.connected) {
      try {
        await link.connection.ping(timeout);
        await this.markUp(link);
      } catch (error) {
        const connection = link.connection;
        link.connection = undefined;
        await connection?.close();
        await this.markDown(link, (error as Error).message);
      }
    } else if (!link.connecting && Date.now() >= link.nextAttempt) {
      try {
        await this.ensureConnected(link);
        await this.hooks.discover(link);
      } catch {
        // markDown recorded it
      }
    }
  }

  private async markUp(link: Link): Promise<void> {
    const wasDown = link.reachable !== true;
    link.failures = 0;
    link.nextAttempt = 0;
    link.reachable = true;
    link.lastError = null;
    if (wasDown) this.logger.info({ gateway: link.name }, 'gateway reachable');
    this.options.observer?.gatewayHealth(link.name, true);
    await this.writeHealth(link, { reachable: true, last_seen: new Date().toISOString(), last_error: null });
  }

  private async markDown(link: Link, reason: string): Promise<void> {
    if (link.closed) return;
    link.failures++;
    const backoff = Math.min(this.options.maxBackoffMs, this.options.healthIntervalMs * 2 ** Math.min(link.failures - 1, 10));
    link.nextAttempt = Date.now() + backoff;
    const wasUp = link.reachable !== false;
    link.reachable = false;
    link.lastError = reason;
    if (wasUp) this.logger.warn({ gateway: link.name, reason }, 'gateway unreachable');
    this.options.observer?.gatewayHealth(link.name, false);
    await this.writeHealth(link, { reachable: false, last_error: reason.slice(0, 1000) });
  }

  /** Record health on the gateway without moving updated_at (it is not a user edit). */
  private async writeHealth(link: Link, health: Record<string, unknown>): Promise<void> {
    if (this.stopped) return;
    try {
      await this.store.transaction(async (repo) => {
        const current = await repo.get('gateways', link.id, { lock: true });
        if (!current) return;
        const fields = { ...current.fields, ...health };
        if (canonicalJson(fields) === canonicalJson(current.fields)) return;
        await repo.update('gateways', { ...current, fields }, current);
      });
    } catch (error) {
      this.logger.warn({ gateway: link.name, err: (error as Error).message }, 'cannot record gateway health');
    }
  }
}

/** Close a link's per-client upstream sessions; the next call opens new ones. */
export async function closePool(link: Link): Promise<void> {
  const pool = link.pool;
  link.pool = undefined;
  await pool?.close();
}

/** Whether an upstream refused a request because it forgot the session (it restarted): the request never ran. */
export function sessionExpired(error: unknown): boolean {
  return ((error as RpcError).data as { sessionExpired?: boolean } | undefined)?.sessionExpired === true;
}
