import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { CallObserver } from '../mcp/dispatcher.js';

/** Prometheus metrics: tool calls, errors and latency per tool and gateway, upstream reachability. */
export class Metrics implements CallObserver {
  readonly registry = new PromRegistry();
  private readonly calls: Counter<'tool' | 'gateway' | 'outcome'>;
  private readonly errors: Counter<'tool' | 'gateway'>;
  private readonly latency: Histogram<'tool' | 'gateway'>;
  readonly reachable: Gauge<'gateway'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'mcpgateway_' });
    this.calls = new Counter({
      name: 'mcpgateway_tool_calls_total',
      help: 'tools/call requests by tool, owning gateway ("" for REST tools) and outcome (ok, tool_error, error)',
      labelNames: ['tool', 'gateway', 'outcome'],
      registers: [this.registry],
    });
    this.errors = new Counter({
      name: 'mcpgateway_tool_call_errors_total',
      help: 'tools/call requests that failed (tool errors and transport errors)',
      labelNames: ['tool', 'gateway'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'mcpgateway_tool_call_duration_seconds',
      help: 'tools/call latency as the gateway saw it',
      labelNames: ['tool', 'gateway'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    this.reachable = new Gauge({
      name: 'mcpgateway_gateway_reachable',
      help: '1 when the upstream gateway answered its last health check, 0 when not',
      labelNames: ['gateway'],
      registers: [this.registry],
    });
  }

  toolCall(tool: string, gateway: string, outcome: 'ok' | 'tool_error' | 'error', seconds: number): void {
    this.calls.inc({ tool, gateway, outcome });
    if (outcome !== 'ok') this.errors.inc({ tool, gateway });
    this.latency.observe({ tool, gateway }, seconds);
  }

  // issue 9 (relay isolation): per-client upstream sessions
  private readonly sessions = new Gauge({
    name: 'mcpgateway_upstream_sessions',
    help: 'upstream sessions open for client sessions, by gateway (a shared connection is not counted)',
    labelNames: ['gateway'],
    registers: [this.registry],
  });
  private readonly sessionEvents = new Counter({
    name: 'mcpgateway_upstream_session_events_total',
    help: 'per-client upstream sessions opened, closed idle (or to make room), and refused because UPSTREAM_SESSION_MAX were busy',
    labelNames: ['gateway', 'event'],
    registers: [this.registry],
  });

  upstreamSessions(gateway: string, open: number): void {
    this.sessions.set({ gateway }, open);
  }

  upstreamSessionEvent(gateway: string, event: string): void {
    this.sessionEvents.inc({ gateway, event });
  }

  gatewayHealth(gateway: string, reachable: boolean | undefined): void {
    if (reachable === undefined) this.reachable.remove({ gateway });
    else this.reachable.set({ gateway }, reachable ? 1 : 0);
  }
}
