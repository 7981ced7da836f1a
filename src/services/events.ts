import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { createClient } from 'redis';
import { KIND_DEFS } from '../domain/entities.js';

/**
 * Cross-instance change events (REDIS_URL). Instances sharing one database tell each other what
 * changed over a Redis pub/sub channel, so each can invalidate its in-memory catalog. The database
 * stays the source of truth: Redis being down never stops the gateway, and after the subscription
 * is (re)established following a loss, the instance reloads everything once (it may have missed
 * messages meanwhile).
 */

/** What travels on the channel besides the sender: never secrets, only kinds, ops, ids and names. */
export type BusEvent =
  | { source: 'registry'; kind: string; op: 'create' | 'update' | 'delete'; id: string; name: string }
  | { source: 'federation'; kind: 'tools' | 'prompts' | 'resources' }
  /** A stored token was revoked: drop its cached verdict (issue 11). */
  | { source: 'tokens'; op: 'revoke'; id: string }
  /** A client ended its session (DELETE) on the sender: end the copy held here. */
  | { source: 'sessions'; op: 'end'; id: string }
  /** The sender may have lost messages it published: everyone reloads. */
  | { source: 'resync' };

export type EventsState = 'local' | 'redis' | 'redis-disconnected';

export interface EventHandlers {
  /** An event from another instance. */
  remote(event: BusEvent): void;
  /** Messages may have been missed: reload everything from the database. */
  resync(): void;
}

export interface ClusterEvents {
  state(): EventsState;
  publish(event: BusEvent): void;
  close(): Promise<void>;
}

/** Without REDIS_URL: changes stay in this process. */
export class LocalEvents implements ClusterEvents {
  state(): EventsState {
    return 'local';
  }
  publish(): void {}
  async close(): Promise<void> {}
}

const OPS = new Set(['create', 'update', 'delete']);
const FEDERATED_KINDS = new Set(['tools', 'prompts', 'resources']);

/** A message from the channel, or undefined when it is not one this gateway understands. */
export function parseMessage(raw: string): { from: string; event: BusEvent } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const m = value as Record<string, unknown>;
  if (m.v !== 1 || typeof m.from !== 'string' || m.from.length === 0 || m.from.length > 100) return undefined;
  const from = m.from;
  if (m.source === 'resync') return { from, event: { source: 'resync' } };
  if (m.source === 'tokens') {
    if (m.op !== 'revoke' || typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 100) return undefined;
    return { from, event: { source: 'tokens', op: 'revoke', id: m.id } };
  }
  if (m.source === 'sessions') {
    if (m.op !== 'end' || typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 200) return undefined;
    return { from, event: { source: 'sessions', op: 'end', id: m.id } };
  }
  if (m.source === 'federation') {
    if (typeof m.kind !== 'string' || !FEDERATED_KINDS.has(m.kind)) return undefined;
    return { from, event: { source: 'federation', kind: m.kind as 'tools' | 'prompts' | 'resources' } };
  }
  if (m.source === 'registry') {
    if (typeof m.kind !== 'string' || !Object.hasOwn(KIND_DEFS, m.kind)) return undefined;
    if (typeof m.op !== 'string' || !OPS.has(m.op)) return undefined;
    if (typeof m.id !== 'string' || m.id.length > 500 || typeof m.name !== 'string' || m.name.length > 2000) return undefined;
    return { from, event: { source: 'registry', kind: m.kind, op: m.op as 'create' | 'update' | 'delete', id: m.id, name: m.name } };
  }
  return undefined;
}

/** Retry quickly at first, then at most every 30 s, with jitter so instances do not reconnect in step. */
function backoff(retries: number): number {
  return Math.min(200 * 2 ** Math.min(retries, 10), 30_000) + Math.floor(Math.random() * 200);
}

type Client = ReturnType<typeof createClient>;

