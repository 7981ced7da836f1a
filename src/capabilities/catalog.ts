import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { capabilityToTool } from './convert.js';
import { formatProblems, readCapabilityFile } from './file.js';

/**
 * The capability files of `CAPABILITY_DIRS`, loaded at start and kept current by a file watcher.
 * A bad file is reported and skipped; it never takes the others down. Tools from files are
 * read-only: they are edited in their file, not through the Admin API.
 */

/** A change to the tools from files, for the registry's listeners. */
export interface CatalogChange {
  op: 'create' | 'update' | 'delete';
  id: string;
  name: string;
}

interface Entry {
  file: string;
  /** The tool as GET /tools shows it. */
  tool: Record<string, unknown>;
}

const FILE_PATTERN = /\.(ya?ml)$/i;
const MAX_DEPTH = 8;
/** Files read between two turns of the event loop during the first load. */
const SLICE = 64;

export class CapabilityCatalog {
  /** Every loaded file (valid ones), by absolute path. */
  private readonly files = new Map<string, Entry>();
  /** The file that owns each name (lower case): the first in path order when two files clash. */
  private byName = new Map<string, Entry>();
  private readonly listeners = new Set<(change: CatalogChange) => void>();
  private watcher: FSWatcher | undefined;
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly loadedListeners = new Set<() => void>();
  private loading = { state: 'loading' as 'loading' | 'loaded', loaded: 0, total: 0 };
  private closed = false;

  constructor(
    readonly dirs: string[],
    private readonly logger: Logger,
    private readonly options: { watch?: boolean; debounceMs?: number } = {},
  ) {}

  /**
   * Load every file, then watch the folders for changes. Files are read in slices with a turn of
   * the event loop between them, so a gateway already listening answers meanwhile: `/ready` says
   * how far loading is (progress()), and the log says it every second. Changes seen while loading
   * are applied once it is done.
   */
  async start(): Promise<void> {
    const files: string[] = [];
    for (const dir of this.dirs) {
      const root = resolve(dir);
      let isDir = false;
      try {
        isDir = statSync(root).isDirectory();
      } catch {
        this.logger.info({ dir: root }, 'capability folder does not exist (yet); it is watched');
      }
      if (isDir) files.push(...listFiles(root));
    }
    this.loading = { state: 'loading', loaded: 0, total: files.length };
    const watching = this.options.watch !== false ? this.startWatching() : Promise.resolve();
    let logged = Date.now();
    for (let i = 0; i < files.length && !this.closed; i++) {
      this.load(files[i]!);
      this.loading.loaded = i + 1;
      if (i % SLICE === SLICE - 1) {
        await new Promise((next) => setImmediate(next));
        if (Date.now() - logged >= 1000) {
          logged = Date.now();
          this.logger.info({ loaded: this.loading.loaded, total: files.length }, 'capability files loading');
        }
      }
    }
    if (this.closed) return;
    this.reindex(false);
    // Ready once the watcher is too: a change made after /ready says 200 is never missed.
    await watching;
    this.loading.state = 'loaded';
    this.logger.info({ tools: this.byName.size, files: files.length, dirs: this.dirs }, 'capability files loaded');
    for (const listener of this.loadedListeners) listener();
    if (this.pending.size > 0) this.flush();
  }

  /** How far the first load is: `loading` with files read so far, then `loaded`. */
  progress(): { state: 'loading' | 'loaded'; loaded: number; total: number } {
    return { ...this.loading };
  }

