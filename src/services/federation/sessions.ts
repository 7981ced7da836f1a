import { notification } from '../../protocol/jsonrpc.js';
import { UPSTREAM_CAPABILITIES, UpstreamConnection, type ResumedSession, type UpstreamTarget } from '../../upstream/mcp-connection.js';
import { SessionPool } from '../../upstream/session-pool.js';
import { TASK_STATUS, type Link, type Links } from './links.js';
import type { FederationOptions } from './options.js';
import type { ClientSession } from '../../protocol/call.js';

const DEFAULT_SESSIONS = { stdio: 'shared' as const, max: 100, idleMs: 300_000 };

/** A client session's own upstream session, lent for one request. */
export interface SessionLease {
  connection: UpstreamConnection;
  release: () => void;
}

/**
 * Client sessions' own upstream sessions, for upstreams that keep state per session: Streamable
 * HTTP upstreams that hand out an Mcp-Session-Id, legacy SSE upstreams, and stdio upstreams when
 * STDIO_UPSTREAM_SESSIONS=per-client (one process each). Each gateway's live in its link's pool.
 */
export class UpstreamSessions {
  constructor(
    private readonly links: Links,
    private readonly options: FederationOptions,
  ) {}

  /** The client session's own upstream session of a gateway; undefined: the shared connection serves it. */
  async acquire(gateway: string, shared: UpstreamConnection, client: ClientSession): Promise<SessionLease | undefined> {
    const link = this.links.find(gateway);
    if (!link || client.stateless) return undefined;
    const settings = this.options.sessions ?? DEFAULT_SESSIONS;
    const isolated = shared.target.transport === 'stdio' ? settings.stdio === 'per-client' : shared.sessionful;
    if (!isolated) return undefined;
    const observer = this.options.observer;
    link.pool ??= new SessionPool(link.name, settings, {
      size: (open) => observer?.upstreamSessions(link.name, open),
      event: (kind) => observer?.upstreamSessionEvent(link.name, kind),
    });
    return link.pool.acquire(client.id, () => this.open(link, client.id, client));
  }

  /** Close a client session's upstream session of a gateway (the upstream forgot `forgotten`): the next call opens a new one. */
  end(gateway: string, client: ClientSession, forgotten?: string): void {
    const link = this.links.find(gateway);
    if (link && forgotten) client.upstreamIds?.drop(link.id, forgotten);
    link?.pool?.end(client.id);
  }

  /** How many per-client upstream sessions a gateway has open (tests, diagnostics). */
  count(idOrName: string): number {
    return this.links.find(idOrName)?.pool?.size ?? 0;
  }

  /**
   * The client's own upstream session of a gateway. A Streamable HTTP upstream session recorded for
   * the client (by another instance sharing the sessions, or by this one before an idle close or a
   * reconnect) is taken up when the upstream still answers it (one ping); otherwise a new one is
   * opened and recorded, unless another instance recorded one meanwhile: then that one is taken up
   * and the new one closed, so a client never has two.
   */
  private async open(link: Link, key: string, client: ClientSession): Promise<UpstreamConnection> {
    const target = this.links.targetOf(link.fields);
    const ids = target.transport === 'streamablehttp' ? client.upstreamIds : undefined;
    const known = ids ? await ids.get(link.id) : undefined;
    let connection = known ? await this.resume(link, key, client, target, known) : undefined;
    if (!connection) {
      const fresh = this.connection(link, key, client, target, undefined);
      try {
        await fresh.connect(this.options.connectTimeoutMs);
      } catch (error) {
        await fresh.close();
        throw error;
      }
      connection = fresh;
      const opened = fresh.sessionId;
      const winner = ids && opened ? await ids.claim(link.id, opened) : opened;
      if (winner && winner !== opened) {
        const taken = await this.resume(link, key, client, target, winner);
        if (taken) {
          await fresh.close();
          connection = taken;
        }
      }
    }
    client.onEnd(() => link.pool?.end(key));
    return connection;
  }

  /** The recorded upstream session, taken up if the upstream still answers it; forgotten otherwise. */
  private async resume(link: Link, key: string, client: ClientSession, target: UpstreamTarget, sessionId: string): Promise<UpstreamConnection | undefined> {
    const shared = link.connection;
    if (!shared) return undefined;
    const resumed = this.connection(link, key, client, target, { sessionId, capabilities: shared.serverCapabilities, protocolVersion: shared.protocolVersion });
    try {
      await resumed.connect(this.options.connectTimeoutMs);
      await resumed.ping(this.options.connectTimeoutMs);
      resumed.openSessionStream();
      return resumed;
    } catch {
      // Gone upstream (it restarted, or let the session expire).
      await resumed.close();
      client.upstreamIds?.drop(link.id, sessionId);
      return undefined;
    }
  }

  private connection(link: Link, key: string, client: ClientSession, target: UpstreamTarget, resume: ResumedSession | undefined): UpstreamConnection {
    const declared = client.capabilities.roots;
    // What the gateway relays, plus roots when this client declared them (asked of it during its calls).
    const capabilities = declared && typeof declared === 'object' ? { ...UPSTREAM_CAPABILITIES, roots: declared } : UPSTREAM_CAPABILITIES;
    const connection: UpstreamConnection = new UpstreamConnection(
      target,
      {
        // Only the connection in the pool ends the pool's entry (not a resumed one found gone while opening).
        onLost: () => {
          if (link.pool?.holds(key, connection)) link.pool.end(key);
        },
        onListChanged: () => undefined, // discovery follows the shared connection
        // The session is this client's alone: everything it hears outside a call is the client's.
        onNotification: (method, params) => (method === TASK_STATUS ? this.links.tasks.status(link.name, key, params) : client.push?.(notification(method, params))),
        onRequest: (method, params, signal) => this.links.tasks.request(link.name, key, method, params, signal),
      },
      capabilities,
      resume,
    );
    return connection;
  }
}