/** Events over Redis pub/sub: one client publishes, one subscribes; both reconnect in the background. */
export class RedisEvents implements ClusterEvents {
  /** Random per process: an instance ignores what it published itself. */
  readonly instanceId = randomUUID();
  private readonly publisher: Client;
  private readonly subscriber: Client;
  private closed = false;
  private warned = false;
  private subscribed = false;
  /** The subscription was lost (or never made at start): reload once it is back. */
  private subscriberLost = false;
  /** A publish was lost: tell the others to reload once the publisher is back. */
  private publishLost = false;
  private publisherLost = false;

  constructor(
    url: string,
    readonly channel: string,
    private readonly logger: Logger,
    private readonly handlers: EventHandlers,
    /** The redis package's createClient, loaded by the caller only when REDIS_URL is set. */
    connect: typeof createClient,
  ) {
    const socket = { reconnectStrategy: backoff, connectTimeout: 5000 };
    this.publisher = connect({ url, socket, disableOfflineQueue: true });
    this.subscriber = connect({ url, socket });
    this.watch(this.publisher, 'publisher');
    this.watch(this.subscriber, 'subscriber');
  }

  /** Connect in the background; never throws, never waits for Redis. */
  start(): void {
    void this.publisher.connect().catch(() => undefined);
    void this.subscriber
      .connect()
      .then(() => this.subscriber.subscribe(this.channel, (message) => this.receive(message)))
      .then(() => {
        this.subscribed = true;
        this.logger.info({ channel: this.channel }, 'cross-instance events: subscribed to redis');
        if (this.subscriberLost) this.recover();
      })
      .catch((error: unknown) => {
        if (!this.closed) this.logger.warn({ err: (error as Error).message }, 'cross-instance events: cannot subscribe');
      });
  }

  state(): EventsState {
    return this.subscribed && this.subscriber.isReady && this.publisher.isReady ? 'redis' : 'redis-disconnected';
  }

  publish(event: BusEvent): void {
    if (this.closed) return;
    if (!this.publisher.isReady) {
      this.publishLost = true;
      return;
    }
    const message = JSON.stringify({ v: 1, from: this.instanceId, ...event });
    this.publisher.publish(this.channel, message).catch((error: unknown) => {
      this.publishLost = true;
      this.logger.debug({ err: (error as Error).message }, 'cross-instance events: publish failed');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const client of [this.subscriber, this.publisher]) {
      try {
        client.destroy();
      } catch {
        // never connected
      }
    }
  }

  private watch(client: Client, role: 'publisher' | 'subscriber'): void {
    client.on('error', (error: Error) => {
      if (this.closed) return;
      if (role === 'subscriber') this.subscriberLost = true;
      else this.publisherLost = true;
      // One warning per outage; the retries that follow are debug lines. The URL is never logged.
      if (!this.warned) {
        this.warned = true;
        this.logger.warn({ err: error.message }, 'cross-instance events: redis is not reachable; serving from the database, retrying in the background');
      } else {
        this.logger.debug({ role, err: error.message }, 'cross-instance events: redis error');
      }
    });
    client.on('ready', () => {
      if (this.closed) return;
      if (this.warned && this.publisher.isReady && this.subscriber.isReady) {
        this.warned = false;
        this.logger.info('cross-instance events: redis reachable again');
      }
      if (role === 'subscriber' && this.subscribed && this.subscriberLost) this.recover();
      if (role === 'publisher' && this.publisherLost) {
        this.publisherLost = false;
        if (this.publishLost) {
          this.publishLost = false;
          this.publish({ source: 'resync' });
        }
      }
    });
  }

  /** The subscription is back after a loss: events may have been missed, so reload once. */
  private recover(): void {
    this.subscriberLost = false;
    this.logger.info('cross-instance events: reloading from the database after a redis outage');
    this.handlers.resync();
  }

  private receive(message: string): void {
    if (this.closed) return;
    const parsed = parseMessage(message);
    if (!parsed) {
      this.logger.debug({ bytes: message.length }, 'cross-instance events: ignored a malformed message');
      return;
    }
    if (parsed.from === this.instanceId) return;
    try {
      this.handlers.remote(parsed.event);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'cross-instance events: cannot apply an event');
    }
  }
}
