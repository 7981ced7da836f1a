import { listenModern, type ListenFilter, type ModernServer, type ModernTarget } from './modern-http.js';

/** What a listener hears, and how it reaches the upstream (the current target, with a fresh token). */
export interface ListenerDeps {
  target: () => Promise<ModernTarget | undefined>;
  meta: () => Record<string, unknown>;
  listChanged: (kind: 'tools' | 'prompts' | 'resources') => void;
  notification: (method: string, params: unknown) => void;
}

const LIST_FLAGS = [
  ['tools', 'toolsListChanged'],
  ['prompts', 'promptsListChanged'],
  ['resources', 'resourcesListChanged'],
] as const;
const MAX_BACKOFF_MS = 30_000;
const REOPEN_DELAY_MS = 50;

/**
 * A 2026-07-28-only upstream has no session to notify on: the gateway keeps one
 * `subscriptions/listen` stream open to it, for the list changes it declares (`listChanged`) and
 * the resources clients subscribed to (`resourceSubscriptions`, when it declares
 * `resources.subscribe`). A listen filter is fixed for the stream's life, so a change of the
 * watched resources reopens it (changes within 50 ms together); a stream that ends or fails is reopened after 1 s,
 * doubling to 30 s (at once again after one that lasted 30 s). Nothing runs while there is nothing
 * to listen for.
 */
export class ModernListener {
  private readonly lists: ListenFilter = {};
  private readonly watched = new Set<string>();
  private readonly stop = new AbortController();
  private attempt: AbortController | undefined;
  private running = false;
  private reopen = false;

  constructor(
    private readonly server: ModernServer,
    private readonly deps: ListenerDeps,
  ) {
    for (const [kind, flag] of LIST_FLAGS) {
      if ((server.capabilities[kind] as { listChanged?: unknown } | undefined)?.listChanged === true) this.lists[flag] = true;
    }
    this.ensure();
  }

  /** Whether the upstream sends resource updates (it declared resources.subscribe). */
  get subscribable(): boolean {
    return (this.server.capabilities.resources as { subscribe?: unknown } | undefined)?.subscribe === true;
  }

  /** Watch (or stop watching) a resource's updates; false when the upstream sends none. */
  watch(uri: string, on: boolean): boolean {
    if (!this.subscribable) return false;
    const changed = on ? !this.watched.has(uri) : this.watched.has(uri);
    if (on) this.watched.add(uri);
    else this.watched.delete(uri);
    if (changed) this.ensure(true);
    return true;
  }

  close(): void {
    this.stop.abort();
  }

  private filter(): ListenFilter | undefined {
    const filter: ListenFilter = { ...this.lists };
    if (this.watched.size > 0) filter.resourceSubscriptions = [...this.watched];
    return Object.keys(filter).length > 0 ? filter : undefined;
  }

  /** Start the loop, or (`reopen`) have the running one reopen its stream with the new filter. */
  private ensure(reopen = false): void {
    if (this.stop.signal.aborted) return;
    if (this.running) {
      // Changes within REOPEN_DELAY_MS share one reopen (a client subscribing to many resources one by one).
      if (reopen && !this.reopen) {
        this.reopen = true;
        setTimeout(() => this.attempt?.abort(), REOPEN_DELAY_MS).unref();
      }
      return;
    }
    if (!this.filter()) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
    });
  }

  private async loop(): Promise<void> {
    const heard = (method: string, params: unknown) => {
      const kind = /^notifications\/(tools|prompts|resources)\/list_changed$/.exec(method)?.[1] as 'tools' | 'prompts' | 'resources' | undefined;
      if (kind) this.deps.listChanged(kind);
      else this.deps.notification(method, params);
    };
    for (let failures = 0; !this.stop.signal.aborted; ) {
      const filter = this.filter();
      if (!filter) return;
      const attempt = new AbortController();
      this.attempt = attempt;
      const started = Date.now();
      try {
        const target = await this.deps.target();
        if (!target) return;
        await listenModern(target, this.deps.meta(), filter, heard, AbortSignal.any([this.stop.signal, attempt.signal]));
      } catch {
        // reopened below
      }
      if (this.stop.signal.aborted) return;
      if (this.reopen) {
        this.reopen = false;
        failures = 0;
        continue;
      }
      failures = Date.now() - started > MAX_BACKOFF_MS ? 0 : failures + 1;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS)).unref());
    }
  }
}