  /** Called once, when the first load is done (the tools appear all at once). */
  onLoaded(listener: () => void): void {
    this.loadedListeners.add(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.close();
    this.watcher = undefined;
  }

  onChange(listener: (change: CatalogChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tools from files in name order (code points), as GET /tools shows them. */
  list(): Record<string, unknown>[] {
    return [...this.byName.values()].map((e) => e.tool).sort((a, b) => compare(String(a.name), String(b.name)));
  }

  /** One tool by id or name. */
  get(idOrName: string): Record<string, unknown> | undefined {
    const byName = this.byName.get(idOrName.toLowerCase());
    if (byName && byName.tool.name === idOrName) return byName.tool;
    for (const entry of this.byName.values()) if (entry.tool.id === idOrName) return entry.tool;
    return undefined;
  }

  /** Served tools only: enabled files. */
  enabled(): Record<string, unknown>[] {
    return this.list().filter((tool) => tool.is_active === true);
  }

  private async startWatching(): Promise<void> {
    const roots = this.dirs.map((d) => resolve(d));
    this.watcher = watch(roots, {
      ignoreInitial: true,
      depth: MAX_DEPTH,
      ignored: (path, stats) => /(^|[/\\])\../.test(path.slice(1)) || /\.tmp-\d+$/.test(path) || (stats?.isFile() === true && !FILE_PATTERN.test(path)),
      awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
    });
    const queue = (path: string) => {
      if (!FILE_PATTERN.test(path)) return;
      this.pending.add(path);
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), this.options.debounceMs ?? 100);
    };
    this.watcher.on('add', queue).on('change', queue).on('unlink', queue);
    this.watcher.on('unlinkDir', (dir: string) => {
      for (const file of this.files.keys()) if (file.startsWith(`${dir}/`)) queue(file);
    });
    this.watcher.on('error', (error: unknown) => this.logger.warn({ err: error }, 'capability folder watcher error'));
    await new Promise<void>((ready) => this.watcher!.once('ready', () => ready()));
  }

  /** Reload the files that changed, then tell listeners what changed. */
  private flush(): void {
    // Changes that arrive during the first load wait for it (start() flushes them).
    if (this.loading.state === 'loading') return;
    const files = [...this.pending];
    this.pending.clear();
    for (const file of files) {
      this.files.delete(file);
      let exists = false;
      try {
        exists = statSync(file).isFile();
      } catch {
        // removed
      }
      if (exists) this.load(file);
      else this.logger.info({ file }, 'capability file removed');
    }
    this.reindex(true);
  }

  /** Read one file; a bad one is logged with each problem and skipped. */
  private load(file: string): void {
    const result = readCapabilityFile(file);
    if (!result.ok) {
      this.logger.warn({ file, problems: formatProblems(result.problems) }, `capability file skipped: ${formatProblems(result.problems)[0]}`);
      return;
    }
    const tool = capabilityToTool(result.capability);
    let mtime = new Date(0).toISOString();
    try {
      mtime = statSync(file).mtime.toISOString();
    } catch {
      // keep the epoch
    }
    const id = `cap${createHash('sha256').update(file).digest('hex').slice(0, 29)}`;
    this.files.set(file, {
      file,
      tool: { id, ...tool, gateway: null, original_name: null, source_file: file, created_at: mtime, updated_at: mtime },
    });
  }

  /** Rebuild the name index; report clashes, and (after start) the changes. */
  private reindex(emit: boolean): void {
    const before = this.byName;
    const after = new Map<string, Entry>();
    for (const entry of [...this.files.values()].sort((a, b) => compare(a.file, b.file))) {
      const key = String(entry.tool.name).toLowerCase();
      const owner = after.get(key);
      if (owner) {
        this.logger.warn({ file: entry.file, name: entry.tool.name, owner: owner.file }, `capability file skipped: the name "${String(entry.tool.name)}" is already used by ${owner.file}`);
        continue;
      }
      after.set(key, entry);
    }
    this.byName = after;
    if (!emit) return;
    for (const [key, entry] of after) {
      const old = before.get(key);
      if (!old) this.emit({ op: 'create', id: String(entry.tool.id), name: String(entry.tool.name) });
      else if (old !== entry) this.emit({ op: 'update', id: String(entry.tool.id), name: String(entry.tool.name) });
    }
    for (const [key, entry] of before) if (!after.has(key)) this.emit({ op: 'delete', id: String(entry.tool.id), name: String(entry.tool.name) });
  }

  private emit(change: CatalogChange): void {
    this.logger.info({ ...change }, 'capability tool changed');
    for (const listener of this.listeners) listener(change);
  }
}

/** Capability files under a folder, in path order, skipping dot-folders. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > MAX_DEPTH) return;
    let names: string[];
    try {
      names = readdirSync(dir).sort(compare);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(dir, name);
      let stat;
      try {
        stat = statSync(path);
      } catch {
        continue;
      }
      if (stat.isDirectory()) walk(path, depth + 1);
      else if (stat.isFile() && FILE_PATTERN.test(name)) out.push(path);
    }
  };
  walk(root, 0);
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
