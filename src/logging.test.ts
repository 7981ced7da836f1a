import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, LazyChildLogger } from './logging.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('LazyChildLogger', () => {
  it('writes nothing below its level and builds no child for it', () => {
    const { lines, logger } = capture();
    const child = new LazyChildLogger(logger, { reqId: 'r1' }, { level: 'warn' });
    child.info('quiet');
    child.debug('quieter');
    expect(lines).toEqual([]);
    expect(child.isLevelEnabled('info')).toBe(false);
    expect(child.isLevelEnabled('error')).toBe(true);
    expect(child.level).toBe('warn');
  });

  it('logs at enabled levels with its bindings, redacting credentials like the parent', () => {
    const { lines, logger } = capture();
    const child = new LazyChildLogger(logger, { reqId: 'r2' }, { level: 'warn' });
    child.error({ req: { headers: { authorization: 'Bearer secret-token' } } }, 'failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reqId: 'r2', msg: 'failed', level: 50 });
    expect(JSON.stringify(lines[0])).not.toContain('secret-token');
  });

  it('follows the parent level when the route sets none', () => {
    const { lines, logger } = capture();
    const child = new LazyChildLogger(logger, { reqId: 'r3' }, {});
    child.info('shown');
    child.debug('hidden');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
  });
});
