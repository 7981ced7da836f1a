import { LOG_LEVELS } from '../../mcp/client-sessions.js';
import { notification } from '../../protocol/jsonrpc.js';
import type { ClientSession } from '../../protocol/call.js';

const severity = (level: unknown): number => LOG_LEVELS.indexOf(level as (typeof LOG_LEVELS)[number]);

/**
 * What upstreams send outside any call, delivered to the client sessions that asked for it:
 * `notifications/resources/updated` to the sessions subscribed to that resource of that gateway,
 * `notifications/message` to the sessions that set a log level on an endpoint serving that
 * gateway, at or above their level. Sessions are forgotten when they end.
 */
export class ClientDelivery {
  private readonly subscribers = new Map<string, Set<ClientSession>>();
  private readonly logListeners = new Map<string, Set<ClientSession>>();
  private readonly known = new WeakSet<ClientSession>();

  /** `lastGone`: a resource's last subscriber ended without unsubscribing (the upstream is told, as for an unsubscribe). */
  constructor(private readonly lastGone?: (gateway: string, uri: string) => void) {}

  /** Record a subscription; true when it is the first for this resource of this gateway (subscribe upstream). */
  subscribe(gateway: string, uri: string, session: ClientSession): boolean {
    this.track(session);
    const key = `${gateway}\u0000${uri}`;
    let set = this.subscribers.get(key);
    const first = !set || set.size === 0;
    if (!set) this.subscribers.set(key, (set = new Set()));
    set.add(session);
    return first;
  }

  /** Drop a subscription; true when no session is subscribed any more (unsubscribe upstream). */
  unsubscribe(gateway: string, uri: string, session: ClientSession): boolean {
    const key = `${gateway}\u0000${uri}`;
    const set = this.subscribers.get(key);
    if (!set?.delete(session)) return false;
    if (set.size > 0) return false;
    this.subscribers.delete(key);
    return true;
  }

  /** A session's log level on these gateways; returns the most verbose level each gateway's listeners now want. */
  listen(gateways: string[], session: ClientSession): Map<string, string> {
    this.track(session);
    const wanted = new Map<string, string>();
    for (const gateway of gateways) {
      let set = this.logListeners.get(gateway);
      if (!set) this.logListeners.set(gateway, (set = new Set()));
      set.add(session);
      let min = LOG_LEVELS.length - 1;
      for (const s of set) min = Math.min(min, Math.max(0, severity(s.logLevel)));
      wanted.set(gateway, LOG_LEVELS[min]!);
    }
    return wanted;
  }

  /** Deliver an upstream's notification to the sessions that asked for it. */
  deliver(gateway: string, method: string, params: unknown): void {
    const p = (params ?? {}) as { uri?: unknown; level?: unknown };
    if (method === 'notifications/resources/updated' && typeof p.uri === 'string') {
      const set = this.subscribers.get(`${gateway}\u0000${p.uri}`);
      if (set) for (const session of set) session.push?.(notification(method, params));
    } else if (method === 'notifications/message') {
      const set = this.logListeners.get(gateway);
      if (!set) return;
      const level = severity(p.level);
      for (const session of set) if (level >= severity(session.logLevel)) session.push?.(notification(method, params));
    }
  }

  private track(session: ClientSession): void {
    if (this.known.has(session)) return;
    this.known.add(session);
    session.onEnd(() => {
      for (const [key, set] of this.subscribers) {
        if (!set.delete(session) || set.size > 0) continue;
        this.subscribers.delete(key);
        const [gateway, uri] = key.split('\u0000') as [string, string];
        this.lastGone?.(gateway, uri);
      }
      for (const [gateway, set] of this.logListeners) if (set.delete(session) && set.size === 0) this.logListeners.delete(gateway);
    });
  }
}
