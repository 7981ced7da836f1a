import type { OutboundPolicy } from '../../upstream/outbound-policy.js';

/** Where federation reports gateway health and per-client upstream sessions (the metrics). */
export interface FederationObserver {
  /** A gateway's reachability once known; undefined when the gateway is gone. */
  gatewayHealth(gateway: string, reachable: boolean | undefined): void;
  /** How many per-client upstream sessions a gateway has open. */
  upstreamSessions(gateway: string, open: number): void;
  /** A per-client upstream session was opened, closed when idle, or refused. */
  upstreamSessionEvent(gateway: string, event: string): void;
}

export interface FederationOptions {
  /** Largest upstream reply (MAX_RESPONSE_BYTES); unset: unbounded. */
  maxResponseBytes?: number;
  /** UPSTREAM_ALLOW / UPSTREAM_DENY for every connection to an HTTP gateway. */
  policy?: OutboundPolicy;
  nameSeparator: string;
  healthIntervalMs: number;
  connectTimeoutMs: number;
  /** Longest wait between reconnect attempts. */
  maxBackoffMs: number;
  /** Upstream sessions per client session (STDIO_UPSTREAM_SESSIONS, UPSTREAM_SESSION_MAX, UPSTREAM_SESSION_IDLE_MS). */
  sessions?: { stdio: 'shared' | 'per-client'; max: number; idleMs: number };
  /** The gateway's secret: the key of the request states it mints for input rounds is derived from it. */
  secret?: string;
  /** Told about health and upstream sessions; unset: nobody is. */
  observer?: FederationObserver;
}
