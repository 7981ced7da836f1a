import cliProgress from 'cli-progress';
import { KIND_DEFS, type Kind } from '../domain/entities.js';
import type { ReplayItem } from '../services/transfer/import-replay.js';

/** Import progress: a bar on a terminal, plain lines otherwise (CI logs, pipes). */
export interface Progress {
  plan(writes: Record<Kind, number>): void;
  object(item: ReplayItem): void;
  kindDone(kind: Kind, items: ReplayItem[]): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? barProgress(stream) : lineProgress(stream);
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    { stream, format: 'importing [{bar}] {value}/{total} {kind}', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    plan(writes) {
      const total = Object.values(writes).reduce((a, b) => a + b, 0);
      bar.start(total, 0, { kind: '' });
      started = true;
    },
    object(item) {
      bar.increment(1, { kind: item.kind });
    },
    kindDone() {},
    stop() {
      if (started) bar.stop();
    },
  };
}

function lineProgress(stream: NodeJS.WriteStream): Progress {
  return {
    plan() {},
    object(item) {
      if (item.outcome === 'failed') stream.write(`failed: ${KIND_DEFS[item.kind].singular} "${item.key}": ${item.error}\n`);
    },
    kindDone(kind, items) {
      const counts = new Map<string, number>();
      for (const item of items) counts.set(item.outcome, (counts.get(item.outcome) ?? 0) + 1);
      const parts = [...counts].map(([outcome, n]) => `${n} ${outcome}`);
      stream.write(`${kind}: ${items.length === 0 ? 'none in the file' : parts.join(', ')}\n`);
    },
    stop() {},
  };
}
